/**
 * The simulator on the SHIPPED composition: each node is a real Runtime (src/daemon/runtime.ts:
 * mapping, executor, advert framing and validation, FSM) started from a generated
 * keepalived.conf, wired to in-memory ports — sockets on a simulated network carrying the
 * real advert bytes, a dataplane holding addresses, a link watch, and one virtual µs clock.
 * Scenarios come from shipped-gen.ts (sim.ts's generator and seeds, plus weighted trackers,
 * per-instance interfaces, a third instance, sockets that fail to open); the properties are
 * sim.ts's plus the shipped ones (see runShipped). Other ports (e.g. quorum) plug in through
 * ShippedOptions: extra runtime options per host, extra configuration, extra checks.
 */
import { pino } from 'pino';
import { EventEmitter } from 'node:events';
import { parseConfigText } from '../../src/config/index.js';
import { Runtime, type RuntimeOptions } from '../../src/daemon/runtime.js';
import { Executor, type ExecutorDeps } from '../../src/daemon/executor.js';
import type { DataplanePort, LinkWatchPort } from '../../src/daemon/ports.js';
import type { VrrpPacket, VrrpSocket, VrrpSocketOptions } from '../../src/net/vrrp-socket.js';
import type { Clock, TimerHandle } from '../../src/util/clock.js';
import type { InstanceParams } from '../../src/vrrp/fsm.js';
import { VirtualUsClock } from '../support/virtual-us-clock.js';
import {
  prng,
  segments,
  settledFailures,
  settleBoundUs,
  healBoundUs,
  SimNetwork,
  type SimScenario,
  type SimResult,
} from './sim.js';
import type { NodeSpec } from './world.js';
import {
  expectedPriority,
  generateShipped,
  SCRIPT_INTERVAL_US,
  type NodeExtra,
  type ShippedScenario,
} from './shipped-gen.js';
import type { RunResult } from '../../src/util/run-script.js';

const silent = pino({ level: 'silent' });

/** keepalived.conf for one simulated node. */
export function nodeConfig(n: NodeSpec, sc: SimScenario | ShippedScenario): string {
  const x = 'extra' in sc ? sc.extra[n.name] : undefined;
  const ifOf = (p: InstanceParams): string => ('ifaces' in sc ? sc.ifaces[p.name] : undefined) ?? 'eth0';
  // A sync-group member's weights would be dropped (keepalived, without sync_group_tracking_weight,
  // which floatd does not honour yet): members track the script as a fault trigger (weight 0).
  const inGroup = (p: InstanceParams): boolean => (n.groups ?? []).some((g) => g.members.includes(p.name));
  const tracks = (p: InstanceParams): string[] => [
    ...(x && x.scriptWeight !== 0 ? [`  track_script {\n    chk weight ${inGroup(p) ? 0 : x.scriptWeight}\n  }`] : []),
    ...(x && x.fileWeight !== 0 && !inGroup(p) ? [`  track_file {\n    tf weight ${x.fileWeight}\n  }`] : []),
  ];
  const inst = (p: InstanceParams): string =>
    [
      `vrrp_instance ${p.name} {`,
      `  interface ${ifOf(p)}`,
      `  state ${p.initialState}`,
      `  virtual_router_id ${p.vrid}`,
      `  priority ${p.priority}`,
      `  version ${p.version}`,
      `  advert_int ${p.advertIntervalCs / 100}`,
      ...(p.preempt ? [] : ['  nopreempt']),
      ...(p.preemptDelayUs > 0 ? [`  preempt_delay ${p.preemptDelayUs / 1e6}`] : []),
      `  down_timer_adverts ${p.downTimerAdverts}`,
      `  lower_prio_no_advert ${p.lowerPrioNoAdvert}`,
      `  higher_prio_send_advert ${p.higherPrioSendAdvert}`,
      `  garp_master_delay ${p.garpMasterDelayUs / 1e6}`,
      `  garp_master_refresh ${p.garpMasterRefreshUs / 1e6}`,
      `  virtual_ipaddress { ${vipOf(sc.family, p.vrid)}/${sc.family === 4 ? 24 : 64} dev ${ifOf(p)} }`,
      ...tracks(p),
      '}',
    ].join('\n');
  const groups = (n.groups ?? []).map(
    (g) => `vrrp_sync_group ${g.name} {\n  group {\n    ${g.members.join('\n    ')}\n  }\n}`,
  );
  const defs = [
    ...(x && x.scriptWeight !== 0
      ? [`vrrp_script chk {\n  script "/sim/chk"\n  interval ${SCRIPT_INTERVAL_US / 1e6}\n  rise 1\n  fall 1\n}`]
      : []),
    ...(x && x.fileWeight !== 0 ? ['vrrp_track_file tf {\n  file "/sim/tf"\n}'] : []),
  ];
  return [`global_defs {\n  router_id ${n.name}\n}`, ...defs, ...n.instances.map(inst), ...groups].join('\n');
}

