/**
 * The reconciler's pure half: what the kernel holds (parsed from `nft -j list table`) against
 * the desired table (nft-plan.ts) → one nft script, applied as one atomic transaction. Maps
 * change element by element; a chain is rewritten only when its rules differ (each rule carries
 * a comment with the hash of its text, so a rule is compared without re-parsing nft's JSON).
 * Empty script: the kernel already matches.
 */
import { createHash } from 'node:crypto';
import { TABLE, type DesiredTable, type NftFamily } from './nft-plan.js';

export interface ActualTable {
  /** Map name → element key → value, both in nft's text form ("203.0.113.11 . 80"). */
  maps: Map<string, Map<string, string>>;
  /** Chain name → the comments of its rules, in order. */
  chains: Map<string, string[]>;
  counters: Map<string, { packets: number; bytes: number }>;
}

export const emptyActual = (): ActualTable => ({ maps: new Map(), chains: new Map(), counters: new Map() });

const sig = (rule: string): string => `fd${createHash('sha1').update(rule).digest('hex').slice(0, 12)}`;

type Json = unknown;
/** nft JSON expression → nft text, for the shapes floatd's own maps hold. */
export function text(v: Json): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(text).join(', ');
  const o = v as Record<string, Json>;
  if ('concat' in o) return (o.concat as Json[]).map(text).join(' . ');
  if ('elem' in o) return text((o.elem as Record<string, Json>).val);
  if ('jump' in o) return `jump ${String((o.jump as { target: string }).target)}`;
  if ('goto' in o) return `goto ${String((o.goto as { target: string }).target)}`;
  if ('prefix' in o) {
    const p = o.prefix as { addr: string; len: number };
    return `${p.addr}/${p.len}`;
  }
  return JSON.stringify(v);
}

/** Parses `nft -j list table FAMILY floatd_lb`. */
export function parseActual(json: string): ActualTable {
  const a = emptyActual();
  const doc = JSON.parse(json) as { nftables?: Record<string, Record<string, Json>>[] };
  for (const item of doc.nftables ?? []) {
    if (item.map) {
      const m = new Map<string, string>();
      for (const e of (item.map.elem as Json[][] | undefined) ?? [])
        m.set(text(e[0]), text(e[1]).replace(/^"|"$/g, ''));
      a.maps.set(String(item.map.name), m);
    } else if (item.chain) a.chains.set(String(item.chain.name), a.chains.get(String(item.chain.name)) ?? []);
    else if (item.rule) {
      const c = String(item.rule.chain);
      a.chains.set(c, [...(a.chains.get(c) ?? []), String(item.rule.comment ?? '')]);
    } else if (item.counter)
      a.counters.set(String(item.counter.name), {
        packets: Number(item.counter.packets),
        bytes: Number(item.counter.bytes),
      });
  }
  return a;
}

/** Per real server: packets/bytes towards it, from it, and new connections. */
export const COUNTER_KINDS = [
  ['cin', 'i'],
  ['cout', 'o'],
  ['cconn', 'c'],
] as const;

const BASE: Record<string, string> = {
  pre: 'type nat hook prerouting priority dstnat; policy accept;',
  out: 'type nat hook output priority -100; policy accept;',
  lbpost: 'type filter hook prerouting priority -90; policy accept;',
  lbfwd: 'type filter hook forward priority filter; policy accept;',
};

function baseRules(d: DesiredTable): Map<string, string[]> {
  const f = d.family;
  const dispatch = [`${f} daddr . meta l4proto . th dport vmap @disp`, 'meta mark vmap @dispm'];
  const counted = d.counters.size
    ? [
        `ct direction original counter name ${f} daddr . th dport map @cin`,
        `ct direction reply counter name ${f} saddr . th sport map @cout`,
        `ct state new counter name ${f} daddr . th dport map @cconn`,
      ]
    : [];
  return new Map([
    ['pre', dispatch],
    ['out', dispatch],
    ['lbfwd', counted],
    ['lbpost', d.vss.flatMap((v) => v.persist?.postRules ?? [])],
  ]);
}

/** A table as the diff sees it: objects by name, map contents, chains with their rules. */
export interface GenericTable {
  family: NftFamily | 'netdev';
  /** Default floatd_lb. */
  name?: string;
  counters: Set<string>;
  /** Map name → its declaration ("type … : …;"). */
  maps: Map<string, string>;
  /** Map name → key → value, as nft prints them. */
  elements: Map<string, Map<string, string>>;
  /** Maps whose values are object names (written quoted). */
  quoted: Set<string>;
  /** Chain name → base-chain declaration (absent: a regular chain) and rules. */
  chains: Map<string, { decl?: string; rules: string[] }>;
  /** Dynamic maps whose entries must point at one of `live` (stale persistence). */
  prune: { map: string; live: Set<string> }[];
}

