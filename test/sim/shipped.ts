/**
 * The simulator on the SHIPPED composition: each node is a real Runtime (src/daemon/runtime.ts:
 * mapping, executor, advert framing and validation, FSM) started from a generated
 * keepalived.conf, wired to in-memory ports — sockets on a simulated network carrying the
 * real advert bytes, a dataplane holding addresses, a link watch, and one virtual µs clock.
 * Scenarios come from sim.ts's generator (same seeds); the properties are sim.ts's.
 */
import { pino } from 'pino';
import { EventEmitter } from 'node:events';
import { parseConfigText } from '../../src/config/index.js';
import { Runtime } from '../../src/daemon/runtime.js';
import { Executor, type ExecutorDeps } from '../../src/daemon/executor.js';
import type { DataplanePort, LinkWatchPort } from '../../src/daemon/ports.js';
import type { VrrpPacket, VrrpSocket, VrrpSocketOptions } from '../../src/net/vrrp-socket.js';
import type { Clock, TimerHandle } from '../../src/util/clock.js';
import type { InstanceParams } from '../../src/vrrp/fsm.js';
import { VirtualUsClock } from '../support/virtual-us-clock.js';
import { generate, prng, settleBoundUs, healBoundUs, type SimScenario, type SimResult } from './sim.js';
import type { NodeSpec } from './world.js';

const silent = pino({ level: 'silent' });