export function vipOf(family: 4 | 6, vrid: number): string {
  return family === 4 ? `203.0.113.${vrid}` : `2001:db8:1::${vrid}`;
}

/** A per-node view of the shared clock: a crashed node's timers all die with it. */
export class NodeClock implements Clock {
  private readonly mine = new Set<number>();
  dead = false;
  constructor(private readonly c: VirtualUsClock) {}
  nowUs(): number {
    return this.c.nowUs();
  }
  wallMs(): number {
    return this.c.wallMs();
  }
  at(atUs: number, fn: () => void): TimerHandle {
    const h = this.c.at(atUs, () => {
      this.mine.delete(h.id);
      if (!this.dead) fn();
    });
    this.mine.add(h.id);
    return h;
  }
  cancel(h: TimerHandle): void {
    this.mine.delete(h.id);
    this.c.cancel(h);
  }
  kill(): void {
    this.dead = true;
    for (const id of this.mine) this.c.cancel({ id });
    this.mine.clear();
  }
}

export class SimSocket extends EventEmitter implements VrrpSocket {
  readonly mode = 'multicast' as const;
  readonly localAddress: string;
  closed = false;
  constructor(
    readonly family: 4 | 6,
    readonly ifname: string,
    group: string,
    private readonly send_: (s: SimSocket, b: Uint8Array, dst: string) => void,
  ) {
    super();
    this.localAddress = group;
  }
  send(bytes: Uint8Array, dst: string): number {
    if (!this.closed) this.send_(this, bytes, dst);
    return bytes.length;
  }
  ref(): void {
    /* nothing keeps a virtual process alive */
  }
  close(): void {
    this.closed = true;
  }
}

export class SimLinkWatch extends EventEmitter implements LinkWatchPort {
  constructor(private readonly down: ReadonlySet<string> = new Set()) {
    super();
  }
  watchLink(): void {
    /* every interface is known to the simulator */
  }
  linkUp(ifname: string): boolean {
    return !this.down.has(ifname);
  }
  watchAddress(): void {
    /* the simulator reports removals itself */
  }
  unwatchAddress(): void {
    /* idem */
  }
  start(): this {
    return this;
  }
  stop(): void {
    /* idem */
  }
}

/** One simulated node: its configuration, its ports' state, and the sim's truth about its world. */
export interface SimHost {
  name: string;
  address: string;
  spec: NodeSpec;
  extra: NodeExtra;
  conf: string;
  runtime?: Runtime;
  clock?: NodeClock;
  sockets: SimSocket[];
  addrs: Set<string>;
  link: SimLinkWatch;
  /** Interfaces whose link is down (per-instance faults). */
  ifDown: Set<string>;
  /** Interfaces whose VRRP socket has not opened since the last boot. */
  noSocket: Set<string>;
  sockFailsLeft: number;
  scriptOk: boolean;
  fileValue: number;
  stopping: boolean;
}

/** What extra checks see (quorum and other ports plug their properties in here). */
export interface ShippedView {
  nowUs(): number;
  hosts: ReadonlyMap<string, SimHost>;
  machine(h: SimHost, inst: string): ReturnType<Runtime['machine']>;
  fail(msg: string): void;
}

export interface ShippedOptions {
  /** An executor variant (tests plant bugs with it). */
  makeExecutor?: (d: ExecutorDeps) => Executor;
  log?: (s: string) => void;
  /** Stop at the first failed property (planted-bug tests: a broken run may be slow to finish). */
  failFast?: boolean;
  /** Extra runtime options per host (other ports: quorum, cloud…); applied over the sim's own. */
  runtime?: (h: SimHost, clock: Clock) => Partial<RuntimeOptions>;
  /** Extra configuration text per node, appended to the generated keepalived.conf. */
  config?: (n: NodeSpec, sc: SimScenario) => string;
  /** Extra properties: after every step, and at each settle check on a clean network. */
  checks?: { step?(v: ShippedView): void; settled?(v: ShippedView, sinceUs: number): void };
  /** Called when a host boots (after its runtime is built) and when it crashes or stops. */
  onBoot?(h: SimHost, clock: Clock): void;
  onCrash?(h: SimHost): void;
}

