/**
 * Scenarios for the shipped-composition simulator: sim.ts's generator (same seeds, same network
 * and node disturbances), extended with what only the shipped composition has:
 * - weighted trackers: a vrrp_script (weight ±20..120, run by an in-memory runner) and a
 *   vrrp_track_file (weight 1..20, read from an in-memory file); sim.ts's `priority`
 *   disturbance flips the script's result or writes a new file value, so the effective priority
 *   moves through the real TrackerSet and preemption follows;
 * - one interface per instance (VI_1 eth0, VI_2 eth1, VI_3 eth2), so a `fault` is that
 *   instance's interface going down (FAULT for it, and for its sync group), not the node's;
 * - a third, independent instance (VRID 53, its own priority) in a quarter of the scenarios;
 * - a VRRP socket that fails to open the first 1-2 times after each boot (the runtime's
 *   backoff retry: 1 s, then 2 s).
 */
import { prng, generate, settleBoundUs, type Disturbance, type SimScenario } from './sim.js';
import type { InstanceParams } from '../../src/vrrp/fsm.js';

/** What a node's configuration adds to sim.ts's NodeSpec. */
export interface NodeExtra {
  /** vrrp_script chk's weight (0: no script). */
  scriptWeight: number;
  /** vrrp_track_file tf's weight (0: no file). */
  fileWeight: number;
  /** The instance whose socket fails to open, and how many times after each boot. */
  socketFails?: { instance: string; times: number };
}

/** A disturbance the shipped simulator adds: the tracked script's result or the tracked file's value. */
export type TrackDisturbance =
  { kind: 'script'; node: string; ok: boolean } | { kind: 'file'; node: string; value: number };

export interface ShippedScenario extends SimScenario {
  extra: Record<string, NodeExtra>;
  /** Interface of each instance name. */
  ifaces: Record<string, string>;
  /** Time added to sim.ts's settle bound: a check interval or file poll, the socket retries. */
  extraSettleUs: number;
  /** Disturbances replaced by shipped ones (same time, same index in the timeline). */
  track: Map<number, TrackDisturbance>;
}

/** vrrp_script interval and track_file poll in the generated configurations. */
export const SCRIPT_INTERVAL_US = 2_000_000;
export const FILE_POLL_US = 2_000_000;
const IFACES: Record<string, string> = { VI_1: 'eth0', VI_2: 'eth1', VI_3: 'eth2' };

export function generateShipped(seed: number): ShippedScenario {
  const sc = generate(seed);
  const r = prng(seed ^ 0x2545f491);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  // A third instance, independent of any sync group, with its own priority order.
  if (r() < 0.25) {
    for (const n of sc.nodes) {
      const b = n.instances[0]!;
      const own = b.priority === 255;
      const p: InstanceParams = { ...b, name: 'VI_3', vrid: 53, priority: own ? 255 : int(1, 254) };
      n.instances.push(p);
    }
  }
  const extra: Record<string, NodeExtra> = {};
  for (const n of sc.nodes) {
    const scriptWeight = r() < 0.6 ? (r() < 0.5 ? -1 : 1) * int(20, 120) : 0;
    const fileWeight = r() < 0.4 ? int(1, 20) : 0;
    const e: NodeExtra = { scriptWeight, fileWeight };
    if (r() < 0.15) e.socketFails = { instance: n.instances[int(0, n.instances.length - 1)]!.name, times: int(1, 2) };
    extra[n.name] = e;
  }
  // Faults are per instance (its interface); re-derive fault/recover so each pair makes sense
  // for the instance it now names (a third instance takes some of them).
  const down = new Set<string>();
  const track = new Map<number, TrackDisturbance>();
  const scriptOk = new Map<string, boolean>();
  sc.timeline = sc.timeline.map((e, i): { at: number; d: Disturbance } => {
    const d = e.d;
    if (d.kind === 'fault' || d.kind === 'recover') {
      const n = sc.nodes.find((x) => x.name === d.node)!;
      const inst = n.instances.length > 2 && r() < 0.4 ? 'VI_3' : d.instance;
      const key = `${d.node}/${inst}`;
      const kind = down.has(key) ? 'recover' : 'fault';
      if (kind === 'fault') down.add(key);
      else down.delete(key);
      return { at: e.at, d: { kind, node: d.node, instance: inst } };
    }
    if (d.kind === 'priority') {
      const x = extra[d.node]!;
      if (x.scriptWeight !== 0 && (x.fileWeight === 0 || r() < 0.5)) {
        const ok = !(scriptOk.get(d.node) ?? true);
        scriptOk.set(d.node, ok);
        track.set(i, { kind: 'script', node: d.node, ok });
      } else if (x.fileWeight !== 0) {
        const lim = Math.floor(150 / x.fileWeight);
        track.set(i, {
          kind: 'file',
          node: d.node,
          value: Math.max(-lim, Math.min(lim, Math.round(d.delta / x.fileWeight))),
        });
      }
    }
    return e;
  });
  const anyTrack = Object.values(extra).some((x) => x.scriptWeight !== 0 || x.fileWeight !== 0);
  const sockUs = Math.max(0, ...Object.values(extra).map((x) => (x.socketFails ? 2 ** x.socketFails.times - 1 : 0)));
  const ifaces = Object.fromEntries(
    [...new Set(sc.nodes.flatMap((n) => n.instances.map((p) => p.name)))].map((nm) => [nm, IFACES[nm] ?? 'eth0']),
  );
  const extraSettleUs = (anyTrack ? Math.max(FILE_POLL_US, SCRIPT_INTERVAL_US) : 0) + sockUs * 1_000_000;
  const out: ShippedScenario = { ...sc, extra, ifaces, extraSettleUs, track };
  out.endUs = Math.max(sc.endUs, (sc.timeline.at(-1)?.at ?? 0) + settleBoundUs(sc) + extraSettleUs + 5_000_000);
  return out;
}

/**
 * The effective priority a node's instance should have: keepalived's arithmetic on the sim's
 * own truth (script result, file value), clamped to 1..254; an owner's weights are dropped.
 */
export function expectedPriority(base: number, x: NodeExtra, scriptOk: boolean, fileValue: number): number {
  if (base === 255) return 255;
  let delta = 0;
  if (x.scriptWeight > 0 && scriptOk) delta += x.scriptWeight;
  if (x.scriptWeight < 0 && !scriptOk) delta += x.scriptWeight;
  if (x.fileWeight !== 0) delta += fileValue * x.fileWeight;
  return Math.max(1, Math.min(254, base + delta));
}
