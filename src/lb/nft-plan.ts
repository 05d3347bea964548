/**
 * Desired nftables state for the load balancer (pure): one table per family (`ip floatd_lb`,
 * `ip6 floatd_lb`). Every changeable part is a named map updated element by element, so a
 * reload or a failed server touches only what differs:
 *
 *   map disp   VIP . proto . port → jump v_<id>        (the dispatch, nat prerouting + output)
 *   map dispm  fwmark → jump v_<id>
 *   map s_<id> slot → real server address . port      (the scheduler's slot table, slots.ts)
 *   chain v_<id>  [persistence lookup]  dnat … to <numgen|jhash> mod N map @s_<id>
 *   map p_<id> client → real server, with timeouts    (persistence_timeout)
 *   chain lbpost  (filter, after dnat) records new persistent clients
 *   chain lbfwd   per real server counters (cin/cout/cconn maps → named counters)
 *
 * NAT state lives in conntrack: a connection keeps its real server whatever the rules do next,
 * so changing a table never moves an established connection.
 */
import { createHash } from 'node:crypto';
import type { VirtualServerConfig } from '../config/lvs-model.js';
import { selectorKind, slotTable } from './slots.js';
import type { RotationEntry } from './membership.js';

export type NftFamily = 'ip' | 'ip6';
export const TABLE = 'floatd_lb';

export interface DesiredVs {
  /** Chain v_<id>; the maps' names also carry their type, so a type change makes a new map. */
  id: string;
  key: string;
  slotMap: string;
  /** disp elements, "192.0.2.100 . tcp . 80". */
  dispatch: string[];
  marks: number[];
  /** typeof declaration of s_<id>. */
  slotType: string;
  /** Slot i → "203.0.113.11 . 80" (or the address alone when the port is kept). */
  slots: string[];
  /** The v_<id> chain's rules. */
  rules: string[];
  persist?: { map: string; timeoutS: number; type: string; postRules: string[] };
  /** The values slots may hold (stale persistence entries point elsewhere). */
  values: string[];
}

export interface DesiredTable {
  family: NftFamily;
  vss: DesiredVs[];
  /** Counter name → "address . port" of a real server. */
  counters: Map<string, string>;
}

export const shortId = (prefix: string, text: string): string =>
  prefix + createHash('sha1').update(text).digest('hex').slice(0, 10);
const addrT = (f: NftFamily): string => (f === 'ip' ? 'ipv4_addr' : 'ipv6_addr');

/** nft prints IPv6 compressed and lower-case; so does the plan, so diffs compare like with like. */
export function canonAddr(a: string): string {
  return a.includes(':') ? new URL(`http://[${a}]`).hostname.slice(1, -1) : a;
}

function value(r: { address: string; port: number }, keepPort: boolean): string {
  return keepPort ? canonAddr(r.address) : `${canonAddr(r.address)} . ${r.port}`;
}

/** The desired state of one virtual service, given who is in rotation. */
export function planVs(vs: VirtualServerConfig, rot: RotationEntry[]): DesiredVs {
  const fam: NftFamily = vs.family === 6 ? 'ip6' : 'ip';
  const id = `v_${shortId('', vs.key)}`;
  const keepPort = vs.realServers.length > 0 && vs.realServers.every((r) => r.port === 0);
  const proto = vs.protocol.toLowerCase();
  const l4 = `meta l4proto ${proto}`;
  const table = slotTable(vs.sched, rot);
  const slots = table.map((r) => value(r, keepPort));
  const n = Math.max(1, slots.length);
  const kind = selectorKind(vs.sched);
  const seed = `0x${createHash('sha1').update(vs.key).digest('hex').slice(0, 8)}`;
  const src = `${fam} saddr${vs.hashPort ? ` . ${proto} sport` : ''}`;
  const sel =
    kind === 'numgen'
      ? `numgen inc mod ${n}`
      : `jhash ${kind === 'saddr' ? src : `${fam} daddr`} mod ${n} seed ${seed}`;
  const to = keepPort ? `dnat ${fam} to` : `${l4} dnat ${fam} addr . port to`;
  const rules: string[] = [];
  let persist: DesiredVs['persist'];
  const dport = keepPort ? '' : ` . ${proto === 'udp' ? 'udp' : 'tcp'} dport`;
  const slotType = `typeof numgen inc mod 2 : ${fam} daddr${dport}`;
  const slotMap = shortId('s', `${vs.key} ${slotType}`);
  if (vs.persistenceTimeoutS && slots.length) {
    const ptype = `${addrT(fam)} : ${addrT(fam)}${keepPort ? '' : ' . inet_service'}`;
    const pmap = shortId('p', `${vs.key} ${ptype} ${vs.persistenceTimeoutS}`);
    rules.push(`${to} ${fam} saddr map @${pmap}`);
    const post = vs.endpoints
      .map((e) => `${l4} ct state new ct original ${fam} daddr ${canonAddr(e.address)} ct original proto-dst ${e.port}`)
      .concat(vs.fwmarks.map((m) => `ct state new meta mark ${m}`))
      .map((m) => `${m} update @${pmap} { ${fam} saddr : ${fam} daddr${keepPort ? '' : ` . ${proto} dport`} }`);
    persist = { map: pmap, timeoutS: vs.persistenceTimeoutS, type: ptype, postRules: post };
  }
  // No server in rotation: no rule, so the address's own stack answers (RST), as IPVS does.
  if (slots.length) rules.push(`${to} ${sel} map @${slotMap}`);
  const values = [...new Set([...vs.realServers, ...(vs.sorry ? [vs.sorry] : [])].map((r) => value(r, keepPort)))];
  return {
    id,
    key: vs.key,
    slotMap,
    dispatch: vs.endpoints.map((e) => `${canonAddr(e.address)} . ${proto} . ${e.port}`),
    marks: vs.fwmarks,
    slotType,
    slots,
    rules,
    values,
    ...(persist ? { persist } : {}),
  };
}

/** The whole desired state per family; rotations are keyed by virtual server key. */
export function planTables(vss: VirtualServerConfig[], rotations: Map<string, RotationEntry[]>): DesiredTable[] {
  const out: DesiredTable[] = [];
  for (const fam of ['ip', 'ip6'] as const) {
    const mine = vss.filter((v) => v.method === 'NAT' && (v.family === 6 ? 'ip6' : 'ip') === fam);
    if (!mine.length) continue;
    const counters = new Map<string, string>();
    for (const v of mine)
      for (const r of [...v.realServers, ...(v.sorry ? [v.sorry] : [])]) {
        if (r.port)
          counters.set(shortId('r', `${fam} ${canonAddr(r.address)} ${r.port}`), `${canonAddr(r.address)} . ${r.port}`);
      }
    out.push({ family: fam, vss: mine.map((v) => planVs(v, rotations.get(v.key) ?? [])), counters });
  }
  return out;
}