function dataplane(h: SimHost): DataplanePort {
  return {
    interfaceInfo: async () => ({ ipv4: h.address, linkLocal6: h.address }),
    addAddress: async (s) => {
      const had = h.addrs.has(s.address);
      h.addrs.add(s.address);
      return !had;
    },
    removeAddress: async (s) => h.addrs.delete(s.address),
    addRoute: async () => true,
    removeRoute: async () => true,
    refreshLifetime: async () => undefined,
    announce: () => true,
    listAddresses: async () => [...h.addrs],
  };
}

/** The in-memory vrrp_script: its result is the sim's truth for the node. */
function scriptRunner(h: SimHost): (req: unknown) => Promise<RunResult> {
  return async () =>
    h.scriptOk
      ? { ok: true, detail: 'exited with status 0', durationMs: 0, exitCode: 0 }
      : { ok: false, detail: 'exited with status 1', durationMs: 0, exitCode: 1 };
}

const NO_EXTRA: NodeExtra = { scriptWeight: 0, fileWeight: 0 };

export async function runShipped(
  sc: SimScenario | ShippedScenario,
  o: ShippedOptions = {},
): Promise<SimResult & { steps: number }> {
  const clock = new VirtualUsClock();
  const r = prng(sc.seed ^ 0x5bd1e995);
  const shipped = 'extra' in sc ? sc : undefined;
  const ifOf = (inst: string): string => shipped?.ifaces[inst] ?? 'eth0';
  const net = new SimNetwork(sc, r);
  const failures: string[] = [];
  let checks = 0;
  let healChecks = 0;
  let transitions = 0;
  let steps = 0;
  const fail = (msg: string): void => {
    if (failures.length < 5) failures.push(`t=${clock.nowUs()}µs: ${msg}`);
    if (o.failFast) clock.stop();
  };
  const hosts = new Map<string, SimHost>();
  sc.nodes.forEach((n, i) => {
    const address = sc.family === 4 ? `192.0.2.${10 + i}` : `2001:db8::${(10 + i).toString(16)}`;
    const ifDown = new Set<string>();
    hosts.set(n.name, {
      name: n.name,
      address,
      spec: n,
      extra: shipped?.extra[n.name] ?? NO_EXTRA,
      conf: [nodeConfig(n, sc), ...(o.config ? [o.config(n, sc)] : [])].join('\n'),
      sockets: [],
      addrs: new Set(),
      link: new SimLinkWatch(ifDown),
      ifDown,
      noSocket: new Set(),
      sockFailsLeft: 0,
      scriptOk: true,
      fileValue: 0,
      stopping: false,
    });
  });
  // One L2 segment per interface name: eth0 of every node on one, eth1 on another…
  const deliver = (from: SimHost, s: SimSocket, bytes: Uint8Array, dst: string): void => {
    const data = Buffer.from(bytes);
    for (const to of hosts.values()) {
      if (to === from) continue;
      const d = net.delay(from.name, to.name);
      if (d === undefined) continue;
      clock.at(clock.nowUs() + d, () => {
        for (const t of to.sockets) {
          if (t.closed || t.family !== s.family || t.ifname !== s.ifname) continue;
          const p: VrrpPacket = { data, src: from.address, dst, ttl: 255, ifindex: 1 };
          t.emit('packet', p);
        }
      });
    }
  };
  const stopHost = (h: SimHost): void => {
    h.clock?.kill();
    for (const s of h.sockets) s.close();
    h.sockets = [];
  };
  const boot = (h: SimHost): void => {
    stopHost(h);
    h.stopping = false;
    const nc = new NodeClock(clock);
    h.clock = nc;
    h.link.removeAllListeners();
    h.sockFailsLeft = h.extra.socketFails?.times ?? 0;
    h.noSocket.clear();
    const badIf = h.extra.socketFails ? ifOf(h.extra.socketFails.instance) : undefined;
    const rt = new Runtime({
      configFile: `${h.name}.conf`,
      clock: nc,
      log: silent,
      load: async () => {
        const res = parseConfigText(h.conf, `${h.name}.conf`);
        return {
          config: res.config,
          errors: res.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
        };
      },
      openSocket: (so: VrrpSocketOptions) => {
        if (so.ifname === badIf && h.sockFailsLeft > 0) {
          h.sockFailsLeft--;
          h.noSocket.add(so.ifname);
          throw Object.assign(new Error('EMFILE: too many open files (simulated)'), { code: 'EMFILE' });
        }
        h.noSocket.delete(so.ifname);
        const s = new SimSocket(so.family, so.ifname, so.mcastGroup ?? '', (sock, b, dst) => deliver(h, sock, b, dst));
        h.sockets.push(s);
        return s;
      },
      dataplane: dataplane(h),
      linkWatch: () => h.link,
      readFile: () => '',
      trackerHooks: {
        runner: scriptRunner(h),
        readTrackFile: async () => `${h.fileValue}\n`,
      },
      ...(o.makeExecutor ? { makeExecutor: o.makeExecutor } : {}),
      ...(o.runtime ? o.runtime(h, nc) : {}),
    });
    h.runtime = rt;
    o.onBoot?.(h, nc);
    rt.start().catch((e: unknown) => fail(`${h.name} failed to start: ${String(e)}`));
  };
  const crash = (h: SimHost): void => {
    stopHost(h);
    h.runtime = undefined;
    h.addrs.clear();
    o.onCrash?.(h);
  };
  const setLink = (h: SimHost, inst: string, up: boolean): void => {
    const ifname = ifOf(inst);
    if (up) h.ifDown.delete(ifname);
    else h.ifDown.add(ifname);
    h.link.emit('link', { ifname, up });
  };
  const names = (vrid: number): Array<{ h: SimHost; inst: string }> =>
    [...hosts.values()].flatMap((h) => {
      const p = h.spec.instances.find((x) => x.vrid === vrid);
      return p ? [{ h, inst: p.name }] : [];
    });
  const machine = (h: SimHost, inst: string) => (h.clock?.dead === false ? h.runtime?.machine(inst) : undefined);
  const view: ShippedView = { nowUs: () => clock.nowUs(), hosts, machine, fail };
  const vipByVrid = new Map<number, string>();
  const vip = (vrid: number): string => {
    let v = vipByVrid.get(vrid);
    if (v === undefined) vipByVrid.set(vrid, (v = vipOf(sc.family, vrid)));
    return v;
  };
  const holds = (h: SimHost, vrid: number): boolean => h.addrs.has(vip(vrid));
  // What every step looks at, computed once: (host, instance, its key, VIP and interface).
  const rows = [...hosts.values()].flatMap((h) =>
    h.spec.instances.map((p) => ({ h, p, key: `${h.name}/${p.name}`, vip: vip(p.vrid), ifname: ifOf(p.name) })),
  );
  const vrids = [...new Set(sc.nodes.flatMap((n) => n.instances.map((p) => p.vrid)))];
  const eligible = (vrid: number) =>
    names(vrid).flatMap(({ h, inst }) => {
      const m = machine(h, inst);
      return m && !m.faulted && m.state !== 'STOP' && m.state !== 'INIT' && !h.stopping
        ? [{ node: h.name, prio: m.effectivePriority, addr: h.address }]
        : [];
    });
  const masters = (vrid: number): string[] =>
    names(vrid)
      .filter(({ h, inst }) => machine(h, inst)?.state === 'MASTER')
      .map(({ h }) => h.name);
  const holders = (vrid: number): string[] =>
    names(vrid)
      .filter(({ h }) => holds(h, vrid))
      .map(({ h }) => h.name);
  // Settle: the runtimes' kernel queues drained (vipsReady can queue more), plus a few microtask
  // turns for the async edges (start-up's config load and interface reads, tracker results). A
  // macrotask turn (setImmediate) would be simpler but costs ~40 % more wall time per step.
  const tails: Array<Promise<void>> = [];
  clock.settle = async () => {
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 4; i++) await null;
      tails.length = 0;
      for (const h of hosts.values()) if (h.runtime) tails.push(h.runtime.idle());
      await Promise.all(tails);
      for (let i = 0; i < 4; i++) await null;
      let k = 0;
      let same = true;
      for (const h of hosts.values()) if (h.runtime && h.runtime.idle() !== tails[k++]) same = false;
      if (same && k === tails.length) return;
    }
  };
  const lastState = new Map<string, string>();
  let lastChangeAt = 0;
  // After every step: VIPs only while MASTER (or while a stopping MASTER waits for the new one),
  // never in FAULT, and never MASTER without an open socket.
  // No storm: a healthy run takes at most ~7 steps per simulated second per (instance × node);
  // adverts answered at line rate (two MASTERs each answering the other at once) blow through this.
  const budget = 10_000 + 40 * (sc.endUs / 1e6) * rows.length * hosts.size;
  clock.onStep = () => {
    if (++steps > budget) {
      fail(`event storm: more than ${Math.round(budget)} steps by ${clock.nowUs()}µs`);
      clock.stop();
      return;
    }
    for (const { h, p, key, vip, ifname } of rows) {
      const m = machine(h, p.name);
      const st = m?.state ?? 'DOWN';
      if (lastState.get(key) !== st) {
        lastState.set(key, st);
        transitions++;
        lastChangeAt = clock.nowUs();
        o.log?.(`${clock.nowUs()}µs ${key} ${st} prio ${m?.effectivePriority ?? '-'}`);
      }
      const held = h.addrs.has(vip);
      if (st === 'FAULT' && held) fail(`${key} holds the VIP in FAULT`);
      if (held && st !== 'MASTER' && !m?.handoverPending && !h.stopping) fail(`${key} holds the VIP in ${st}`);
      if (st === 'MASTER' && !held && !h.stopping) fail(`${key} is MASTER without its VIP`);
      if (st === 'MASTER' && h.noSocket.has(ifname)) fail(`${key} is MASTER but its socket never opened`);
    }
    o.checks?.step?.(view);
  };
  // The shipped properties at a settle check: per-instance FAULT exactly when its interface (or
  // a sync-group sibling's) is down; sync-group members in one state; the effective priority
  // is keepalived's arithmetic on the trackers' truth.
  const settledShipped = (): void => {
    for (const h of hosts.values()) {
      if (!h.runtime || h.stopping) continue;
      const groupOf = (inst: string) => (h.spec.groups ?? []).find((g) => g.members.includes(inst));
      for (const p of h.spec.instances) {
        const m = machine(h, p.name);
        if (!m) continue;
        checks++;
        const key = `${h.name}/${p.name}`;
        const g = groupOf(p.name);
        // FAULT: its interface (or a sibling's) down, no socket yet, or a member's fault-trigger script failing.
        // An owner's weight-1 track_file is a fault trigger too (keepalived drops an owner's weights).
        const faulty = (x: string): boolean =>
          h.ifDown.has(ifOf(x)) ||
          h.noSocket.has(ifOf(x)) ||
          (!!g && h.extra.scriptWeight !== 0 && !h.scriptOk) ||
          (!g && p.priority === 255 && h.extra.fileWeight === 1 && h.fileValue !== 0);
        const want = (g ? g.members : [p.name]).some(faulty);
        if (want !== (m.state === 'FAULT'))
          fail(
            `${key} is ${m.state}, expected ${want ? '' : 'not '}FAULT (down: ${[...h.ifDown].join(',') || 'none'})`,
          );
        if (g) {
          const states = g.members.map((x) => machine(h, x)?.state);
          if (states.some((x) => x !== states[0])) fail(`${h.name} sync group ${g.name} split: ${states.join(',')}`);
        }
        if (m.state === 'FAULT') continue;
        const exp = g ? p.priority : expectedPriority(p.priority, h.extra, h.scriptOk, h.fileValue);
        if (m.effectivePriority !== exp)
          fail(`${key} effective priority ${m.effectivePriority}, expected ${exp} (base ${p.priority})`);
      }
    }
  };

  sc.timeline.forEach((e, idx) => {
    clock.at(e.at, () => {
      const d = e.d;
      const tr = shipped?.track.get(idx);
      o.log?.(`${e.at}µs ${JSON.stringify(tr ?? d)}`);
      if (net.apply(d)) return;
      const h = 'node' in d ? hosts.get(d.node) : undefined;
      switch (d.kind) {
        case 'start':
          if (h) boot(h);
          break;
        case 'crash':
          if (h) crash(h);
          break;
        case 'restart':
          if (h) boot(h);
          break;
        case 'shutdown': {
          if (!h?.runtime) break;
          const rt = h.runtime;
          h.stopping = true;
          void rt.stop('sim').then(() => {
            if (h.runtime === rt) crash(h);
          });
          break;
        }
        case 'fault':
        case 'recover':
          if (h) setLink(h, d.instance, d.kind === 'recover');
          break;
        case 'priority':
          // The trackers' truth moves; the runtime sees it at the next check run or file poll.
          if (h && tr?.kind === 'script') h.scriptOk = tr.ok;
          if (h && tr?.kind === 'file') h.fileValue = tr.value;
          break;
        case 'vipRemoved': {
          const p = h?.spec.instances.find((x) => x.name === d.instance);
          if (!h || !p || !h.addrs.delete(vipOf(sc.family, p.vrid))) break;
          h.link.emit('address-removed', { ifname: ifOf(p.name), address: vipOf(sc.family, p.vrid) });
          break;
        }
      }
    });
  });
  // The same property windows as sim.ts: settle bound after each disturbance on a clean network.
  const B = settleBoundUs(sc) + (shipped?.extraSettleUs ?? 0);
  const H = healBoundUs(sc);
  const anyNopreempt = sc.nodes.some((n) => n.instances.some((p) => !p.preempt));
  for (const { start, end, clean, afterHeal, prevLen, prevSettledSides } of segments(sc)) {
    if (afterHeal && clean && prevSettledSides && prevLen > B && end - start > H + 1) {
      clock.at(start + H + 1, () => {
        for (const vrid of vrids) {
          checks++;
          healChecks++;
          const m = masters(vrid);
          if (m.length > 1) fail(`VRID ${vrid}: ${m.length} MASTERs ${H + 1}µs after the heal`);
        }
      });
    }
    if (!clean || end - start <= B) continue;
    clock.at(start + B, () => {
      for (const vrid of vrids) {
        checks++;
        const why = settledFailures(vrid, eligible(vrid), masters(vrid), holders(vrid), !anyNopreempt);
        for (const w of why) fail(`${w} (${B}µs after ${start}µs)`);
      }
      if (shipped) settledShipped();
      o.checks?.settled?.(view, start);
    });
    clock.at(end - 1, () => {
      checks++;
      if (lastChangeAt > start + B) fail(`steady state changed at ${lastChangeAt}µs, quiet since ${start}µs`);
      for (const vrid of vrids)
        if (holders(vrid).length > 1)
          fail(`VRID ${vrid}: VIP held by ${holders(vrid).join(',')} at end of quiet segment`);
    });
  }
  await clock.runUntil(sc.endUs);
  for (const h of hosts.values()) crash(h);
  return { ok: failures.length === 0, failures, checks, healChecks, transitions, steps };
}

