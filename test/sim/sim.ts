/**
 * Randomized many-node VRRP simulation: a seeded scenario generator, a network with
 * per-link loss, delay/jitter and partitions, crashes/restarts, tracking faults and
 * priority changes, and the property checker (docs/state-machine.md, "What the simulator
 * proves"). Everything is derived from one 32-bit seed, so a failure replays exactly.
 */
import type { InstanceParams, VrrpState } from '../../src/vrrp/fsm.js';
import { masterDownUs, skewUs, US_PER_CS } from '../../src/vrrp/timers.js';
import { World, type NodeSpec } from './world.js';

/** splitmix32-style PRNG: tiny, fast, good enough for test generation. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

export type Disturbance =
  | { kind: 'start'; node: string }
  | { kind: 'crash'; node: string }
  | { kind: 'restart'; node: string }
  | { kind: 'shutdown'; node: string }
  | { kind: 'partition'; sides: string[][] }
  | { kind: 'heal' }
  | { kind: 'lossStart'; links: Array<[string, string]>; p: number }
  | { kind: 'lossEnd' }
  | { kind: 'fault'; node: string; instance: string }
  | { kind: 'recover'; node: string; instance: string }
  | { kind: 'priority'; node: string; delta: number }
  | { kind: 'vipRemoved'; node: string; instance: string };

export interface SimScenario {
  seed: number;
  version: 2 | 3;
  family: 4 | 6;
  nodes: NodeSpec[];
  baseDelayUs: number;
  jitterUs: number;
  timeline: Array<{ at: number; d: Disturbance }>;
  endUs: number;
}

export interface SimResult {
  ok: boolean;
  failures: string[];
  checks: number;
  /** Of which: post-heal dual-MASTER checks. */
  healChecks: number;
  transitions: number;
}

function address(family: 4 | 6, i: number): string {
  return family === 4 ? `192.0.2.${10 + i}` : `2001:db8::${(10 + i).toString(16)}`;
}

