/**
 * rtnetlink messages, built and parsed in TypeScript (the addon only moves bytes): addresses
 * (RTM_NEWADDR/DELADDR/GETADDR), links (RTM_GETLINK, RTM_NEWLINK/DELLINK events) and routes
 * (RTM_NEWROUTE/DELROUTE). Pure functions; every length read from the kernel is checked before
 * use, and a malformed message is skipped, never half-read. Host byte order (little endian).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipBytes, ipString as addrString } from '../util/ip.js';

export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
} as const;
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
} as const;
export const RTMGRP = { LINK: 0x1, IPV4_IFADDR: 0x10, IPV6_IFADDR: 0x100 } as const;
export const IFF = { UP: 0x1, RUNNING: 0x40, NOARP: 0x80, LOWER_UP: 0x10000 } as const;
export const IFA_F = {
  SECONDARY: 0x1,
  NODAD: 0x2,
  DADFAILED: 0x8,
  DEPRECATED: 0x20,
  TENTATIVE: 0x40,
  PERMANENT: 0x80,
  NOPREFIXROUTE: 0x200,
} as const;
const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, CACHEINFO: 6, FLAGS: 8 } as const;
const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, OPERSTATE: 16 } as const;
const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];
const RTA = { DST: 1, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;
const AF = { 4: 2, 6: 10 } as const;
const HDR = 16;
export const FOREVER = 0xffff_ffff;

export const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
const RT_TYPES: Record<string, number> = {
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
  throw: 9,
};
const TABLES: Record<string, number> = { main: 254, local: 255, default: 253 };
const PROTOS: Record<string, number> = { kernel: 2, boot: 3, static: 4 };

const align4 = (n: number): number => (n + 3) & ~3;

function attr(type: number, data: Buffer): Buffer {
  const b = Buffer.alloc(align4(4 + data.length));
  b.writeUInt16LE(4 + data.length, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
};
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);

export function addrBytes(addr: string): Buffer {
  const b = ipBytes(addr);
  if (!b) throw new TypeError(`${JSON.stringify(addr)} is not an IP address`);
  return b;
}

/** One whole message: header + fixed part + attributes. */
export function message(type: number, flags: number, seq: number, fixed: Buffer, attrs: Buffer[] = []): Buffer {
  const body = Buffer.concat([fixed, ...attrs]);
  const h = Buffer.alloc(HDR);
  h.writeUInt32LE(HDR + body.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags | NLM_F.REQUEST, 6);
  h.writeUInt32LE(seq >>> 0, 8);
  return Buffer.concat([h, body]);
}

