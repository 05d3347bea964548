/**
 * Routes as rtnetlink messages: a keepalived virtual_routes line parsed into a request
 * (anything this encoder does not cover is left to `ip`), and RTM_NEWROUTE/DELROUTE built with
 * iproute2's defaults. Pure.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { addrBytes, AF, attr, message, NLM_F, RTM, SCOPES, u32 } from './rtnl-codec.js';

const RTA = { DST: 1, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;
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
