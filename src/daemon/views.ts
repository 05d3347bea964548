/**
 * Read-only views of the running daemon: the transition history (ring buffer + monotonic
 * counts) and the status snapshot the API, dumps and metrics read.
 */
import type { FloatdConfig } from '../config/index.js';
import type { TrackerSet } from '../track/tracker-set.js';
import type { VrrpState } from '../vrrp/fsm.js';
import type { VrrpNode } from '../vrrp/node.js';
import type { DaemonStatus, InstanceStatus, TransitionRecord } from '../model/status-types.js';
import type { InstanceRuntime } from './executor.js';
import { vipSpecs } from './mapping.js';
import type { VipConfig } from '../config/model.js';
import type { DataplanePort } from './ports.js';
import { hostname } from 'node:os';
import { VERSION } from '../util/version.js';
import type { QuorumWiring } from '../quorum/wiring.js';
import type { CloudIps } from './cloud-ips.js';
import type { Notifier } from '../notify/notifier.js';
import { quorumFields } from './quorum-bridge.js';

const MAX_TRANSITIONS = 200;

type Count = NonNullable<DaemonStatus['transitionCounts']>[number];

export class History {
  readonly transitions: TransitionRecord[] = [];
  private readonly counts = new Map<string, Count>();

  constructor(private readonly wallMs: () => number) {}

  record(
    kind: 'INSTANCE' | 'GROUP',
    name: string,
    from: VrrpState,
    to: VrrpState,
    reasonKind: string,
    reason: string,
    priority: number,
  ): void {
    this.transitions.push({
      time: new Date(this.wallMs()).toISOString(),
      instance: name,
      kind,
      from,
      to,
      reasonKind,
      reason,
      priority,
    });
    const key = `${kind} ${name} ${to} ${reasonKind}`;
    const c = this.counts.get(key) ?? { instance: name, kind, to, reasonKind, count: 0 };
    c.count++;
    this.counts.set(key, c);
    if (this.transitions.length > MAX_TRANSITIONS) this.transitions.shift();
  }

  countList(): Count[] {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }
}

export interface StatusInputs {
  cfg: FloatdConfig;
  node: VrrpNode;
  insts: ReadonlyMap<string, InstanceRuntime>;
  trackers: TrackerSet | undefined;
  extraVips(name: string): VipConfig[];
  /** Addresses on each interface as the kernel last reported them (undefined: not read yet). */
  present(ifname: string, address: string): boolean | undefined;
}

export function instanceStatus(i: StatusInputs, rt: InstanceRuntime): InstanceStatus {
  const ic = rt.cfg;
  const inst = i.node.instance(ic.name);
  const unicast = ic.unicastPeers.length > 0;
  return {
    name: ic.name,
    interface: ic.interface,
    vrid: ic.vrid,
    version: ic.version,
    family: ic.family,
    state: inst?.state ?? 'INIT',
    since: rt.since,
    lastReason: rt.lastReason,
    ...(inst ? { reasonKind: inst.stateReason.kind } : {}),
    basePriority: inst?.basePriority ?? ic.priority,
    effectivePriority: inst?.effectivePriority ?? ic.priority,
    advertIntervalCs: ic.advertIntervalCs,
    unicast,
    ...(inst?.masterAddress !== undefined
      ? { master: { address: inst.masterAddress, priority: inst.masterPriority ?? 0 } }
      : {}),
    vips: vipSpecs(ic, i.extraVips(ic.name)).map((s) => ({
      address: `${s.address}/${s.prefix}`,
      dev: s.ifname,
      present: i.present(s.ifname, s.address) ?? rt.vipsUp,
    })),
    peers: (unicast ? ic.unicastPeers.map((p) => p.address) : [...rt.peers.keys()]).map((a) => {
      const h = rt.peers.get(a);
      return {
        address: a,
        ...(h ? { lastHeard: h.lastHeard, priority: h.priority, advertIntervalCs: h.advertIntervalCs } : {}),
      };
    }),
    trackers: (i.trackers?.status(ic.name) ?? []).map((t) => ({
      name: t.name,
      type: t.type,
      status: t.status,
      weight: t.weight,
      reverse: t.reverse,
      ...(t.lastResult !== undefined ? { lastResult: t.lastResult } : {}),
      ...(t.lastDurationMs !== undefined ? { lastDurationMs: t.lastDurationMs } : {}),
      ...(t.lastRun !== undefined ? { lastRun: t.lastRun } : {}),
    })),
    ...(rt.syncGroup ? { syncGroup: rt.syncGroup } : {}),
    floatingIps: ic.floatingIps,
    counters: structuredClone(rt.counters),
  };
}

/**
 * VIP presence as the kernel reports it (issue 15 item 26): re-read after each VIP change and
 * on each status call. While a re-read after a change is in flight, `has` says undefined (the
 * caller shows the intent); a read that started earlier never overwrites a later one.
 */
export class KernelPresence {
  private readonly seen = new Map<string, { seq: number; addrs: Set<string> }>();
  private readonly pending = new Map<string, number>();
  private seq = 0;

  constructor(private readonly dp: Pick<DataplanePort, 'listAddresses'>) {}

  has(ifname: string, address: string): boolean | undefined {
    return this.pending.has(ifname) ? undefined : this.seen.get(ifname)?.addrs.has(address);
  }

  refresh(ifnames: readonly string[], afterChange = false): void {
    for (const ifname of new Set(ifnames)) {
      const seq = ++this.seq;
      if (afterChange) this.pending.set(ifname, seq);
      const keep = (addrs: Set<string> | undefined): void => {
        if (this.pending.get(ifname) === seq) this.pending.delete(ifname);
        const cur = this.seen.get(ifname);
        if (cur && cur.seq > seq) return;
        if (addrs) this.seen.set(ifname, { seq, addrs });
        else this.seen.delete(ifname);
      };
      void this.dp.listAddresses(ifname).then(
        (a) => keep(new Set(a)),
        () => keep(undefined),
      );
    }
  }
}

export interface DaemonStatusInputs extends Omit<StatusInputs, 'present'> {
  presence: KernelPresence;
  quorum: QuorumWiring | undefined;
  cloud: CloudIps | undefined;
  history: History;
  notifier: Notifier;
  meta: { startedAt: string; configFile: string; configLoadedAt: string };
}

/** The whole status snapshot; also asks for a fresh read of the kernel's VIP presence. */
export function daemonStatus(d: DaemonStatusInputs): DaemonStatus {
  const inputs: StatusInputs = { ...d, present: (ifname, address) => d.presence.has(ifname, address) };
  const instances = [...d.insts.values()].map((rt) => ({
    ...instanceStatus(inputs, rt),
    ...quorumFields(d.quorum, rt.cfg.name, d.node.instance(rt.cfg.name)?.quorumDenied?.text),
  }));
  d.presence.refresh([...d.insts.values()].flatMap((rt) => vipSpecs(rt.cfg).map((s) => s.ifname)));
  return {
    version: VERSION,
    hostname: hostname(),
    routerId: d.cfg.global.routerId ?? hostname(),
    pid: process.pid,
    ...d.meta,
    instances,
    syncGroups: d.cfg.syncGroups.map((g) => ({
      name: g.name,
      state: d.node.groupStates().get(g.name) ?? 'INIT',
      members: g.members,
    })),
    floatingIps: d.cloud?.status() ?? [],
    transitions: [...d.history.transitions],
    notify: { runs: d.notifier.runs, failures: d.notifier.failures },
    transitionCounts: d.history.countList(),
    ...(d.quorum ? { quorum: d.quorum.status() } : {}),
  };
}