/** The NAT table (ip/ip6) in the generic shape. */
export function natTable(d: DesiredTable): GenericTable {
  const addr = d.family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const maps = new Map<string, string>([
    ['disp', `type ${addr} . inet_proto . inet_service : verdict;`],
    ['dispm', 'type mark : verdict;'],
    ['cin', `type ${addr} . inet_service : counter;`],
    ['cout', `type ${addr} . inet_service : counter;`],
    ['cconn', `type ${addr} . inet_service : counter;`],
  ]);
  for (const v of d.vss) {
    maps.set(v.slotMap, `${v.slotType};`);
    if (v.persist)
      maps.set(v.persist.map, `type ${v.persist.type}; flags dynamic,timeout; timeout ${v.persist.timeoutS}s;`);
  }
  const elements = new Map<string, Map<string, string>>();
  elements.set('disp', new Map(d.vss.flatMap((v) => v.dispatch.map((k) => [k, `jump ${v.id}`] as const))));
  elements.set('dispm', new Map(d.vss.flatMap((v) => v.marks.map((k) => [String(k), `jump ${v.id}`] as const))));
  for (const [m, sfx] of COUNTER_KINDS)
    elements.set(m, new Map([...d.counters].map(([n, v]) => [v, n + sfx] as const)));
  for (const v of d.vss) elements.set(v.slotMap, new Map(v.slots.map((x, i) => [String(i), x] as const)));
  const chains = new Map<string, { decl?: string; rules: string[] }>();
  for (const [name, rules] of baseRules(d)) chains.set(name, { decl: BASE[name]!, rules });
  for (const v of d.vss) chains.set(v.id, { rules: v.rules });
  return {
    family: d.family,
    maps,
    elements,
    chains,
    quoted: new Set(['cin', 'cout', 'cconn']),
    counters: new Set([...d.counters.keys()].flatMap((n) => COUNTER_KINDS.map(([, sfx]) => n + sfx))),
    prune: d.vss.flatMap((v) => (v.persist ? [{ map: v.persist.map, live: new Set(v.slots) }] : [])),
  };
}

/** One script that turns `actual` (absent: no table yet) into `g`; '' when nothing differs. */
export function diffGeneric(g: GenericTable, actual: ActualTable | undefined): string {
  const T = `${g.family} ${g.name ?? TABLE}`;
  const a = actual ?? emptyActual();
  const adds: string[] = [];
  const elems: string[] = [];
  const rules: string[] = [];
  const dels: string[] = [];
  if (!actual) adds.push(`add table ${T}`);
  // Counters first (maps refer to them), then maps, then chains (verdict elements jump to them).
  for (const name of g.counters) if (!a.counters.has(name)) adds.push(`add counter ${T} ${name}`);
  for (const [name, type] of g.maps) if (!a.maps.has(name)) adds.push(`add map ${T} ${name} { ${type} }`);
  for (const [name, c] of g.chains)
    if (!a.chains.has(name)) adds.push(`add chain ${T} ${name}${c.decl ? ` { ${c.decl} }` : ''}`);
  for (const [m, w] of g.elements) {
    const have = a.maps.get(m) ?? new Map<string, string>();
    for (const [k, val] of have) if (w.get(k) !== val) elems.push(`delete element ${T} ${m} { ${k} }`);
    for (const [k, val] of w)
      if (have.get(k) !== val) elems.push(`add element ${T} ${m} { ${k} : ${g.quoted.has(m) ? `"${val}"` : val} }`);
  }
  // Persistence entries pointing at a server no longer in the slots go (the client picks anew).
  for (const p of g.prune)
    for (const [k, val] of a.maps.get(p.map) ?? [])
      if (!p.live.has(val)) elems.push(`delete element ${T} ${p.map} { ${k} }`);
  for (const [name, c] of g.chains) {
    const have = a.chains.get(name) ?? [];
    const sigs = c.rules.map(sig);
    if (have.length === sigs.length && have.every((x, i) => x === sigs[i])) continue;
    if (have.length) rules.push(`flush chain ${T} ${name}`);
    for (const r of c.rules) rules.push(`add rule ${T} ${name} ${r} comment "${sig(r)}"`);
  }
  // Gone: chains before the maps they use, map elements before the counters they name.
  for (const name of a.chains.keys()) if (!g.chains.has(name)) dels.push(`delete chain ${T} ${name}`);
  for (const name of a.maps.keys()) if (!g.maps.has(name)) dels.push(`delete map ${T} ${name}`);
  for (const name of a.counters.keys()) if (!g.counters.has(name)) dels.push(`delete counter ${T} ${name}`);
  const all = [...adds, ...elems, ...rules, ...dels];
  return all.length ? all.join('\n') + '\n' : '';
}

/** The NAT table's script (see natTable / diffGeneric). */
export const diffTable = (d: DesiredTable, actual: ActualTable | undefined): string => diffGeneric(natTable(d), actual);

/** Removes the whole table (stop without keeping rules). */
export const dropTable = (f: NftFamily | 'netdev', name = TABLE): string => `delete table ${f} ${name}\n`;