/** keepalived.conf for one simulated node. */
export function nodeConfig(n: NodeSpec, sc: SimScenario): string {
  const inst = (p: InstanceParams): string =>
    [
      `vrrp_instance ${p.name} {`,
      '  interface eth0',
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
      `  virtual_ipaddress { ${vipOf(sc.family, p.vrid)}/${sc.family === 4 ? 24 : 64} }`,
      '}',
    ].join('\n');
  const groups = (n.groups ?? []).map(
    (g) => `vrrp_sync_group ${g.name} {\n  group {\n    ${g.members.join('\n    ')}\n  }\n}`,
  );
  return [`global_defs {\n  router_id ${n.name}\n}`, ...n.instances.map(inst), ...groups].join('\n');
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
  up = true;
  watchLink(): void {
    /* one interface, always watched */
  }
  linkUp(): boolean {
    return this.up;
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

interface SimHost {
  name: string;
  address: string;
  spec: NodeSpec;
  conf: string;
  runtime?: Runtime;
  clock?: NodeClock;
  sockets: SimSocket[];
  addrs: Set<string>;
  link: SimLinkWatch;
  linkDown: boolean;
  stopping: boolean;
}

export interface ShippedOptions {
  /** An executor variant (tests plant bugs with it). */
  makeExecutor?: (d: ExecutorDeps) => Executor;
  log?: (s: string) => void;
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

export async function runShipped(sc: SimScenario, o: ShippedOptions = {}): Promise<SimResult> {
  const clock = new VirtualUsClock();
  const r = prng(sc.seed ^ 0x5bd1e995);
  let sides: string[][] = [];
  let loss: { links: Set<string>; p: number } | undefined;
  const failures: string[] = [];
  let checks = 0;
  let healChecks = 0;
  let transitions = 0;
  const fail = (msg: string): void => {
    if (failures.length < 5) failures.push(`t=${clock.nowUs()}µs: ${msg}`);
  };
  const hosts = new Map<string, SimHost>();
  sc.nodes.forEach((n, i) => {
    const address = sc.family === 4 ? `192.0.2.${10 + i}` : `2001:db8::${(10 + i).toString(16)}`;
    hosts.set(n.name, {
      name: n.name,
      address,
      spec: n,
      conf: nodeConfig(n, sc),
      sockets: [],
      addrs: new Set(),
      link: new SimLinkWatch(),
      linkDown: false,
      stopping: false,
    });
  });
  const delay = (from: string, to: string): number | undefined => {
    if (sides.length > 0 && !sides.some((s) => s.includes(from) && s.includes(to))) return undefined;
    if (loss && loss.links.has(`${from}>${to}`) && r() < loss.p) return undefined;
    return sc.baseDelayUs + (sc.jitterUs > 0 ? Math.floor(r() * (sc.jitterUs + 1)) : 0);
  };
  const deliver = (from: SimHost, s: SimSocket, bytes: Uint8Array, dst: string): void => {
    const data = Buffer.from(bytes);
    for (const to of hosts.values()) {
      if (to === from) continue;
      const d = delay(from.name, to.name);
      if (d === undefined) continue;
      clock.at(clock.nowUs() + d, () => {
        for (const t of to.sockets) {
          if (t.closed || t.family !== s.family) continue;
          const p: VrrpPacket = { data, src: from.address, dst, ttl: 255, ifindex: 1 };
          t.emit('packet', p);
        }
      });
    }
  };
  const boot = (h: SimHost): void => {
    h.clock?.kill();
    for (const s of h.sockets) s.close();
    h.sockets = [];
    h.stopping = false;
    const nc = new NodeClock(clock);
    h.clock = nc;
    h.link.removeAllListeners();
    h.link.up = !h.linkDown;
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
        const s = new SimSocket(so.family, so.ifname, so.mcastGroup ?? '', (sock, b, dst) => deliver(h, sock, b, dst));
        h.sockets.push(s);
        return s;
      },
      dataplane: dataplane(h),
      linkWatch: () => h.link,
      readFile: () => '',
      ...(o.makeExecutor ? { makeExecutor: o.makeExecutor } : {}),
    });
    h.runtime = rt;
    rt.start().catch((e: unknown) => fail(`${h.name} failed to start: ${String(e)}`));
  };
  const crash = (h: SimHost): void => {
    h.clock?.kill();
    for (const s of h.sockets) s.close();
    h.sockets = [];
    h.runtime = undefined;
    h.addrs.clear();
  };
  const names = (vrid: number): Array<{ h: SimHost; inst: string }> =>
    [...hosts.values()].flatMap((h) => {
      const p = h.spec.instances.find((x) => x.vrid === vrid);
      return p ? [{ h, inst: p.name }] : [];
    });
  const machine = (h: SimHost, inst: string) => (h.clock?.dead === false ? h.runtime?.machine(inst) : undefined);
  const holds = (h: SimHost, vrid: number): boolean => h.addrs.has(vipOf(sc.family, vrid));
  const vrids = [...new Set(sc.nodes.flatMap((n) => n.instances.map((p) => p.vrid)))];
  const eligible = (vrid: number) =>
    names(vrid).flatMap(({ h, inst }) => {
      const m = machine(h, inst);
      return m && !m.faulted && m.state !== 'STOP' && m.state !== 'INIT' && !h.stopping
        ? [{ node: h.name, prio: m.effectivePriority }]
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
  // Settle: the runtimes' kernel queues drained (vipsReady can queue more), plus a few turns
  // for the async edges (start-up's config load and interface reads).
  clock.settle = async () => {
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 4; i++) await Promise.resolve();
      const tails = [...hosts.values()].flatMap((h) => (h.runtime ? [h.runtime.idle()] : []));
      await Promise.all(tails);
      for (let i = 0; i < 4; i++) await Promise.resolve();
      const now = [...hosts.values()].flatMap((h) => (h.runtime ? [h.runtime.idle()] : []));
      if (now.length === tails.length && now.every((t, i) => t === tails[i])) return;
    }
  };
  const lastState = new Map<string, string>();
  let lastChangeAt = 0;
  // After every step: VIPs only while MASTER (or while a stopping MASTER waits for the new one).
  clock.onStep = () => {
    for (const h of hosts.values())
      for (const p of h.spec.instances) {
        const m = machine(h, p.name);
        const key = `${h.name}/${p.name}`;
        const st = m?.state ?? 'DOWN';
        if (lastState.get(key) !== st) {
          lastState.set(key, st);
          transitions++;
          lastChangeAt = clock.nowUs();
          o.log?.(`${clock.nowUs()}µs ${key} ${st}`);
        }
        const held = holds(h, p.vrid);
        if (st === 'FAULT' && held) fail(`${key} holds the VIP in FAULT`);
        if (held && st !== 'MASTER' && !m?.handoverPending && !h.stopping) fail(`${key} holds the VIP in ${st}`);
        if (st === 'MASTER' && !held && !h.stopping) fail(`${key} is MASTER without its VIP`);
      }
  };
  const times = [...new Set(sc.timeline.map((e) => e.at))].sort((a, b) => a - b);
  for (const e of sc.timeline) {
    clock.at(e.at, () => {
      const d = e.d;
      o.log?.(`${e.at}µs ${JSON.stringify(d)}`);
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
        case 'partition':
          sides = d.sides;
          break;
        case 'heal':
          sides = [];
          break;
        case 'lossStart':
          loss = { links: new Set(d.links.map(([a, b]) => `${a}>${b}`)), p: d.p };
          break;
        case 'lossEnd':
          loss = undefined;
          break;
        case 'fault':
          if (h) {
            h.linkDown = true;
            h.link.up = false;
            h.link.emit('link', { ifname: 'eth0', up: false });
          }
          break;
        case 'recover':
          if (h) {
            h.linkDown = false;
            h.link.up = true;
            h.link.emit('link', { ifname: 'eth0', up: true });
          }
          break;
        case 'priority':
          break; // no weighted trackers in the generated configs (see the test's note)
        case 'vipRemoved': {
          const p = h?.spec.instances.find((x) => x.name === d.instance);
          if (!h || !p || !h.addrs.delete(vipOf(sc.family, p.vrid))) break;
          h.link.emit('address-removed', { ifname: 'eth0', address: vipOf(sc.family, p.vrid) });
          break;
        }
      }
    });
  }
  // The same property windows as sim.ts: settle bound after each disturbance on a clean network.
  const B = settleBoundUs(sc);
  const H = healBoundUs(sc);
  const anyNopreempt = sc.nodes.some((n) => n.instances.some((p) => !p.preempt));
  let part = false,
    lossOn = false,
    prevLen = 0,
    prevSettled = false;
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
    const clean = !part && !lossOn;
    if (healed && clean && prevSettled && prevLen > B && end - start > H + 1) {
      clock.at(start + H + 1, () => {
        for (const vrid of vrids) {
          checks++;
          healChecks++;
          const m = masters(vrid);
          if (m.length > 1) fail(`VRID ${vrid}: ${m.length} MASTERs ${H + 1}µs after the heal`);
        }
      });
    }
    prevLen = end - start;
    prevSettled = part && !lossOn;
    if (!clean || end - start <= B) continue;
    clock.at(start + B, () => {
      for (const vrid of vrids) {
        checks++;
        const el = eligible(vrid);
        const m = masters(vrid);
        const hd = holders(vrid);
        if (m.length !== (el.length > 0 ? 1 : 0))
          fail(
            `VRID ${vrid}: ${m.length} MASTERs (${m.join(',')}) ${B}µs after ${start}µs; eligible ${el.map((x) => `${x.node}:${x.prio}`).join(',')}`,
          );
        if (hd.length > 1) fail(`VRID ${vrid}: VIP held by ${hd.join(',')}`);
        if (!anyNopreempt && el.length > 0 && m.length === 1) {
          const best = Math.max(...el.map((x) => x.prio));
          const mine = el.find((x) => x.node === m[0]);
          if (!mine || mine.prio !== best)
            fail(`VRID ${vrid}: MASTER is ${m[0]} (prio ${mine?.prio}) but the highest priority is ${best}`);
        }
      }
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
  return { ok: failures.length === 0, failures, checks, healChecks, transitions };
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
    const res = await runShipped(generate(seed));
    checks += res.checks;
    transitions += res.transitions;
    if (!res.ok && failed.length < 10) {
      failed.push(
        `seed ${seed}: ${res.failures.join('; ')}\n  replay: FLOATD_SHIPPED_SIM_SEED=${seed} node --test dist/test/sim/shipped-sim.test.js`,
      );
    }
  }
  console.log(
    `shipped composition: ${mine.length} of ${SHIPPED_COUNT} scenarios (base seed ${BASE_SEED}, shard ${index + 1}/${of}), ` +
      `${checks} property checks, ${transitions} transitions, ${failed.length} failing`,
  );
  return { ran: mine.length, checks, failed };
}
