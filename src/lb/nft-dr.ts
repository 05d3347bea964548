/**
 * Direct routing (LVS-DR) on nftables (pure). The packet reaches the real server unchanged (its
 * destination stays the virtual address); the real servers hold that address on their loopback
 * (ARP/ND for it suppressed) and answer the client directly.
 *
 * - Address services, IPv4 and IPv6: a `netdev floatd_lb` table, one ingress chain per interface,
 *   dispatching `VIP . proto . port` to a chain that forwards the frame to the chosen server's
 *   MAC (`fwd ip|ip6 to … device DEV`: the kernel resolves the neighbour).
 * - fwmark services: the mark is set by the operator's rules in the prerouting hook (mangle,
 *   priority −150), after netdev ingress, so these are dispatched in an `ip|ip6 floatd_lbdr`
 *   table by a prerouting chain at priority −140: `dup to ADDRESS device DEV` sends the packet
 *   to the server unchanged, then the original is dropped.
 *
 * Either way the choice is made before conntrack, per packet, by a hash of the flow (client
 * address and port; sh/mh: the client address; dh: the destination): every packet of a
 * connection goes to the same server; rr/wrr spread by the hash's statistics. The slot goes to
 * the packet mark once, then selects both the server (`map @t…`) and its named counter
 * (`map @c…`: packets and bytes towards each real server; the replies bypass the balancer).
 */
import { createHash } from 'node:crypto';
import type { VirtualServerConfig } from '../config/lvs-model.js';
import type { RotationEntry } from './membership.js';
import { canonAddr, shortId, type NftFamily } from './nft-plan.js';
import type { GenericTable } from './nft-diff.js';
import { selectorKind, slotTable } from './slots.js';

/** The table of fwmark DR services, one per family. */
export const DR_MARK_TABLE = 'floatd_lbdr';

/** An interface name as an nft chain name part. */
const chainPart = (dev: string): string => dev.replace(/[^A-Za-z0-9_]/g, '_');
const famOf = (v: VirtualServerConfig): NftFamily => (v.family === 6 ? 'ip6' : 'ip');

/** The named counter of a real server in DR, and the key `counters()` reports it under. */
export function drCounter(fam: NftFamily, r: { address: string; port: number }): { name: string; key: string } {
  const a = canonAddr(r.address);
  return { name: shortId('r', `dr ${fam} ${a} ${r.port}`), key: `${fam} ${a} ${r.port}` };
}

const empty = (family: GenericTable['family'], name?: string): GenericTable => ({
  family,
  ...(name ? { name } : {}),
  counters: new Set(),
  maps: new Map(),
  elements: new Map(),
  quoted: new Set(),
  chains: new Map(),
  prune: [],
});

/** The per-service chain's rule and its two slot maps, added to `g`; `fwd` says how to send. */
function serviceChain(
  g: GenericTable,
  v: VirtualServerConfig,
  rot: RotationEntry[],
  id: string,
  send: (fam: NftFamily, map: string) => string,
): void {
  const fam = famOf(v);
  const proto = v.protocol.toLowerCase();
  const addrT = fam === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const t = shortId('t', `${v.key} dr mark ${addrT}`);
  const c = shortId('c', `${v.key} dr mark counter`);
  const slots = slotTable(v.sched, rot);
  const kind = selectorKind(v.sched);
  const seed = `0x${createHash('sha1').update(v.key).digest('hex').slice(0, 8)}`;
  const key =
    kind === 'daddr'
      ? `${fam} daddr`
      : kind === 'saddr' && !v.hashPort
        ? `${fam} saddr`
        : `${fam} saddr . ${proto} sport`;
  g.maps.set(t, `type mark : ${addrT};`);
  g.maps.set(c, 'type mark : counter;');
  g.quoted.add(c);
  g.elements.set(t, new Map(slots.map((s, i) => [String(i), canonAddr(s.address)] as const)));
  g.elements.set(c, new Map(slots.map((s, i) => [String(i), drCounter(fam, s).name] as const)));
  for (const r of [...v.realServers, ...(v.sorry ? [v.sorry] : [])]) g.counters.add(drCounter(fam, r).name);
  const sel = `meta mark set jhash ${key} mod ${Math.max(1, slots.length)} seed ${seed}`;
  g.chains.set(id, {
    rules: slots.length ? [`meta l4proto ${proto} ${sel} counter name meta mark map @${c} ${send(fam, t)}`] : [],
  });
}

/**
 * The DR tables: `netdev floatd_lb` for address services, `ip|ip6 floatd_lbdr` for fwmark ones.
 * `devices`: virtual server key → the interface its real servers are reached on.
 */
export function drTables(
  vss: VirtualServerConfig[],
  rotations: Map<string, RotationEntry[]>,
  devices: Map<string, string>,
): GenericTable[] {
  const nd = empty('netdev');
  const marks = new Map<NftFamily, GenericTable>();
  const disp = { ip: new Map<string, string>(), ip6: new Map<string, string>() };
  for (const v of vss) {
    const dev = devices.get(v.key);
    if (!dev) continue;
    const fam = famOf(v);
    const rot = rotations.get(v.key) ?? [];
    if (v.fwmarks.length) {
      let g = marks.get(fam);
      if (!g) {
        g = empty(fam, DR_MARK_TABLE);
        g.maps.set('drm', 'type mark : verdict;');
        g.elements.set('drm', new Map());
        g.chains.set('drpre', {
          decl: 'type filter hook prerouting priority -140; policy accept;',
          rules: ['meta mark vmap @drm'],
        });
        marks.set(fam, g);
      }
      const id = `m_${shortId('', v.key)}`;
      serviceChain(g, v, rot, id, (f, t) => `dup to meta mark map @${t} device "${dev}" drop`);
      for (const m of v.fwmarks) g.elements.get('drm')!.set(String(m), `jump ${id}`);
    }
    if (!v.endpoints.length) continue;
    const id = `d_${shortId('', v.key)}`;
    serviceChain(nd, v, rot, id, (f, t) => `fwd ${f} to meta mark map @${t} device "${dev}"`);
    for (const e of v.endpoints)
      disp[fam].set(`${canonAddr(e.address)} . ${v.protocol.toLowerCase()} . ${e.port}`, `jump ${id}`);
    nd.chains.set(`ing_${chainPart(dev)}`, {
      decl: `type filter hook ingress device "${dev}" priority -500; policy accept;`,
      rules: [],
    });
  }
  const dispMaps = [
    ['ip', 'drdisp', 'ipv4_addr'],
    ['ip6', 'drdisp6', 'ipv6_addr'],
  ] as const;
  for (const [fam, m, addrT] of dispMaps)
    if (disp[fam].size) {
      nd.maps.set(m, `type ${addrT} . inet_proto . inet_service : verdict;`);
      nd.elements.set(m, disp[fam]);
    }
  const ingress = dispMaps
    .filter(([fam]) => disp[fam].size)
    .map(([fam, m]) => `${fam} daddr . meta l4proto . th dport vmap @${m}`);
  for (const [name, c] of nd.chains) if (name.startsWith('ing_')) c.rules = ingress;
  return [...(nd.chains.size ? [nd] : []), ...marks.values()];
}

/** Counter name → the key `LbBackend.counters` reports ("ip 203.0.113.11 80"), per DR table. */
export function drCounterKeys(vss: VirtualServerConfig[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of vss.filter((x) => x.method === 'DR'))
    for (const r of [...v.realServers, ...(v.sorry ? [v.sorry] : [])]) {
      const c = drCounter(famOf(v), r);
      out.set(c.name, c.key);
    }
  return out;
}
