/**
 * Direct routing (LVS-DR) on nftables (pure): a `netdev floatd_lb` table whose ingress chain,
 * one per interface, sends a packet for a virtual service to a real server's MAC address
 * unchanged (`fwd ip to ADDRESS device DEV`: the kernel resolves the neighbour). The real
 * servers hold the virtual address on their loopback (ARP suppressed) and answer the client
 * directly. Ingress runs before conntrack, so the slot is chosen per packet by a hash of the
 * flow (client address and port; sh/mh: the client address; dh: the destination): every
 * packet of a connection goes to the same server, and rr/wrr spread by the hash's statistics,
 * not in strict turn. Only IPv4 address services (the config refuses the rest).
 */
import { createHash } from 'node:crypto';
import type { VirtualServerConfig } from '../config/lvs-model.js';
import type { RotationEntry } from './membership.js';
import { canonAddr, shortId } from './nft-plan.js';
import type { GenericTable } from './nft-diff.js';
import { selectorKind, slotTable } from './slots.js';

/** An interface name as an nft chain name part. */
const chainPart = (dev: string): string => dev.replace(/[^A-Za-z0-9_]/g, '_');

/** `devices`: virtual server key → the interface its real servers are reached on. */
export function drTable(
  vss: VirtualServerConfig[],
  rotations: Map<string, RotationEntry[]>,
  devices: Map<string, string>,
): GenericTable {
  const g: GenericTable = {
    family: 'netdev',
    counters: new Set(),
    maps: new Map([['drdisp', 'type ipv4_addr . inet_proto . inet_service : verdict;']]),
    elements: new Map(),
    quoted: new Set(),
    chains: new Map(),
    prune: [],
  };
  const disp = new Map<string, string>();
  for (const v of vss) {
    const dev = devices.get(v.key);
    if (!dev) continue;
    const id = `d_${shortId('', v.key)}`;
    const proto = v.protocol.toLowerCase();
    const slotMap = shortId('t', `${v.key} dr`);
    const slots = slotTable(v.sched, rotations.get(v.key) ?? []).map((r) => canonAddr(r.address));
    const n = Math.max(1, slots.length);
    const kind = selectorKind(v.sched);
    const seed = `0x${createHash('sha1').update(v.key).digest('hex').slice(0, 8)}`;
    const key =
      kind === 'daddr' ? 'ip daddr' : kind === 'saddr' && !v.hashPort ? 'ip saddr' : `ip saddr . ${proto} sport`;
    g.maps.set(slotMap, 'typeof numgen inc mod 2 : ip daddr;');
    g.elements.set(slotMap, new Map(slots.map((s, i) => [String(i), s] as const)));
    g.chains.set(id, {
      rules: slots.length
        ? [`meta l4proto ${proto} fwd ip to jhash ${key} mod ${n} seed ${seed} map @${slotMap} device "${dev}"`]
        : [],
    });
    for (const e of v.endpoints) disp.set(`${canonAddr(e.address)} . ${proto} . ${e.port}`, `jump ${id}`);
    const ing = `ing_${chainPart(dev)}`;
    g.chains.set(ing, {
      decl: `type filter hook ingress device "${dev}" priority -500; policy accept;`,
      rules: ['ip daddr . meta l4proto . th dport vmap @drdisp'],
    });
  }
  g.elements.set('drdisp', disp);
  return g;
}
