/**
 * SMTP_CHECK, UDP_CHECK and DNS_CHECK probes (shell), natively: no fork, one deadline on the
 * injected clock per exchange (connect_timeout), never rejecting.
 *
 * - SMTP: the 220 greeting, `HELO name` answered 250, then QUIT; every `host` must pass.
 * - UDP: the payload (default 16 random bytes) to the server; without require_reply a missing
 *   ICMP error is success (a connected socket reports port unreachable), with it a reply within
 *   the timeout (length within min/max_reply_length, matching the pattern as keepalived does).
 * - DNS: one query (type, name; recursion desired) over UDP; success is an answer with
 *   RCODE NOERROR and at least one answer record, with our query id.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes, randomInt } from 'node:crypto';
import type { DnsCheckConfig, SmtpCheckConfig, UdpCheckConfig } from '../config/lvs-model.js';
import { msToUs, type Clock } from '../util/clock.js';
import type { LbProbe, LbProbeResult, Target } from './probes.js';
import { settleOnce } from './probes.js';

function smtpOne(
  host: string,
  port: number,
  helo: string,
  bindTo: string | undefined,
  ms: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<LbProbeResult> {
  const sock = net.connect({ host, port, ...(bindTo ? { localAddress: bindTo } : {}) });
  const o = settleOnce(clock, msToUs(ms), signal, () => sock.destroy());
  let buf = '';
  let stage: 'greeting' | 'helo' = 'greeting';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    // A reply is complete at a line "NNN text" (no dash after the code).
    const m = /(?:^|\r?\n)(\d{3}) [^\n]*\r?\n$/.exec(buf);
    if (!m) {
      if (buf.length > 16_384) o.finish({ ok: false, detail: 'SMTP reply too long' });
      return;
    }
    const code = m[1]!;
    buf = '';
    if (stage === 'greeting') {
      if (code !== '220') {
        o.finish({ ok: false, detail: `SMTP greeting ${code}` });
        return;
      }
      stage = 'helo';
      sock.write(`HELO ${helo}\r\n`);
    } else {
      if (code !== '250') {
        o.finish({ ok: false, detail: `SMTP HELO answered ${code}` });
        return;
      }
      sock.end('QUIT\r\n');
      o.finish({ ok: true, detail: `SMTP ${host}:${port} 220/250` });
    }
  });
  sock.on('error', (e: NodeJS.ErrnoException) => o.finish({ ok: false, detail: e.code ?? e.message }));
  sock.on('end', () => o.finish({ ok: false, detail: 'SMTP connection closed early' }));
  return o.done;
}

export function smtpProbe(ch: SmtpCheckConfig, t: Target, clock: Clock): LbProbe {
  const hosts = ch.hosts.length ? ch.hosts : [{}];
  return async (signal) => {
    let last: LbProbeResult = { ok: false, detail: '' };
    for (const h of hosts) {
      last = await smtpOne(
        h.connectIp ?? ch.connectIp ?? t.address,
        h.connectPort ?? ch.connectPort ?? t.port,
        ch.heloName,
        h.bindTo ?? ch.bindTo,
        ch.connectTimeoutMs,
        clock,
        signal,
      );
      if (!last.ok) return last;
    }
    return last;
  };
}

function datagram(
  host: string,
  port: number,
  payload: Buffer,
  ms: number,
  clock: Clock,
  signal: AbortSignal,
  bindTo: string | undefined,
  onReply: (m: Buffer) => LbProbeResult | undefined,
  onQuiet: () => LbProbeResult,
): Promise<LbProbeResult> {
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const o = settleOnce(
    clock,
    msToUs(ms),
    signal,
    () => {
      try {
        sock.close();
      } catch {
        /* closed */
      }
    },
    onQuiet,
  );
  sock.on('error', (e: NodeJS.ErrnoException) =>
    o.finish({ ok: false, detail: e.code === 'ECONNREFUSED' ? 'port unreachable' : (e.code ?? e.message) }),
  );
  sock.on('message', (m) => {
    const r = onReply(m);
    if (r) o.finish(r);
  });
  sock.bind({ port: 0, ...(bindTo ? { address: bindTo } : {}) }, () => {
    sock.connect(port, host, () =>
      sock.send(payload, (e) => {
        if (e) o.finish({ ok: false, detail: e.message });
      }),
    );
  });
  return o.done;
}

/** keepalived's reply match: up to the shorter of pattern and reply, "x" nibbles match anything. */
export function hexMatches(pattern: string, reply: Buffer): boolean {
  const got = reply.toString('hex');
  const n = Math.min(pattern.length, got.length);
  for (let i = 0; i < n; i++) if (pattern[i] !== 'x' && pattern[i] !== got[i]) return false;
  return true;
}

export function udpProbe(ch: UdpCheckConfig, t: Target, clock: Clock): LbProbe {
  const host = ch.connectIp ?? t.address;
  const port = ch.connectPort ?? t.port;
  const want = typeof ch.requireReply === 'string' ? ch.requireReply : undefined;
  return (signal) =>
    datagram(
      host,
      port,
      ch.payload !== undefined ? Buffer.from(ch.payload, 'hex') : randomBytes(16),
      ch.connectTimeoutMs,
      clock,
      signal,
      ch.bindTo,
      (m) => {
        if (!ch.requireReply) return undefined;
        if (ch.minReplyLength !== undefined && m.length < ch.minReplyLength)
          return { ok: false, detail: `reply of ${m.length} bytes, below ${ch.minReplyLength}` };
        if (m.length > ch.maxReplyLength)
          return { ok: false, detail: `reply of ${m.length} bytes, above ${ch.maxReplyLength}` };
        if (want && !hexMatches(want, m)) return { ok: false, detail: 'reply does not match' };
        return { ok: true, detail: `UDP reply of ${m.length} bytes` };
      },
      () =>
        ch.requireReply
          ? { ok: false, detail: `no reply within ${ch.connectTimeoutMs} ms` }
          : { ok: true, detail: 'no ICMP error' },
    );
}

const QTYPE: Record<DnsCheckConfig['type'], number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 };

export function dnsQuery(id: number, name: string, type: DnsCheckConfig['type']): Buffer {
  const labels = name.split('.').filter(Boolean);
  const q = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])),
    Buffer.from([0]),
  ]);
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(QTYPE[type], 0);
  tail.writeUInt16BE(1, 2); // IN
  return Buffer.concat([h, q, tail]);
}

export function dnsProbe(ch: DnsCheckConfig, t: Target, clock: Clock): LbProbe {
  return (signal) => {
    const id = randomInt(0, 0x10000);
    return datagram(
      ch.connectIp ?? t.address,
      ch.connectPort ?? t.port,
      dnsQuery(id, ch.name, ch.type),
      ch.connectTimeoutMs,
      clock,
      signal,
      ch.bindTo,
      (m) => {
        if (m.length < 12 || m.readUInt16BE(0) !== id) return undefined;
        const rcode = m.readUInt16BE(2) & 0xf;
        const an = m.readUInt16BE(6);
        if (rcode !== 0) return { ok: false, detail: `DNS RCODE ${rcode}` };
        return an > 0
          ? { ok: true, detail: `DNS ${ch.type} ${ch.name}: ${an} answer(s)` }
          : { ok: false, detail: `DNS ${ch.type} ${ch.name}: no answer` };
      },
      () => ({ ok: false, detail: `no DNS reply within ${ch.connectTimeoutMs} ms` }),
    );
  };
}
