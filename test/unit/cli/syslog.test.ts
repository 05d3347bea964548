import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { formatSyslog, logSink, parseFacility, LOG_DAEMON } from '../../../src/cli/syslog.js';
import { createLogger } from '../../../src/util/log.js';

test("-S: keepalived's 0..7 are local0..local7; names too; anything else is refused", () => {
  assert.equal(parseFacility('0'), 16);
  assert.equal(parseFacility('7'), 23);
  assert.equal(parseFacility('local3'), 19);
  assert.equal(parseFacility('daemon'), LOG_DAEMON);
  assert.equal(parseFacility('8'), undefined);
  assert.equal(parseFacility('kern'), undefined);
});

test("RFC 3164 line: PRI from facility and level, padded day, ident[pid], the JSON log's event and fields", () => {
  const now = new Date(2026, 0, 5, 7, 8, 9);
  const line = formatSyslog(
    {
      level: 30,
      time: 0,
      instance: 'VI_1',
      msg: 'Entering MASTER STATE',
      event: 'vrrp.transition',
      reason: 'advert timeout',
    },
    { facility: 19, ident: 'floatd', pid: 42, now },
  );
  assert.equal(
    line,
    '<158>Jan  5 07:08:09 floatd[42]: (VI_1) Entering MASTER STATE [vrrp.transition reason="advert timeout"]',
  );
  // A newline inside a message is escaped (util/log.ts formatLogBody): one record, one datagram.
  assert.match(
    formatSyslog({ level: 50, msg: 'a\nb' }, { facility: 3, ident: 'floatd', pid: 1, now }),
    /^<27>.*: a\\nb$/,
  );
  assert.match(formatSyslog({ level: 20, msg: 'x' }, { facility: 3, ident: 'floatd', pid: 1, now }), /^<31>/);
});

test('the sink sends each record to syslog and the console; secrets are redacted before either', async () => {
  const sent: string[] = [];
  const con = new PassThrough();
  let out = '';
  con.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const sink = logSink({
    syslog: {
      facility: 16,
      socket: '/x/log',
      send: (p, d) => {
        assert.equal(p, '/x/log');
        sent.push(d.toString());
      },
    },
    console: con,
  });
  const log = createLogger({ json: true, stream: sink });
  log.info({ event: 'api.action', token: 'sekrit-0123456789abcdef' }, 'hello');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(sent.length, 1);
  assert.match(sent[0]!, /^<134>.* floatd\[\d+\]: hello \[api\.action token=\[redacted\]\]$/);
  assert.match(out, /INFO  hello \[api\.action token=\[redacted\]\]\n$/);
});

test('no syslog daemon: lines are dropped, logging goes on', async () => {
  const sink = logSink({
    syslog: {
      facility: 3,
      send: () => {
        throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      },
    },
  });
  const log = createLogger({ json: true, stream: sink });
  log.error({ event: 'x' }, 'still fine');
  await new Promise((r) => setTimeout(r, 20));
});
