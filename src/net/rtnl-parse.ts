/**
 * What the kernel sends over rtnetlink, parsed: link (RTM_NEWLINK/DELLINK) and address
 * (RTM_NEWADDR/DELADDR) messages from replies and the subscription. Pure; every length read
 * from the kernel is checked before use, and a malformed message is skipped, never half-read.
 */
import { ipString as addrString } from '../util/ip.js';
import { AF, align4, HDR, IFA, IFA_F, IFF, IFLA, RTM } from './rtnl-codec.js';

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];

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