/** The seeds of a run: `count` from the base seed, as vrrp-sim.test.ts draws them. */
export function seedsFrom(base: number, n: number): number[] {
  const r = prng(base);
  return Array.from({ length: n }, () => Math.floor(r() * 2 ** 32) >>> 0);
}

export const SHIPPED_COUNT = Number(process.env['FLOATD_SHIPPED_SIM_COUNT'] ?? 10_000);
export const BASE_SEED = Number(process.env['FLOATD_SIM_BASE_SEED'] ?? 20261125);

/** Runs shard `index` of `of` of the seeds through the shipped composition; returns the failures (≤ 10). */
export async function shippedShard(
  index: number,
  of: number,
): Promise<{ ran: number; checks: number; failed: string[] }> {
  const all = seedsFrom(BASE_SEED, SHIPPED_COUNT);
  const mine = all.slice(Math.floor((all.length * index) / of), Math.floor((all.length * (index + 1)) / of));
  const failed: string[] = [];
  let checks = 0;
  let transitions = 0;
  for (const seed of mine) {
    const res = await runShipped(generateShipped(seed));
    checks += res.checks;
    transitions += res.transitions;
    if (!res.ok && failed.length < 10) {
      failed.push(
        `seed ${seed}: ${res.failures.join('; ')}\n` +
          `  replay: FLOATD_SHIPPED_SIM_SEED=${seed} node --test dist/test/sim/shipped-sim.test.js`,
      );
    }
  }
  console.log(
    `shipped composition: ${mine.length} of ${SHIPPED_COUNT} scenarios ` +
      `(base seed ${BASE_SEED}, shard ${index + 1}/${of}), ` +
      `${checks} property checks, ${transitions} transitions, ${failed.length} failing`,
  );
  return { ran: mine.length, checks, failed };
}
