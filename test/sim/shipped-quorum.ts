/**
 * Quorum mode through what ships: every node is a real Runtime (config parser, mapping,
 * executor, VRRP FSM with its lease gate, QuorumWiring/QuorumGate/LeaseMachine, the VIP
 * lifetime refresh) started from a generated keepalived.conf with a floatd_quorum block, on
 * in-memory ports and one virtual µs clock: VRRP sockets on a simulated network (shipped.ts's),
 * an in-memory etcd (sim-etcd.ts) and a kernel per host that keeps addresses across process
 * crashes and ends them at their valid_lft (up to KERNEL_LATE_US late). Faults: partitions
 * between nodes, cuts between a node and etcd, etcd leader elections, SIGSTOP (the process runs
 * nothing until SIGCONT; its kernel keeps going), SIGKILL and restart, SIGTERM and restart.
 * The property, checked after every step of the virtual clock: never two hosts with the VIP in
 * their kernel. Not modelled here (the pure lease simulator, quorum-world.ts, covers them):
 * clock rate differences between nodes and etcd, and several etcd endpoints.
 */
import { pino } from 'pino';
import { parseConfigText, type FloatdConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/daemon/runtime.js';
import type { DataplanePort } from '../../src/daemon/ports.js';
import type { AddressSpec } from '../../src/net/addresses.js';
import type { VrrpPacket, VrrpSocketOptions } from '../../src/net/vrrp-socket.js';
import type { TimerHandle } from '../../src/util/clock.js';
import { VirtualUsClock, settle } from '../support/virtual-us-clock.js';
import { prng } from './sim.js';
import { NodeClock, SimLinkWatch, SimSocket } from './shipped.js';
import { SimEtcd } from './sim-etcd.js';

const silent = pino({ level: 'silent' });
export const QVIP = '203.0.113.51';
/** The second instance's VIP in group schedules (VI_1 and VI_2 in one vrrp_sync_group with one lease). */
export const QVIP2 = '203.0.113.52';
/** The end of every schedule is quiet this long: by then exactly one host holds the VIP, as MASTER. */
const QUIET_US = 8_000_000;
/** How late the simulated kernel ends a lifetime, at most (the lease machine allows 350 ms with the refresh). */
const KERNEL_LATE_MAX_US = 300_000;

/** A process's view of the shared clock: SIGSTOP defers its timers (SIGCONT runs them), SIGKILL drops them. */
class ProcClock extends NodeClock {
  private readonly deferred = new Map<number, () => void>();
  paused = false;
  override at(atUs: number, fn: () => void): TimerHandle {
    const h: TimerHandle = super.at(atUs, () => {
      if (this.paused) this.deferred.set(h.id, fn);
      else fn();
    });
    return h;
  }
  override cancel(h: TimerHandle): void {
    this.deferred.delete(h.id);
    super.cancel(h);
  }
  resume(): void {
    this.paused = false;
    const d = [...this.deferred.values()];
    this.deferred.clear();
    for (const fn of d) if (!this.dead && !this.paused) fn();
  }
  override kill(): void {
    super.kill();
    this.deferred.clear();
  }
}

export interface QNode {
  name: string;
  priority: number;
}

export type QDisturbance =
  | { kind: 'partition'; sides: string[][] }
  | { kind: 'heal' }
  | { kind: 'etcdCut'; node: string; down: boolean }
  | { kind: 'election'; us: number }
  | { kind: 'stop'; node: string }
  | { kind: 'cont'; node: string }
  | { kind: 'kill'; node: string }
  | { kind: 'term'; node: string }
  /** `floatd switchover VI_1` on whichever node is MASTER. */
  | { kind: 'switchover' }
  | { kind: 'start'; node: string };

export interface QScenario {
  seed: number;
  nodes: QNode[];
  advertIntCs: number;
  ttlS: number;
  /** Two instances in a vrrp_sync_group that holds the lease (else one instance with its own). */
  group: boolean;
  timeline: Array<{ at: number; d: QDisturbance }>;
  endUs: number;
}

/** A random schedule: 2–3 nodes, 25 s, 3–8 faults between 4 and 11 s, each healed within 6 s; then quiet. */
export function generateQ(seed: number): QScenario {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const between = (a: number, b: number): number => Math.floor(a + r() * (b - a));
  const n = r() < 0.5 ? 2 : 3;
  const prios = [250, 200, 150, 100, 50].sort(() => r() - 0.5);
  const nodes = Array.from({ length: n }, (_, i) => ({ name: `n${i + 1}`, priority: prios[i]! }));
  const endUs = 25_000_000;
  const timeline: QScenario['timeline'] = nodes.map((x) => ({
    at: between(0, 1_500_000),
    d: { kind: 'start', node: x.name },
  }));
  const faults = between(3, 9);
  for (let i = 0; i < faults; i++) {
    const at = between(4_000_000, endUs - QUIET_US - 6_000_000);
    const dur = between(300_000, 6_000_000);
    const node = pick(nodes).name;
    switch (pick(['partition', 'etcdCut', 'election', 'stop', 'kill', 'term', 'switchover'] as const)) {
      case 'switchover':
        timeline.push({ at, d: { kind: 'switchover' } });
        break;
      case 'partition': {
        const a = nodes.filter(() => r() < 0.5).map((x) => x.name);
        const b = nodes.map((x) => x.name).filter((x) => !a.includes(x));
        timeline.push({ at, d: { kind: 'partition', sides: [a, b] } }, { at: at + dur, d: { kind: 'heal' } });
        break;
      }
      case 'etcdCut':
        timeline.push(
          { at, d: { kind: 'etcdCut', node, down: true } },
          { at: at + dur, d: { kind: 'etcdCut', node, down: false } },
        );
        break;
      case 'election':
        timeline.push({ at, d: { kind: 'election', us: between(200_000, 3_000_000) } });
        break;
      case 'stop':
        timeline.push({ at, d: { kind: 'stop', node } }, { at: at + dur, d: { kind: 'cont', node } });
        break;
      case 'kill':
        timeline.push({ at, d: { kind: 'kill', node } }, { at: at + dur, d: { kind: 'start', node } });
        break;
      case 'term':
        timeline.push({ at, d: { kind: 'term', node } }, { at: at + dur, d: { kind: 'start', node } });
        break;
    }
  }
  timeline.sort((a, b) => a.at - b.at);
  const group = r() < 0.3;
  return { seed, nodes, advertIntCs: pick([20, 50, 100]), ttlS: pick([2, 2, 3]), group, timeline, endUs };
}

function conf(sc: QScenario, x: QNode): string {
  const inst = (name: string, vrid: number, vip: string): string =>
    `vrrp_instance ${name} {\n  interface eth0\n  state BACKUP\n  virtual_router_id ${vrid}\n` +
    `  priority ${x.priority}\n  advert_int ${sc.advertIntCs / 100}\n  virtual_ipaddress { ${vip}/24 }\n` +
    `${sc.group ? '' : '  quorum main\n'}}`;
  return [
    `global_defs {\n  router_id ${x.name}\n}`,
    'floatd_quorum main {\n  backend etcd\n  endpoints http://198.51.100.100:2379\n  key /floatd/sim',
    `  ttl ${sc.ttlS}\n}`,
    inst('VI_1', 51, QVIP),
    ...(sc.group
      ? [inst('VI_2', 52, QVIP2), 'vrrp_sync_group G1 {\n  group {\n    VI_1\n    VI_2\n  }\n  quorum main\n}']
      : []),
  ].join('\n');
}

interface Host {
  node: QNode;
  address: string;
  conf: string;
  proc?: ProcClock;
  runtime?: Runtime;
  sockets: SimSocket[];
  link: SimLinkWatch;
  /** The kernel's addresses (they outlive the process) → the end of their valid_lft, if any. */
  addrs: Map<string, { end?: number; timer?: TimerHandle }>;
  /** The hand-over drain's block on new connections (kernel state: it outlives the process too). */
  blocked?: boolean;
}

export interface QOptions {
  /** A planted bug: rewrite the parsed configuration (e.g. a margin past the server's expiry). */
  mutate?: (cfg: FloatdConfig) => void;
  log?: (line: string) => void;
}

export interface QResult {
  /** Instants where two hosts had the same VIP (the safety property). */
  violations: string[];
  /** Liveness after the quiet end: a VIP not on exactly one host, or not on its MASTER's. */
  stuck: string[];
  /** VIP adds in the kernels, of them by a different host than the last holder, and lease expiries. */
  takes: number;
  takeovers: number;
  expiries: number;
  steps: number;
  /** Hand-over drains started (the block put in a kernel). */
  drains: number;
}

export async function runShippedQuorum(sc: QScenario, o: QOptions = {}): Promise<QResult> {
  const clock = new VirtualUsClock();
  const r = prng(sc.seed ^ 0x7f4a7c15);
  const etcd = new SimEtcd(clock, r, () => 200 + Math.floor(r() * 5000));
  const violations: string[] = [];
  const stuck: string[] = [];
  let takes = 0;
  let takeovers = 0;
  let drains = 0;
  let lastHolder = '';
  let steps = 0;
  let sides: string[][] = [];
  const hosts = new Map<string, Host>();
  sc.nodes.forEach((node, i) =>
    hosts.set(node.name, {
      node,
      address: `192.0.2.${10 + i}`,
      conf: conf(sc, node),
      sockets: [],
      link: new SimLinkWatch(),
      addrs: new Map(),
    }),
  );
  const trace = (s: string): void => o.log?.(`${clock.nowUs()}µs ${s}`);

  // ---- the kernel of each host: changes land 0–30 ms after the call, lifetimes end late ----
  const kernelRemove = (h: Host, address: string, why: string): boolean => {
    const a = h.addrs.get(address);
    if (!a) return false;
    if (a.timer) clock.cancel(a.timer);
    h.addrs.delete(address);
    trace(`${h.node.name} kernel: ${address} gone (${why})`);
    return true;
  };
  const arm = (h: Host, address: string, seconds: number | undefined): void => {
    const a = h.addrs.get(address);
    if (!a) return;
    if (a.timer) clock.cancel(a.timer);
    a.timer = undefined;
    if (!seconds) return;
    const end = clock.nowUs() + seconds * 1_000_000 + Math.floor(r() * KERNEL_LATE_MAX_US);
    a.timer = clock.at(end, () => {
      if (!kernelRemove(h, address, 'valid_lft ended')) return;
      const p = h.proc;
      if (p && !p.dead) p.at(clock.nowUs(), () => h.link.emit('address-removed', { ifname: 'eth0', address }));
    });
  };
  const put = (h: Host, address: string, seconds: number | undefined): void => {
    if (!h.addrs.has(address)) {
      h.addrs.set(address, {});
      trace(`${h.node.name} kernel: ${address} added`);
      if (address === QVIP) {
        takes++;
        if (lastHolder && lastHolder !== h.node.name) takeovers++;
        lastHolder = h.node.name;
      }
    }
    arm(h, address, seconds);
  };
  const syscall = <T>(h: Host, p: ProcClock, apply: () => T): Promise<T> =>
    new Promise((resolve) => {
      clock.at(clock.nowUs() + Math.floor(r() * 30_000), () => {
        const v = apply(); // the kernel does it even if the process is stopped or killed meanwhile
        p.at(clock.nowUs(), () => resolve(v));
      });
    });
  const dataplane = (h: Host, p: ProcClock): DataplanePort => ({
    interfaceInfo: async () => ({ ipv4: h.address }),
    addAddress: (s: AddressSpec) =>
      syscall(h, p, () => {
        const had = h.addrs.has(s.address);
        put(h, s.address, s.validLft === 'forever' ? undefined : s.validLft);
        return !had;
      }),
    removeAddress: (s) => syscall(h, p, () => kernelRemove(h, s.address, 'removed')),
    // netlink RTM_NEWADDR with NLM_F_REPLACE: re-creates an address the kernel already expired.
    refreshLifetime: (s, seconds) => syscall(h, p, () => put(h, s.address, seconds)),
    addRoute: async () => true,
    removeRoute: async () => true,
    announce: () => true,
    listAddresses: async () => [...h.addrs.keys()],
    blockNew: (_owner, _specs, on) =>
      syscall(h, p, () => {
        if (on && !h.blocked) drains++;
        h.blocked = on;
      }),
  });

  // ---- VRRP between the hosts ----
  const hear = (a: string, b: string): boolean =>
    sides.length === 0 || sides.some((s) => s.includes(a) && s.includes(b));
  const deliver = (from: Host, bytes: Uint8Array, dst: string): void => {
    const data = Buffer.from(bytes);
    for (const to of hosts.values()) {
      if (to === from || !hear(from.node.name, to.node.name)) continue;
      const p = to.proc;
      if (!p || p.dead) continue;
      p.at(clock.nowUs() + 100 + Math.floor(r() * 2000), () => {
        const pkt: VrrpPacket = { data, src: from.address, dst, ttl: 255, ifindex: 1 };
        for (const s of to.sockets) if (!s.closed) s.emit('packet', pkt);
      });
    }
  };

  // ---- processes ----
  const kill = (h: Host): void => {
    h.proc?.kill();
    for (const s of h.sockets) s.close();
    h.sockets = [];
    h.runtime = undefined;
  };
  const boot = (h: Host): void => {
    kill(h);
    const p = new ProcClock(clock);
    h.proc = p;
    h.link.removeAllListeners();
    const port = { clock: p, dead: () => p.dead };
    const rt = new Runtime({
      configFile: `${h.node.name}.conf`,
      clock: p,
      log: silent,
      load: async () => {
        const res = parseConfigText(h.conf, `${h.node.name}.conf`);
        if (res.config) o.mutate?.(res.config);
        return {
          config: res.config,
          errors: res.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
        };
      },
      openSocket: (so: VrrpSocketOptions) => {
        const s = new SimSocket(so.family, so.ifname, so.mcastGroup ?? '', (_s, b, dst) => deliver(h, b, dst));
        h.sockets.push(s);
        return s;
      },
      dataplane: dataplane(h, p),
      linkWatch: () => h.link,
      readFile: () => '',
      leaseBackend: (q) => etcd.client(h.node.name, port, q.dialTimeoutMs * 1000),
    });
    h.runtime = rt;
    rt.start().catch((e: unknown) => violations.push(`${h.node.name} failed to start: ${String(e)}`));
  };

  for (const e of sc.timeline) {
    clock.at(e.at, () => {
      const d = e.d;
      trace(JSON.stringify(d));
      const h = 'node' in d ? hosts.get(d.node) : undefined;
      switch (d.kind) {
        case 'start':
          if (h && !h.runtime) boot(h);
          break;
        case 'kill':
          if (h) kill(h);
          break;
        case 'term': {
          const rt = h?.runtime;
          if (!h || !rt || h.proc?.paused) break;
          const p = h.proc;
          void rt.stop('SIGTERM').then(() => {
            if (h.runtime === rt && h.proc === p) kill(h);
          });
          break;
        }
        case 'switchover':
          for (const x of hosts.values()) if (x.proc && !x.proc.paused) x.runtime?.switchover('VI_1', 0);
          break;
        case 'stop':
          if (h?.proc && !h.proc.dead) h.proc.paused = true;
          break;
        case 'cont':
          h?.proc?.resume();
          break;
        case 'partition':
          sides = d.sides;
          break;
        case 'heal':
          sides = [];
          break;
        case 'etcdCut':
          etcd.cut(d.node, d.down);
          break;
        case 'election':
          etcd.election(d.us);
          break;
      }
    });
  }
  // Each step's promise chains run before the check (the kernel and etcd answer through timers).
  clock.settle = () => settle(40);
  const seen = new Map<string, string>();
  const vips = sc.group ? [QVIP, QVIP2] : [QVIP];
  clock.onStep = () => {
    steps++;
    if (o.log)
      for (const h of hosts.values()) {
        const m = h.runtime?.machine('VI_1');
        const st = `${m?.state ?? 'DOWN'}${h.proc?.paused ? ' (stopped)' : ''}`;
        if (seen.get(h.node.name) !== st) trace(`${h.node.name} ${st}`);
        seen.set(h.node.name, st);
      }
    for (const vip of vips) {
      const holders = [...hosts.values()].filter((h) => h.addrs.has(vip)).map((h) => h.node.name);
      if (holders.length > 1 && violations.length < 5)
        violations.push(`t=${clock.nowUs()}µs: ${vip} is on ${holders.join(' and ')}`);
    }
  };
  // Liveness once everything healed: one holder, and it is the MASTER (no one stuck denied or fenced).
  clock.at(sc.endUs - 1, () => {
    for (const [inst, vip] of sc.group
      ? [
          ['VI_1', QVIP],
          ['VI_2', QVIP2],
        ]
      : [['VI_1', QVIP]]) {
      const holders = [...hosts.values()].filter((h) => h.addrs.has(vip!));
      const masters = [...hosts.values()].filter((h) => h.runtime?.machine(inst!)?.state === 'MASTER');
      if (holders.length !== 1 || masters.length !== 1 || holders[0] !== masters[0])
        stuck.push(
          `at the end (quiet for ${QUIET_US / 1e6} s): ${vip} on [${holders.map((h) => h.node.name)}], ` +
            `${inst} MASTER [${masters.map((h) => h.node.name)}]`,
        );
      // A drain's block left on the holder would refuse every new connection to its VIP.
      for (const h of holders)
        if (h.blocked) stuck.push(`at the end: ${h.node.name} holds ${vip} with the drain's block on`);
    }
  });
  await clock.runUntil(sc.endUs);
  for (const h of hosts.values()) kill(h);
  return { violations, stuck, takes, takeovers, expiries: etcd.stats.keyExpiries, steps, drains };
}