export function generate(seed: number): SimScenario {
  const r = prng(seed);
  const version: 2 | 3 = r() < 0.5 ? 2 : 3;
  const family: 4 | 6 = version === 3 && r() < 0.3 ? 6 : 4;
  const n = int(r, 2, 5);
  const sync = r() < 0.2;
  const v2Interval = pick(r, [100, 100, 200]);
  const owner = r() < 0.15 ? int(r, 0, n - 1) : -1;
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < n; i++) {
    const isOwner = i === owner;
    const priority = isOwner
      ? 255
      : r() < 0.15 && i > 0
        ? nodes[0]!.instances[0]!.priority === 255
          ? 200
          : nodes[0]!.instances[0]!.priority
        : int(r, 1, 254);
    const base: Omit<InstanceParams, 'name' | 'vrid'> = {
      version,
      family,
      priority,
      initialState: isOwner || r() < 0.3 ? 'MASTER' : 'BACKUP',
      advertIntervalCs: version === 2 ? v2Interval : pick(r, [50, 100, 100, 200]),
      preempt: isOwner || r() >= 0.12,
      preemptDelayUs: !isOwner && r() < 0.12 ? int(r, 1, 30) * 100_000 : 0,
      downTimerAdverts: r() < 0.2 ? 2 : 3,
      myAddress: address(family, i),
      lowerPrioNoAdvert: r() < 0.2,
      higherPrioSendAdvert: r() < 0.2,
      garpMasterDelayUs: r() < 0.5 ? 5_000_000 : 0,
      garpMasterRefreshUs: r() < 0.2 ? 3_000_000 : 0,
    };
    // keepalived clears nopreempt/preempt_delay with state MASTER.
    if (base.initialState === 'MASTER') {
      base.preempt = true;
      base.preemptDelayUs = 0;
    }
    const instances: InstanceParams[] = [{ ...base, name: 'VI_1', vrid: 51 }];
    if (sync) instances.push({ ...base, name: 'VI_2', vrid: 52 });
    nodes.push({ name: `n${i}`, instances, groups: sync ? [{ name: 'G', members: ['VI_1', 'VI_2'] }] : [] });
  }
  const names = nodes.map((x) => x.name);
  const timeline: SimScenario['timeline'] = [];
  for (const nm of names)
    timeline.push({ at: r() < 0.5 ? 0 : int(r, 0, 20) * 100_000, d: { kind: 'start', node: nm } });
  // Disturbances, each at a random time; state is tracked so each one makes sense.
  const up = new Set(names);
  const faulted = new Set<string>();
  let partitioned = false;
  let lossy = false;
  let t = 2_000_000;
  const k = int(r, 0, 10);
  for (let i = 0; i < k; i++) {
    // Mostly long gaps (so settle checks run), sometimes short ones (overlapping windows).
    t += r() < 0.7 ? int(r, 8, 20) * 1_000_000 : int(r, 1, 30) * 100_000;
    const node = pick(r, names);
    const inst = pick(r, nodes.find((x) => x.name === node)!.instances).name;
    const choice = int(r, 0, 10);
    let d: Disturbance;
    if (choice === 0) d = up.has(node) ? { kind: 'crash', node } : { kind: 'restart', node };
    else if (choice === 1) d = up.has(node) ? { kind: 'shutdown', node } : { kind: 'restart', node };
    else if (choice === 2) {
      if (partitioned) d = { kind: 'heal' };
      else {
        const shuffled = [...names].sort(() => r() - 0.5);
        const cut = int(r, 1, names.length - 1);
        d = { kind: 'partition', sides: [shuffled.slice(0, cut), shuffled.slice(cut)] };
      }
    } else if (choice === 3) {
      if (lossy) d = { kind: 'lossEnd' };
      else {
        const links: Array<[string, string]> = [];
        for (const a of names) for (const b of names) if (a !== b && r() < 0.5) links.push([a, b]);
        d = { kind: 'lossStart', links, p: pick(r, [0.1, 0.3, 0.6, 1]) };
      }
    } else if (choice <= 6) {
      const key = `${node}/${inst}`;
      d = faulted.has(key) ? { kind: 'recover', node, instance: inst } : { kind: 'fault', node, instance: inst };
    } else if (choice <= 9) d = { kind: 'priority', node, delta: int(r, -120, 120) };
    else d = { kind: 'vipRemoved', node, instance: inst };
    if (d.kind === 'crash' || d.kind === 'shutdown') up.delete(node);
    if (d.kind === 'restart') {
      up.add(node);
      for (const x of [...faulted]) if (x.startsWith(`${node}/`)) faulted.delete(x);
    }
    if (d.kind === 'fault') faulted.add(`${node}/${d.instance}`);
    if (d.kind === 'recover') faulted.delete(`${node}/${d.instance}`);
    if (d.kind === 'partition') partitioned = true;
    if (d.kind === 'heal') partitioned = false;
    if (d.kind === 'lossStart') lossy = true;
    if (d.kind === 'lossEnd') lossy = false;
    timeline.push({ at: t, d });
  }
  // Finish on a clean network so the final segment is always checked.
  t += int(r, 1, 10) * 1_000_000;
  if (partitioned) timeline.push({ at: t, d: { kind: 'heal' } });
  if (lossy) timeline.push({ at: t, d: { kind: 'lossEnd' } });
  timeline.sort((a, b) => a.at - b.at);
  const sc: SimScenario = {
    seed,
    version,
    family,
    nodes,
    baseDelayUs: int(r, 0, 2000),
    jitterUs: int(r, 0, 1000),
    timeline,
    endUs: 0,
  };
  sc.endUs = t + settleBoundUs(sc) + 5_000_000;
  return sc;
}

/** Largest one-way delay. */
export function maxDelayUs(sc: SimScenario): number {
  return sc.baseDelayUs + sc.jitterUs;
}

function allParams(sc: SimScenario): InstanceParams[] {
  return sc.nodes.flatMap((n) => n.instances);
}

export function maxAdvertUs(sc: SimScenario): number {
  return Math.max(...allParams(sc).map((p) => p.advertIntervalCs)) * US_PER_CS;
}

