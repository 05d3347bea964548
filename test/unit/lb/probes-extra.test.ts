import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseConfigText } from '../../../src/config/index.js';
import type { LvsCheckConfig } from '../../../src/config/lvs-model.js';
import { probeFor, type ProbedCheck } from '../../../src/lb/probes.js';
import { realClock } from '../../../src/util/clock.js';

function checkOf(body: string, proto = 'TCP'): LvsCheckConfig {
  const r = parseConfigText(
    `virtual_server 127.0.0.1 53 {
  lvs_sched rr
  protocol ${proto}
  real_server 127.0.0.1 53 {
${body}
  }
}`,
    't.conf',
  );
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  return r.config.virtualServers![0]!.realServers[0]!.checks[0]!;
}
const run = (ch: LvsCheckConfig, port: number) =>
  probeFor(ch as ProbedCheck, { address: '127.0.0.1', port }, realClock)(new AbortController().signal);

async function udpServer(reply: (m: Buffer) => Buffer | undefined): Promise<{ port: number; close(): void }> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => {
    const out = reply(m);
    if (out) s.send(out, r.port, r.address);
  });
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  return { port: (s.address() as AddressInfo).port, close: () => s.close() };
}

test('SMTP_CHECK: 220 greeting and 250 to HELO helo_name pass; a 554 greeting fails', async () => {
  const helos: string[] = [];
  const mk = (greeting: string) =>
    net.createServer((c) => {
      c.write(greeting);
      c.on('data', (d) => {
        const l = d.toString();
        if (l.startsWith('HELO')) {
          helos.push(l.trim());
          c.write('250-first\r\n250 ok\r\n');
        }
      });
    });
  const good = mk('220-multi\r\n220 ready\r\n');
  const bad = mk('554 no\r\n');
  await new Promise<void>((r) => good.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
  try {
    const ch = checkOf('    SMTP_CHECK {\n      helo_name mx.example.test\n      connect_timeout 1\n    }');
    const ok = await run(ch, (good.address() as AddressInfo).port);
    assert.equal(ok.ok, true, ok.detail);
    assert.deepEqual(helos, ['HELO mx.example.test']);
    const no = await run(ch, (bad.address() as AddressInfo).port);
    assert.deepEqual([no.ok, no.detail], [false, 'SMTP greeting 554']);
  } finally {
    good.close();
    bad.close();
  }
});

test('UDP_CHECK: require_reply needs a matching reply; without it a closed port (ICMP unreachable) fails', async () => {
  const echo = await udpServer((m) => Buffer.concat([Buffer.from('ok'), m]));
  try {
    const ch = checkOf(
      '    UDP_CHECK {\n      payload 6869\n      require_reply 6f6b\n      connect_timeout 0.5\n    }',
      'UDP',
    );
    const r = await run(ch, echo.port);
    assert.equal(r.ok, true, r.detail);
    const short = checkOf(
      '    UDP_CHECK {\n      payload 6869\n      require_reply\n      min_reply_length 10\n' +
        '      connect_timeout 0.5\n    }',
      'UDP',
    );
    assert.match((await run(short, echo.port)).detail, /below 10/);
  } finally {
    echo.close();
  }
  const closed = await udpServer(() => undefined);
  const port = closed.port;
  closed.close();
  const ch = checkOf('    UDP_CHECK {\n      payload 00\n      connect_timeout 0.5\n    }', 'UDP');
  const r = await run(ch, port);
  assert.deepEqual([r.ok, r.detail], [false, 'port unreachable']);
});

test('DNS_CHECK: NOERROR with an answer passes; NXDOMAIN or no answer fails; defaults SOA "." retry 3', async () => {
  let rcode = 0;
  let answers = 1;
  const dns = await udpServer((q) => {
    const h = Buffer.from(q.subarray(0, 12));
    h.writeUInt16BE(0x8180 | rcode, 2);
    h.writeUInt16BE(answers, 6);
    return Buffer.concat([h, q.subarray(12)]);
  });
  try {
    const ch = checkOf(
      '    DNS_CHECK {\n      type A\n      name www.example.test\n      connect_timeout 0.5\n    }',
      'UDP',
    );
    assert.equal((await run(ch, dns.port)).ok, true);
    rcode = 3;
    assert.match((await run(ch, dns.port)).detail, /RCODE 3/);
    rcode = 0;
    answers = 0;
    assert.match((await run(ch, dns.port)).detail, /no answer/);
    const d = checkOf('    DNS_CHECK {\n    }', 'UDP');
    assert.ok(d.kind === 'DNS_CHECK');
    assert.deepEqual([d.type, d.name, d.retry, d.delayBeforeRetryMs], ['SOA', '.', 3, 60_000]);
  } finally {
    dns.close();
  }
});

test("UDP_CHECK HEX_STR: keepalived's free format, x nibbles, match up to the shorter length", async () => {
  const { hexStr } = await import('../../../src/config/lvs-check-extra.js');
  const { hexMatches } = await import('../../../src/lb/probes-extra.js');
  assert.equal(hexStr(['Ab12f', '3', '456', '546443123'], false), 'ab120f0345065464431203');
  assert.equal(hexStr(['zz'], false), undefined);
  assert.equal(hexMatches('6fxx21', Buffer.from('okay!')), false);
  assert.equal(hexMatches('6fxx', Buffer.from('ok')), true);
  assert.equal(
    hexMatches('6f6b2121', Buffer.from('ok')),
    true,
    'a reply shorter than the pattern matches up to its length',
  );
  const ch = checkOf('    UDP_CHECK {\n      require_reply\n    }', 'UDP');
  assert.ok(ch.kind === 'UDP_CHECK');
  assert.deepEqual([ch.payload, ch.maxReplyLength], [undefined, 255]);
});

test("PING_CHECK: the ICMP echo request carries a valid checksum (the kernel fills ICMPv6's)", async () => {
  const { echoRequest, inetChecksum } = await import('../../../src/lb/ping.js');
  const b = echoRequest(false, 0x1234, 7);
  assert.deepEqual([b[0], b.readUInt16BE(4), b.readUInt16BE(6)], [8, 0x1234, 7]);
  assert.equal(inetChecksum(b), 0, 'a packet with its checksum sums to zero');
  assert.equal(echoRequest(true, 1, 2)[0], 128);
});