function ifaddrmsg(family: 4 | 6 | 0, prefix: number, flags: number, scope: number, index: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(family === 0 ? 0 : AF[family], 0);
  b.writeUInt8(prefix, 1);
  b.writeUInt8(flags & 0xff, 2);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

export interface AddrRequest {
  family: 4 | 6;
  address: string;
  prefix: number;
  index: number;
  peer?: string;
  broadcast?: string;
  label?: string;
  scope?: number;
  /** IFA_F_* bits (NODAD, NOPREFIXROUTE). */
  flags?: number;
  /** Seconds; undefined = forever. Both, or neither, go out as IFA_CACHEINFO. */
  validLft?: number;
  preferredLft?: number;
}

/** IPv4 broadcast for `brd +`: the address with every host bit set. */
export function broadcastOf(address: string, prefix: number): string {
  const n = addrBytes(address).readUInt32BE(0);
  const mask = prefix === 0 ? 0 : (0xffff_ffff << (32 - prefix)) >>> 0;
  const b = Buffer.alloc(4);
  b.writeUInt32BE((n | ~mask) >>> 0, 0);
  return [...b].join('.');
}

/** RTM_NEWADDR (add: CREATE|EXCL; replace: REPLACE, to refresh lifetimes) or RTM_DELADDR. */
export function addrMessage(kind: 'add' | 'replace' | 'del', r: AddrRequest, seq: number): Buffer {
  const flags = r.flags ?? 0;
  const attrs = [attr(IFA.LOCAL, addrBytes(r.address)), attr(IFA.ADDRESS, addrBytes(r.peer ?? r.address))];
  if (kind !== 'del') {
    if (r.family === 4 && r.broadcast) attrs.push(attr(IFA.BROADCAST, addrBytes(r.broadcast)));
    if (r.family === 4 && r.label) attrs.push(attr(IFA.LABEL, cstr(r.label)));
    if (flags > 0xff) attrs.push(attr(IFA.FLAGS, u32(flags)));
    if (r.validLft !== undefined || r.preferredLft !== undefined) {
      const ci = Buffer.alloc(16);
      ci.writeUInt32LE(r.preferredLft ?? r.validLft ?? FOREVER, 0);
      ci.writeUInt32LE(r.validLft ?? FOREVER, 4);
      attrs.push(attr(IFA.CACHEINFO, ci));
    }
  }
  const type = kind === 'del' ? RTM.DELADDR : RTM.NEWADDR;
  const nf = kind === 'add' ? NLM_F.CREATE | NLM_F.EXCL : kind === 'replace' ? NLM_F.CREATE | NLM_F.REPLACE : 0;
  return message(
    type,
    nf | NLM_F.ACK,
    seq,
    ifaddrmsg(r.family, r.prefix, flags, kind === 'del' ? 0 : (r.scope ?? 0), r.index),
    attrs,
  );
}

export function getAddrDump(seq: number, family: 4 | 6 | 0 = 0): Buffer {
  return message(RTM.GETADDR, NLM_F.DUMP, seq, ifaddrmsg(family, 0, 0, 0, 0));
}

/** RTM_GETLINK for one interface by name, or a dump of all. */
export function getLink(seq: number, ifname?: string): Buffer {
  const fixed = Buffer.alloc(16);
  return ifname === undefined
    ? message(RTM.GETLINK, NLM_F.DUMP, seq, fixed)
    : message(RTM.GETLINK, 0, seq, fixed, [attr(IFLA.IFNAME, cstr(ifname))]);
}

export interface RouteRequest {
  family: 4 | 6;
  dst?: string;
  dstLen: number;
  gateway?: string;
  dev?: string;
  src?: string;
  metric?: number;
  table: number;
  scope?: number;
  protocol?: number;
  type: number;
  onlink: boolean;
}

const famOf = (a: string): 4 | 6 | undefined => (isIPv4(a) ? 4 : isIPv6(a) ? 6 : undefined);

function num(w: string | undefined, max = 0xffff_ffff): number | undefined {
  if (w === undefined || !/^\d+$/.test(w)) return undefined;
  const n = Number(w);
  return n <= max ? n : undefined;
}

/**
 * A keepalived virtual_routes line as a netlink route, or undefined for anything this
 * encoder does not cover (nexthop groups, mtu, realms, …): the caller then uses `ip`.
 */
export function parseRoute(words: readonly string[]): RouteRequest | undefined {
  const w = words.filter((x) => x !== 'no_track');
  let fam: 4 | 6 | undefined;
  const r: RouteRequest = { family: 4, dstLen: 0, table: TABLES.main!, type: RT_TYPES.unicast!, onlink: false };
  let i = 0;
  if (w[i] === 'inet' || w[i] === 'inet6') fam = w[i++] === 'inet' ? 4 : 6;
  if (w[i] !== undefined && RT_TYPES[w[i]!] !== undefined) r.type = RT_TYPES[w[i++]!]!;
  const dst = w[i++];
  if (dst === undefined) return undefined;
  if (dst !== 'default') {
    const [a, len, extra] = dst.split('/');
    const f = famOf(a ?? '');
    if (!f || extra !== undefined || (fam && fam !== f)) return undefined;
    fam = f;
    const l = len === undefined ? (f === 4 ? 32 : 128) : num(len, f === 4 ? 32 : 128);
    if (l === undefined) return undefined;
    r.dst = a;
    r.dstLen = l;
  }
  for (; i < w.length; i += 2) {
    const k = w[i]!,
      v = w[i + 1];
    if (k === 'onlink') {
      r.onlink = true;
      i--;
      continue;
    }
    if (v === undefined) return undefined;
    if (k === 'via' || k === 'src') {
      const f = famOf(v);
      if (!f || (fam && fam !== f)) return undefined; // RTA_VIA (another family) is not covered
      fam = f;
      if (k === 'via') r.gateway = v;
      else r.src = v;
    } else if (k === 'dev' || k === 'oif') r.dev = v;
    else if (k === 'metric' || k === 'preference' || k === 'priority') {
      const n = num(v);
      if (n === undefined) return undefined;
      r.metric = n;
    } else if (k === 'table') {
      const n = TABLES[v] ?? num(v);
      if (n === undefined) return undefined;
      r.table = n;
    } else if (k === 'scope') {
      const n = SCOPES[v] ?? num(v, 255);
      if (n === undefined) return undefined;
      r.scope = n;
    } else if (k === 'proto' || k === 'protocol') {
      const n = PROTOS[v] ?? num(v, 255);
      if (n === undefined) return undefined;
      r.protocol = n;
    } else return undefined;
  }
  r.family = fam ?? 4;
  return r;
}

/** RTM_NEWROUTE (CREATE|EXCL) or RTM_DELROUTE, with iproute2's defaults; `index` is r.dev's. */
export function routeMessage(kind: 'add' | 'del', r: RouteRequest, index: number | undefined, seq: number): Buffer {
  const add = kind === 'add';
  let scope = r.scope;
  if (scope === undefined) {
    if (!add) scope = SCOPES.nowhere!;
    else if (r.type === RT_TYPES.local) scope = SCOPES.host!;
    else if (r.type === RT_TYPES.broadcast || r.type === RT_TYPES.multicast || r.type === RT_TYPES.anycast)
      scope = SCOPES.link!;
    else if (r.type === RT_TYPES.unicast && !r.gateway) scope = SCOPES.link!;
    else scope = 0;
  }
  const fixed = Buffer.alloc(12);
  fixed.writeUInt8(AF[r.family], 0);
  fixed.writeUInt8(r.dstLen, 1);
  fixed.writeUInt8(r.table < 256 ? r.table : 0, 4);
  fixed.writeUInt8(r.protocol ?? (add ? PROTOS.boot! : 0), 5);
  fixed.writeUInt8(scope, 6);
  fixed.writeUInt8(add || r.type !== RT_TYPES.unicast ? r.type : 0, 7);
  fixed.writeUInt32LE(r.onlink ? 4 : 0, 8);
  const attrs: Buffer[] = [];
  if (r.dst !== undefined) attrs.push(attr(RTA.DST, addrBytes(r.dst)));
  if (r.gateway) attrs.push(attr(RTA.GATEWAY, addrBytes(r.gateway)));
  if (r.src) attrs.push(attr(RTA.PREFSRC, addrBytes(r.src)));
  if (index !== undefined) attrs.push(attr(RTA.OIF, u32(index)));
  if (r.metric !== undefined) attrs.push(attr(RTA.PRIORITY, u32(r.metric)));
  if (r.table >= 256) attrs.push(attr(RTA.TABLE, u32(r.table)));
  return message(
    add ? RTM.NEWROUTE : RTM.DELROUTE,
    (add ? NLM_F.CREATE | NLM_F.EXCL : 0) | NLM_F.ACK,
    seq,
    fixed,
    attrs,
  );
}

// ---- parsing ----

export interface LinkMsg {
  kind: 'link';
  deleted: boolean;
  index: number;
  ifname?: string;
  flags: number;
  /** IFF_UP and IFF_LOWER_UP: administratively up with carrier, as keepalived judges it. */
  up: boolean;
  mac?: string;
  mtu?: number;
  operstate?: string;
}

export interface AddrMsg {
  kind: 'addr';
  deleted: boolean;
  family: 4 | 6;
  index: number;
  prefix: number;
  scope: number;
  flags: number;
  address: string;
  label?: string;
  /** Seconds left (FOREVER = 0xffffffff); absent when the kernel sent no IFA_CACHEINFO. */
  validLft?: number;
  preferredLft?: number;
}

export type RtnlMsg = LinkMsg | AddrMsg | { kind: 'other'; type: number };

/** Attributes of a message body from `off`; a malformed one ends the list. */
function attrs(b: Buffer, off: number, end: number): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  while (off + 4 <= end) {
    const len = b.readUInt16LE(off);
    const type = b.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > end) break;
    if (!m.has(type)) m.set(type, b.subarray(off + 4, off + len));
    off += align4(len);
  }
  return m;
}

