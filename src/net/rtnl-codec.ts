/**
 * rtnetlink messages, built in TypeScript (the addon only moves bytes): the constants, the
 * message and attribute framing, and the address (RTM_NEWADDR/DELADDR/GETADDR) and link
 * (RTM_GETLINK) requests. Routes are built in rtnl-route.ts and what the kernel sends is parsed
 * in rtnl-parse.ts. Pure functions. Host byte order (little endian).
 */
import { ipBytes } from '../util/ip.js';

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
export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, CACHEINFO: 6, FLAGS: 8 } as const;
export const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, OPERSTATE: 16 } as const;
export const AF = { 4: 2, 6: 10 } as const;
/** struct nlmsghdr's size. */
export const HDR = 16;
export const FOREVER = 0xffff_ffff;

export const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };

export const align4 = (n: number): number => (n + 3) & ~3;

export function attr(type: number, data: Buffer): Buffer {
  const b = Buffer.alloc(align4(4 + data.length));
  b.writeUInt16LE(4 + data.length, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}

export const u32 = (v: number): Buffer => {
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