/**
 * Settle bound B after the last disturbance on a connected loss-free network.
 * Without preempt_delay: the highest-priority eligible node H, if BACKUP, never accepts a
 * lower advert, so its down timer (last set at most one max delay d after the disturbance)
 * expires within MDI_max; its first advert reaches the others within d. So MDI_max + 2d,
 * plus one advert interval of slack (v3 interval adoption, timer granularity).
 * With preempt_delay: H may first have to wait for some master to appear (MDI_max + d),
 * accepts lower adverts for the delay (PD_max), then waits its down interval (MDI_max).
 * Sync groups add one re-arm (advert interval + largest skew) while siblings catch up.
 */
export function settleBoundUs(sc: SimScenario): number {
  const ps = allParams(sc);
  const advMaxCs = Math.max(...ps.map((p) => p.advertIntervalCs));
  const dta = Math.max(...ps.map((p) => p.downTimerAdverts));
  const mdi = masterDownUs(sc.version, 1, advMaxCs, dta);
  const pd = Math.max(...ps.map((p) => p.preemptDelayUs));
  const sync = sc.nodes.some((n) => (n.groups ?? []).length > 0);
  const d = maxDelayUs(sc);
  return (
    mdi +
    advMaxCs * US_PER_CS +
    2 * d +
    (pd > 0 ? mdi + pd + d : 0) +
    (sync ? advMaxCs * US_PER_CS + skewUs(sc.version, 1, advMaxCs) : 0)
  );
}

/** Heal bound H: the winner's next advert is sent within one interval and arrives within max delay. */
export function healBoundUs(sc: SimScenario): number {
  return maxAdvertUs(sc) + maxDelayUs(sc);
}

/** A stretch of the timeline between two disturbances, with the network's condition during it. */
export interface Segment {
  start: number;
  end: number;
  /** Connected and loss-free. */
  clean: boolean;
  partitioned: boolean;
  /** It starts with a heal. */
  afterHeal: boolean;
  /** The length of the segment before. */
  prevLen: number;
  /** The segment before was partitioned without loss (each side could settle). */
  prevSettledSides: boolean;
}

/** The timeline cut at each disturbance (the property windows of both simulators). */
export function segments(sc: Pick<SimScenario, 'timeline' | 'endUs'>): Segment[] {
  const times = [...new Set(sc.timeline.map((e) => e.at))].sort((a, b) => a - b);
  const segs: Segment[] = [];
  let part = false,
    lossOn = false,
    prevLen = 0,
    prevSettledSides = false;
  for (let i = 0; i < times.length; i++) {
    const start = times[i]!;
    const end = i + 1 < times.length ? times[i + 1]! : sc.endUs;
    let healed = false;
    for (const e of sc.timeline)
      if (e.at === start) {
        if (e.d.kind === 'partition') part = true;
        if (e.d.kind === 'heal') {
          part = false;
          healed = true;
        }
        if (e.d.kind === 'lossStart') lossOn = true;
        if (e.d.kind === 'lossEnd') lossOn = false;
      }
    segs.push({ start, end, clean: !part && !lossOn, partitioned: part, afterHeal: healed, prevLen, prevSettledSides });
    prevLen = end - start;
    prevSettledSides = part && !lossOn;
  }
  return segs;
}

/**
 * What a settled VRID must show, B µs after a disturbance on a clean network (both simulators check
 * it): one MASTER while any node is eligible (none otherwise), the VIP on at most one node, and, with
 * every instance preempting, a MASTER of the highest effective priority. The failures, as text.
 */
