/**
 * VRRP advert codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), IPv4 and IPv6, with the IPv4
 * header as keepalived builds it for IP_HDRINCL. Pure; decoding never throws.
 */
import { internetChecksum } from '../util/checksum.js';
import { ipBytes as parseIp, ipString } from '../util/ip.js';
import type { DropReason } from './drop-reasons.js';

export interface Advert {
  version: 2 | 3;
  vrid: number;
  priority: number;
  addresses: string[];
  /** Centiseconds; VRRPv2 carries whole seconds (x100 here). */
  advertIntervalCs: number;
  /** VRRPv2 only: 0 none, 1 PASS, 2 AH. */
  authType: 0 | 1 | 2;
  /** VRRPv2 only: the 8-byte authentication trailer. */
  authData: Buffer;
  checksum?: number;
}

/** Parsed addresses (a daemon sees the same few over and over); bounded. */
const bytesCache = new Map<string, Buffer>();

/** The address's bytes (a fresh copy: callers may write into it); 16 zero bytes for a non-address. */
export function ipBytes(addr: string): Buffer {
  let b = bytesCache.get(addr);
  if (!b) {
    b = parseIp(addr) ?? Buffer.alloc(16);
    if (bytesCache.size >= 1024) bytesCache.clear();
    bytesCache.set(addr, b);
  }
  return Buffer.from(b);
}

function pseudoHeader(family: 4 | 6, src: string, dst: string, len: number): Buffer {
  if (family === 4) {
    const b = Buffer.alloc(12);
    ipBytes(src).copy(b, 0);
    ipBytes(dst).copy(b, 4);
    b[9] = 112;
    b.writeUInt16BE(len, 10);
    return b;
  }
  const b = Buffer.alloc(40);
  ipBytes(src).copy(b, 0);
  ipBytes(dst).copy(b, 16);
  b.writeUInt32BE(len, 32);
  b[39] = 112;
  return b;
}

export function computeChecksum(
  payload: Buffer,
  family: 4 | 6,
  version: 2 | 3,
  src: string,
  dst: string,
  asV2 = false,
): number {
  const z = Buffer.from(payload);
  z.writeUInt16BE(0, 6);
  if (version === 2 || (family === 4 && asV2)) return internetChecksum(z);
  return internetChecksum(pseudoHeader(family, src, dst, z.length), z);
}

export function encodeAdvert(
  a: Advert,
  family: 4 | 6,
  ctx: { src: string; dst: string; v3ChecksumAsV2?: boolean },
): Buffer {
  const alen = family === 4 ? 4 : 16;
  const len = 8 + a.addresses.length * alen + (a.version === 2 ? 8 : 0);
  const b = Buffer.alloc(len);
  b[0] = (a.version << 4) | 1;
  b[1] = a.vrid;
  b[2] = a.priority;
  b[3] = a.addresses.length;
  if (a.version === 2) {
    b[4] = a.authType;
    b[5] = Math.round(a.advertIntervalCs / 100);
  } else b.writeUInt16BE(a.advertIntervalCs & 0x0fff, 4);
  a.addresses.forEach((addr, i) => ipBytes(addr).copy(b, 8 + i * alen));
  if (a.version === 2) a.authData.copy(b, len - 8, 0, 8);
  b.writeUInt16BE(computeChecksum(b, family, a.version, ctx.src, ctx.dst, ctx.v3ChecksumAsV2), 6);
  return b;
}

type Fail = { ok: false; reason: DropReason; detail: string };

export function decodeAdvert(p: Buffer, family: 4 | 6): { ok: true; advert: Advert } | Fail {
  if (p.length < 8) return { ok: false, reason: 'truncated', detail: `VRRP packet too short - ${p.length} bytes` };
  const version = p[0]! >> 4;
  if (version !== 2 && version !== 3)
    return { ok: false, reason: 'version_mismatch', detail: `unknown VRRP version ${version}` };
  if ((p[0]! & 0x0f) !== 1)
    return { ok: false, reason: 'invalid_type', detail: `Invalid packet type. ${p[0]! & 0x0f} and expect 1` };
  const alen = family === 4 ? 4 : 16;
  const n = p[3]!;
  const need = 8 + n * alen + (version === 2 ? 8 : 0);
  if (p.length !== need)
    return {
      ok: false,
      reason: 'packet_len_err',
      detail: `vrrp packet too ${p.length > need ? 'long' : 'short'}, length ${p.length} and expect ${need}`,
    };
  const addresses: string[] = [];
  for (let i = 0; i < n; i++) addresses.push(ipString(p.subarray(8 + i * alen, 8 + (i + 1) * alen)) ?? '');
  const advert: Advert = {
    version,
    vrid: p[1]!,
    priority: p[2]!,
    addresses,
    advertIntervalCs: version === 2 ? p[5]! * 100 : p.readUInt16BE(4) & 0x0fff,
    authType: (version === 2 ? p[4]! : 0) as 0 | 1 | 2,
    authData: version === 2 ? Buffer.from(p.subarray(need - 8, need)) : Buffer.alloc(0),
    checksum: p.readUInt16BE(6),
  };
  return { ok: true, advert };
}

export function verifyChecksum(
  payload: Buffer,
  family: 4 | 6,
  src: string,
  dst: string,
  asV2 = false,
): 'ok' | 'old_unicast' | 'bad' {
  const version = (payload[0]! >> 4) as 2 | 3;
  const got = payload.readUInt16BE(6);
  if (computeChecksum(payload, family, version, src, dst, asV2) === got) return 'ok';
  if (family === 4 && version === 3 && computeChecksum(payload, 4, 3, src, '224.0.0.18') === got) return 'old_unicast';
  return 'bad';
}

export function buildIpv4Packet(payload: Buffer, o: { src: string; dst: string; ttl: number; id: number }): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = 0xc0;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(o.id, 4);
  h[8] = o.ttl;
  h[9] = 112;
  ipBytes(o.src).copy(h, 12);
  ipBytes(o.dst).copy(h, 16);
  h.writeUInt16BE(internetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

export function parseIpv4Packet(
  buf: Buffer,
): { ok: true; src: string; dst: string; ttl: number; totalLength: number; payload: Buffer } | Fail {
  if (buf.length < 20 || buf[0]! >> 4 !== 4)
    return { ok: false, reason: 'truncated', detail: `IPv4 VRRP packet too short - ${buf.length} bytes` };
  const ihl = (buf[0]! & 0x0f) * 4;
  const total = buf.readUInt16BE(2);
  if (buf.length < ihl + 8)
    return { ok: false, reason: 'truncated', detail: `IPv4 VRRP packet too short - ${buf.length} bytes` };
  if (total !== buf.length)
    return {
      ok: false,
      reason: 'packet_len_err',
      detail: `ip_tot_len mismatch against received length. ${total} and received ${buf.length}`,
    };
  return {
    ok: true,
    src: ipString(buf.subarray(12, 16)) ?? '',
    dst: ipString(buf.subarray(16, 20)) ?? '',
    ttl: buf[8]!,
    totalLength: total,
    payload: buf.subarray(ihl),
  };
}
