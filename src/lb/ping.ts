/**
 * PING_CHECK (shell): ICMP echo over one raw socket per family, opened on first use and shared
 * by every ping check (replies told apart by identifier and sequence), through the native
 * addon (no fork, no `ping`). A reply from the real server within connect_timeout is success.
 */
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { PingCheckConfig } from '../config/lvs-model.js';
import { native, nativeAvailable, type RawHandle } from '../native/addon.js';
import { msToUs, type Clock } from '../util/clock.js';
import type { LbProbe, LbProbeResult, Target } from './probes.js';
import { settleOnce } from './probes.js';

/** The Internet checksum (RFC 1071). */
export function inetChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An echo request; the kernel always fills ICMPv6's checksum. */
export function echoRequest(v6: boolean, id: number, seq: number): Buffer {
  const b = Buffer.alloc(16);
  b[0] = v6 ? 128 : 8;
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  b.write('floatd-lb', 8, 'ascii');
  if (!v6) b.writeUInt16BE(inetChecksum(b), 2);
  return b;
}

const waiting = new Map<string, (from: string) => void>();
const sockets = new Map<4 | 6, RawHandle>();

function socket(family: 4 | 6): RawHandle {
  let h = sockets.get(family);
  if (h) return h;
  h = native().rawOpen(
    family,
    family === 4 ? 1 : 58,
    family === 4 ? { hdrincl: 0 } : { checksumOffset: -1 },
    (err, data, src) => {
      if (err || !data || !src) return;
      // IPv4 raw sockets deliver the IP header; IPv6 ones do not.
      const icmp = family === 4 ? data.subarray((data[0]! & 0x0f) * 4) : data;
      if (icmp.length < 8 || icmp[0] !== (family === 4 ? 0 : 129)) return;
      const key = `${icmp.readUInt16BE(4)}/${icmp.readUInt16BE(6)}`;
      waiting.get(key)?.(src);
    },
  );
  native().rawSetRef(h, false);
  sockets.set(family, h);
  return h;
}

export function pingProbe(ch: PingCheckConfig, t: Target, clock: Clock): LbProbe {
  const to = ch.connectIp ?? t.address;
  const family = isIPv6(to) ? 6 : 4;
  return (signal) => {
    if (!nativeAvailable())
      return Promise.resolve({ ok: false, detail: 'PING_CHECK needs the native addon (scripts/build.sh)' });
    const id = randomInt(0, 0x10000);
    const seq = randomInt(0, 0x10000);
    const key = `${id}/${seq}`;
    const o = settleOnce(
      clock,
      msToUs(ch.connectTimeoutMs),
      signal,
      () => waiting.delete(key),
      () => ({ ok: false, detail: `no echo reply within ${ch.connectTimeoutMs} ms` }),
    );
    waiting.set(key, (from) => {
      if (from === to) o.finish({ ok: true, detail: `echo reply from ${from}` });
    });
    try {
      native().rawSend(socket(family), echoRequest(family === 6, id, seq), to, ch.bindTo);
    } catch (e) {
      o.finish({ ok: false, detail: `ping: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
    }
    return o.done as Promise<LbProbeResult>;
  };
}