export function settledFailures(
  vrid: number,
  eligible: { node: string; prio: number }[],
  masters: string[],
  holders: string[],
  preempting: boolean,
): string[] {
  const out: string[] = [];
  if (masters.length !== (eligible.length > 0 ? 1 : 0))
    out.push(
      `VRID ${vrid}: ${masters.length} MASTERs (${masters.join(',')}); ` +
        `eligible ${eligible.map((x) => `${x.node}:${x.prio}`).join(',')}`,
    );
  if (holders.length > 1) out.push(`VRID ${vrid}: VIP held by ${holders.join(',')}`);
  if (preempting && eligible.length > 0 && masters.length === 1) {
    // Highest effective priority wins. Among equal priorities a BACKUP accepts the sitting MASTER
    // (no address tie-break in BACKUP, RFC 3768 6.4.2), so the address only decides between
    // simultaneous MASTERs: any of the tied nodes may hold it.
    const best = Math.max(...eligible.map((x) => x.prio));
    const mine = eligible.find((x) => x.node === masters[0]);
    if (!mine || mine.prio !== best)
      out.push(`VRID ${vrid}: MASTER is ${masters[0]} (prio ${mine?.prio}) but the highest priority is ${best}`);
  }
  return out;
}

/**
 * The simulated network: partitions and per-link loss as the timeline sets them, and each
 * advert's delay through it (base delay and jitter, drawn from the scenario's generator).
 */
export class SimNetwork {
  private sides: string[][] = [];
  private loss: { links: Set<string>; p: number } | undefined;

  constructor(
    private readonly sc: Pick<SimScenario, 'baseDelayUs' | 'jitterUs'>,
    private readonly r: Rng,
  ) {}

  /** Takes a network disturbance (partition, heal, loss start/end); false for any other kind. */
  apply(d: Disturbance): boolean {
    if (d.kind === 'partition') this.sides = d.sides;
    else if (d.kind === 'heal') this.sides = [];
    else if (d.kind === 'lossStart') this.loss = { links: new Set(d.links.map(([a, b]) => `${a}>${b}`)), p: d.p };
    else if (d.kind === 'lossEnd') this.loss = undefined;
    else return false;
    return true;
  }

  /** µs for an advert from `from` to reach `to`; undefined: dropped (another side, or lost). */
  delay(from: string, to: string): number | undefined {
    if (this.sides.length > 0 && !this.sides.some((s) => s.includes(from) && s.includes(to))) return undefined;
    if (this.loss && this.loss.links.has(`${from}>${to}`) && this.r() < this.loss.p) return undefined;
    return this.sc.baseDelayUs + (this.sc.jitterUs > 0 ? Math.floor(this.r() * (this.sc.jitterUs + 1)) : 0);
  }
}