function nulString(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const z = b.indexOf(0);
  return b.toString('utf8', 0, z < 0 ? b.length : z);
}

function parseOne(b: Buffer, off: number, len: number): RtnlMsg | undefined {
  const type = b.readUInt16LE(off + 4);
  const body = off + HDR,
    end = off + len;
  if (type === RTM.NEWLINK || type === RTM.DELLINK) {
    if (end - body < 16) return undefined;
    const flags = b.readUInt32LE(body + 8);
    const a = attrs(b, body + 16, end);
    const ifname = nulString(a.get(IFLA.IFNAME));
    const mac = a.get(IFLA.ADDRESS);
    const mtu = a.get(IFLA.MTU);
    const op = a.get(IFLA.OPERSTATE);
    return {
      kind: 'link',
      deleted: type === RTM.DELLINK,
      index: b.readInt32LE(body + 4),
      flags,
      up: (flags & IFF.UP) !== 0 && (flags & IFF.LOWER_UP) !== 0,
      ...(ifname !== undefined ? { ifname } : {}),
      ...(mac && mac.length > 0 ? { mac: [...mac].map((x) => x.toString(16).padStart(2, '0')).join(':') } : {}),
      ...(mtu && mtu.length >= 4 ? { mtu: mtu.readUInt32LE(0) } : {}),
      ...(op && op.length >= 1 ? { operstate: OPERSTATES[op.readUInt8(0)] ?? 'UNKNOWN' } : {}),
    };
  }
  if (type === RTM.NEWADDR || type === RTM.DELADDR) {
    if (end - body < 8) return undefined;
    const af = b.readUInt8(body);
    const family = af === AF[4] ? 4 : af === AF[6] ? 6 : undefined;
    if (!family) return { kind: 'other', type };
    const a = attrs(b, body + 8, end);
    const local = a.get(IFA.LOCAL) ?? a.get(IFA.ADDRESS);
    const address = local && local.length === (family === 4 ? 4 : 16) ? addrString(local) : undefined;
    if (!address) return undefined;
    const fl = a.get(IFA.FLAGS);
    const ci = a.get(IFA.CACHEINFO);
    const label = nulString(a.get(IFA.LABEL));
    return {
      kind: 'addr',
      deleted: type === RTM.DELADDR,
      family,
      prefix: b.readUInt8(body + 1),
      flags: fl && fl.length >= 4 ? fl.readUInt32LE(0) : b.readUInt8(body + 2),
      scope: b.readUInt8(body + 3),
      index: b.readUInt32LE(body + 4),
      address,
      ...(label !== undefined ? { label } : {}),
      ...(ci && ci.length >= 8 ? { preferredLft: ci.readUInt32LE(0), validLft: ci.readUInt32LE(4) } : {}),
    };
  }
  return { kind: 'other', type };
}

/** Every message in a datagram (or in one reply buffer); malformed ones are skipped. */
export function parseMessages(b: Buffer): RtnlMsg[] {
  const out: RtnlMsg[] = [];
  let off = 0;
  while (off + HDR <= b.length) {
    const len = b.readUInt32LE(off);
    if (len < HDR || off + len > b.length) break;
    const m = parseOne(b, off, len);
    if (m) out.push(m);
    off += align4(len);
  }
  return out;
}

/** Was this deletion the kernel's own, at the end of the valid lifetime (not `ip addr del`)? */
export function expiredByLifetime(m: AddrMsg): boolean {
  return m.deleted && (m.flags & IFA_F.PERMANENT) === 0 && m.validLft !== undefined && m.validLft === 0;
}
