import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger, formatHumanLine } from '../../../src/util/log.js';

test('human format puts instance, keepalived-style message and event on one line', () => {
  const line = formatHumanLine({
    level: 30,
    time: 0,
    instance: 'VI_1',
    msg: 'Entering MASTER STATE',
    event: 'vrrp.transition',
    reason: 'advert timeout',
  });
  assert.equal(
    line,
    '1970-01-01T00:00:00.000Z INFO  (VI_1) Entering MASTER STATE [vrrp.transition reason="advert timeout"]\n',
  );
});

test('a token passed by mistake is redacted in JSON logs', async () => {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  const log = createLogger({ json: true, stream: out });
  log.info({ event: 'cloud.call', token: 's3cr3t-token' }, 'assign');
  log.flush();
  await new Promise((r) => setImmediate(r));
  const text = chunks.join('');
  assert.ok(text.includes('"event":"cloud.call"'), text);
  assert.ok(!text.includes('s3cr3t-token'), text);
});