export function runSim(sc: SimScenario, log?: (s: string) => void): SimResult {
  const r = prng(sc.seed ^ 0x5bd1e995);
  const net = new SimNetwork(sc, r);
  const failures: string[] = [];
  let checks = 0;
  let healChecks = 0;
  const world = new World((from, to) => net.delay(from, to));
  const fail = (msg: string): void => {
    if (failures.length < 5) failures.push(`t=${world.now}µs: ${msg}`);
  };
  for (const n of sc.nodes) world.addNode(n);
  const deltas = new Map<string, number>();

  // Invariants after every step: VIP held exactly while MASTER; never in FAULT.
  world.onStep = (w, node) => {
    const v = w.node(node);
    for (const p of w.spec(node)!.instances) {
      const st: VrrpState | undefined = v?.instance(p.name)?.state;
      const held = w.holdsVip(node, p.name);
      if (st === 'FAULT' && held) fail(`${node}/${p.name} holds the VIP in FAULT`);
      if (held !== (st === 'MASTER')) fail(`${node}/${p.name} VIP held=${held} but state ${st ?? 'DOWN'}`);
    }
  };

  for (const e of sc.timeline) {
    world.at(e.at, () => {
      const d = e.d;
      log?.(`${e.at}µs ${JSON.stringify(d)}`);
      if (net.apply(d)) return;
      switch (d.kind) {
        case 'start':
          world.inject(d.node, { type: 'start' });
          break;
        case 'crash':
          world.crash(d.node);
          break;
        case 'restart':
          world.restart(d.node);
          break;
        case 'shutdown':
          world.inject(d.node, { type: 'shutdown' });
          world.crash(d.node);
          break;
        case 'fault':
          world.inject(
            d.node,
            { type: 'tracking', priorityDelta: deltas.get(d.node) ?? 0, faults: ['chk'], reason: 'check failed' },
            d.instance,
          );
          break;
        case 'recover':
          world.inject(
            d.node,
            { type: 'tracking', priorityDelta: deltas.get(d.node) ?? 0, faults: [], reason: 'check ok' },
            d.instance,
          );
          break;
        case 'priority': {
          deltas.set(d.node, d.delta);
          for (const p of world.spec(d.node)!.instances) {
            const faults = world.node(d.node)?.instance(p.name)?.faults ?? [];
            world.inject(
              d.node,
              { type: 'tracking', priorityDelta: d.delta, faults: [...faults], reason: 'weight' },
              p.name,
            );
          }
          break;
        }
        case 'vipRemoved':
          world.inject(d.node, { type: 'vipRemovedExternally' }, d.instance);
          break;
      }
    });
  }
  const B = settleBoundUs(sc);
  const H = healBoundUs(sc);
  const anyNopreempt = allParams(sc).some((p) => !p.preempt);
  const vrids = [...new Set(allParams(sc).map((p) => p.vrid))];

  const eligible = (vrid: number): Array<{ node: string; prio: number; addr: string }> => {
    const out: Array<{ node: string; prio: number; addr: string }> = [];
    for (const node of world.nodeNames()) {
      const v = world.node(node);
      const p = world.spec(node)!.instances.find((x) => x.vrid === vrid);
      const inst = p && v?.instance(p.name);
      if (inst && !inst.faulted && inst.state !== 'STOP' && inst.state !== 'INIT')
        out.push({ node, prio: inst.effectivePriority, addr: p.myAddress });
    }
    return out;
  };
  const masters = (vrid: number): string[] =>
    world.nodeNames().filter((node) => {
      const p = world.spec(node)!.instances.find((x) => x.vrid === vrid);
      return p !== undefined && world.node(node)?.instance(p.name)?.state === 'MASTER';
    });
  const holders = (vrid: number): string[] =>
    world.nodeNames().filter((node) => {
      const p = world.spec(node)!.instances.find((x) => x.vrid === vrid);
      return p !== undefined && world.holdsVip(node, p.name);
    });

  for (const seg of segments(sc)) {
    if (seg.afterHeal && seg.clean && seg.prevSettledSides && seg.prevLen > B && seg.end - seg.start > H + 1) {
      world.at(seg.start + H + 1, () => {
        for (const vrid of vrids) {
          checks++;
          healChecks++;
          const m = masters(vrid);
          if (m.length > 1)
            fail(`VRID ${vrid}: ${m.length} MASTERs (${m.join(',')}) ${H + 1}µs after the heal (bound ${H}µs)`);
        }
      });
    }
    if (!seg.clean || seg.end - seg.start <= B) continue;
    const checkAt = seg.start + B;
    let baseline = 0;
    world.at(checkAt, () => {
      baseline = world.transitions.length;
      for (const vrid of vrids) {
        checks++;
        const why = settledFailures(vrid, eligible(vrid), masters(vrid), holders(vrid), !anyNopreempt);
        for (const w of why) fail(`${w} (${B}µs after the disturbance at ${seg.start}µs)`);
      }
    });
    // Steady state: nothing changes between checkAt and the next disturbance.
    world.at(seg.end - 1, () => {
      checks++;
      const extra = world.transitions.slice(baseline).filter((x) => x.at > checkAt && x.at < seg.end);
      if (extra.length > 0) {
        const x = extra[0]!;
        fail(
          `steady state changed: ${x.node}/${x.instance} ${x.from}->${x.to} (${x.kind}) at ${x.at}µs, quiet since ` +
            `${seg.start}µs`,
        );
      }
      for (const vrid of vrids)
        if (holders(vrid).length > 1)
          fail(`VRID ${vrid}: VIP held by ${holders(vrid).join(',')} at end of quiet segment`);
    });
  }

  world.runUntil(sc.endUs);
  if (log)
    for (const x of world.transitions)
      log(`  ${x.at}µs ${x.node}/${x.instance} ${x.from}->${x.to} ${x.kind}: ${x.text}`);
  return { ok: failures.length === 0, failures, checks, healChecks, transitions: world.transitions.length };
}
