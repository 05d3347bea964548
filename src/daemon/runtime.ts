/**
 * The composition root: builds the components for a configuration and wires them through the
 * ports (sockets, dataplane, link watch, trackers, clock). Decisions are the FSM's
 * (src/vrrp); actions are executed by executor.ts; the config → component mapping is
 * mapping.ts, reload planning reload-plan.ts, status views.ts, advert framing advert-io.ts.
 */
import type { FloatdConfig } from '../config/index.js';
import { VrrpNode } from '../vrrp/node.js';
import type { Event, VrrpInstance } from '../vrrp/fsm.js';
import { openVrrpSocket } from '../net/vrrp-socket.js';
import type { TrackerSet } from '../track/tracker-set.js';
import type { ScriptIdentity } from '../track/types.js';
import type { Notifier, NotifierHandOver } from '../notify/notifier.js';
import { SocketPool } from './socket-pool.js';
import { formatStats } from './dumps.js';
import type { DaemonStatus } from '../model/status-types.js';
import type { RuntimeLike } from './daemon.js';
import { CloudIps } from './cloud-ips.js';
import { providers } from '../cloud/providers/index.js';
import type { DataplanePort, LinkWatchPort } from './ports.js';
import { kernelDataplane } from './dataplane.js';
import { Executor, type ExecutorDeps, type InstanceRuntime } from './executor.js';
import { daemonStatus, History, KernelPresence } from './views.js';
import { instanceParams, vipSpecs } from './mapping.js';
import { buildNotifier } from './notify-setup.js';
import { InstanceSockets, newInstanceRuntime, resolveScriptUser, sourceAddress } from './instance-setup.js';
import { vipRemoved, wireTracking } from './tracking-wiring.js';
import { planReload, vipsToDrop } from './reload-plan.js';
import { AdvertReceiver } from './advert-io.js';
import { RuntimeFaults } from './runtime-faults.js';
import type { QuorumWiring } from '../quorum/wiring.js';
import { buildQuorum, type QuorumBridge } from './quorum-bridge.js';
import { handover, handoversDone, holdChanged, setInput, switchover, type Verdict, type VerbHost } from './verbs.js';
import { FloatdError, refuse, withCode } from '../errors.js';
import type { RuntimeOptions } from './runtime-options.js';

export type { RuntimeOptions } from './runtime-options.js';

export class Runtime implements RuntimeLike {
  private cfg!: FloatdConfig;
  private node!: VrrpNode;
  private readonly insts = new Map<string, InstanceRuntime>();
  private trackers?: TrackerSet;
  private pool!: SocketPool;
  private linkWatch?: LinkWatchPort;
  private notifier!: Notifier;
  private scriptUser: ScriptIdentity | undefined;
  private cloud?: CloudIps;
  /** Quorum mode (docs/quorum.md): present when an instance or group names a floatd_quorum. */
  private quorum?: QuorumWiring;
  private readonly history: History;
  private readonly exec: Executor;
  private readonly faults: RuntimeFaults;
  private readonly sockets: InstanceSockets;
  private readonly dataplane: DataplanePort;
  private readonly receiver: AdvertReceiver;
  private readonly startedAt: string;
  private configLoadedAt: string;
  private readonly presence: KernelPresence;
  private stopping = false;

  /** What quorum mode may do to the runtime (quorum-bridge.ts). */
  private readonly bridge: QuorumBridge = {
    clock: () => this.o.clock,
    log: () => this.o.log,
    instance: (n) => this.insts.get(n),
    exec: () => this.exec,
    dataplane: () => this.dataplane,
    cloud: () => this.cloud,
    step: (n, ev) => this.step(n, ev),
  };

  constructor(private readonly o: RuntimeOptions) {
    if (o.leaseBackend) this.bridge.backendFor = o.leaseBackend;
    this.startedAt = this.isoNow();
    this.configLoadedAt = this.startedAt;
    this.history = new History(() => o.clock.wallMs());
    this.dataplane = o.dataplane ?? kernelDataplane;
    this.presence = new KernelPresence(this.dataplane);
    const deps: ExecutorDeps = {
      clock: o.clock,
      log: o.log,
      dataplane: this.dataplane,
      history: this.history,
      node: () => this.node,
      instance: (n) => this.insts.get(n),
      notifier: () => this.notifier,
      linkWatch: () => this.linkWatch,
      extraVips: (n) => this.cloud?.localVips(n) ?? [],
      onState: (n, to, reason) => this.cloud?.onState(n, to as never, reason),
      quorum: () => this.quorum,
      feed: (n, ev) => this.step(n, ev),
      afterVipChange: (ifnames) => this.presence.refresh(ifnames, true),
    };
    this.exec = o.makeExecutor ? o.makeExecutor(deps) : new Executor(deps);
    this.faults = new RuntimeFaults(o.clock, (name, reason) => this.stepTracking(name, reason));
    this.sockets = new InstanceSockets({
      log: o.log,
      faults: this.faults,
      dataplane: this.dataplane,
      pool: () => this.pool,
      live: (rt) => !this.stopping && this.insts.get(rt.cfg.name) === rt,
    });
    this.receiver = new AdvertReceiver({
      clock: o.clock,
      log: o.log,
      instances: () => this.insts.values(),
      isoNow: () => this.isoNow(),
      fromPeer: (name) => this.cloud?.onAdvert(name),
      step: (name, ev) => this.step(name, ev),
    });
  }

  private isoNow(): string {
    return new Date(this.o.clock.wallMs()).toISOString();
  }

  private step(name: string | undefined, ev: Event): void {
    this.exec.run(this.node.step(this.o.clock.nowUs(), ev, name));
  }

  /** Trackers' aggregate plus the runtime's own faults (socket, missing interface). */
  private stepTracking(name: string, reason: string): void {
    if (!this.insts.has(name) || !this.trackers) return;
    const agg = this.trackers.aggregate(name);
    this.step(name, {
      type: 'tracking',
      priorityDelta: agg.priorityDelta,
      faults: [...agg.faults, ...this.faults.of(name)],
      reason,
    });
  }

  async start(): Promise<void> {
    const r = await this.o.load(this.o.configFile);
    if (!r.config)
      throw new FloatdError(
        'CONFIG_UNUSABLE',
        `configuration ${this.o.configFile} is not usable:\n${r.errors.join('\n')}`,
      );
    await this.build(r.config, new Set());
  }

  private async build(
    cfg: FloatdConfig,
    wasMaster: ReadonlySet<string>,
    prevTrackers?: TrackerSet,
    prevNotify?: NotifierHandOver,
  ): Promise<void> {
    this.cfg = cfg;
    this.configLoadedAt = this.isoNow();
    const log = this.o.log;
    this.cloud = new CloudIps(
      cfg,
      {
        log,
        clock: this.o.clock,
        factories: this.o.cloudProviders ?? providers,
        onContest: (name, reason) =>
          void this.notifier.floatingIp(
            name,
            reason ? 'CONTESTED' : 'UNCONTESTED',
            reason ?? 'the address is claimed again',
          ),
        mayAssign: (fip) => this.quorum?.permit(fip) ?? { ok: true },
      },
      this.cloud,
    ); // a reload keeps what the old one knew about peers' claims (issue 13)
    this.pool = new SocketPool(
      this.o.openSocket ?? openVrrpSocket,
      (p, s) => this.receiver.packet(p, s),
      (e) => {
        log.warn({ event: 'vrrp.socket_error', err: e.code ?? e.message }, `socket error: ${e.message}`);
      },
    );
    const infos = await Promise.all(cfg.instances.map((ic) => this.dataplane.interfaceInfo(ic.interface)));
    // The netlink and GARP sockets now, not during a takeover under descriptor pressure (issue 15 item 4).
    for (const m of this.dataplane.prepare?.(cfg.instances.map((ic) => ic.interface)) ?? []) {
      log.warn({ event: 'garp.error', err: m }, `GARP socket not open yet (${m}); opened at the first announcement`);
    }
    const params = cfg.instances.map((ic, i) => {
      const info = infos[i];
      const src = sourceAddress(ic, info);
      const rt = newInstanceRuntime(ic, src, this.isoNow());
      this.insts.set(ic.name, rt);
      if (!info) this.sockets.missing(rt);
      this.sockets.open(rt);
      const inQuorum = ic.quorum !== undefined || cfg.syncGroups.some((g) => g.quorum && g.members.includes(ic.name));
      return instanceParams(ic, src, inQuorum);
    });
    for (const g of cfg.syncGroups) {
      for (const m of g.members) {
        const rt = this.insts.get(m);
        if (rt) rt.syncGroup = g.name;
      }
    }
    this.quorum = cfg.quorums.length > 0 ? buildQuorum(cfg, this.bridge) : undefined;
    this.node = new VrrpNode(
      params,
      cfg.syncGroups.map((g) => ({ name: g.name, members: g.members })),
    );
    this.scriptUser = resolveScriptUser(cfg, log);
    this.notifier = buildNotifier(cfg, this.scriptUser, {
      log,
      clock: this.o.clock,
      ...(this.o.readFile ? { readFile: this.o.readFile } : {}),
      ...(prevNotify ? { previous: prevNotify } : {}),
    });
    const tw = wireTracking({
      cfg,
      scriptUser: this.scriptUser,
      ...(this.o.trackerHooks ? { hooks: this.o.trackerHooks } : {}),
      log,
      clock: this.o.clock,
      ...(this.o.linkWatch ? { linkWatch: this.o.linkWatch } : {}),
      onChange: (name, reason) => {
        if (this.insts.has(name)) this.stepTracking(name, reason);
      },
      onLinkUp: (ifname) => {
        for (const rt of this.insts.values()) if (rt.cfg.interface === ifname) this.faults.retryNow(rt.cfg.name);
      },
      onAddressRemoved: (ifname, address) =>
        vipRemoved(
          {
            insts: this.insts,
            inQuorum: (n) => this.quorum?.holder(n) !== undefined,
            log,
            step: (n, ev) => this.step(n, ev),
          },
          ifname,
          address,
        ),
    });
    this.trackers = tw.trackers;
    this.linkWatch = tw.watch;
    if (prevTrackers) this.trackers!.inheritFrom(prevTrackers);
    // Trackers' initial view goes in before start, so a faulted instance starts in FAULT.
    for (const name of this.insts.keys()) this.stepTracking(name, 'initial tracking state');
    // Maintenance holds apply before the first election.
    for (const name of this.o.holds?.() ?? [])
      if (this.insts.has(name)) this.step(name, { type: 'hold', key: 'maintenance', on: true, text: 'maintenance' });
    for (const name of this.insts.keys())
      this.step(name, { type: 'start', ...(wasMaster.has(name) ? { wasMaster: true } : {}) });
    await this.trackers!.start();
    this.linkWatch?.start();
  }

  /**
   * Graceful stop: each MASTER sends its priority-0 advert and keeps its VIPs until the new
   * MASTER speaks or its bound passes (the FSM's shutdown hand-over); the VIPs are gone before
   * stop() returns either way.
   */
  async stop(reason: string): Promise<void> {
    await this.teardown(new Set(), reason, true);
    await this.notifier.close();
  }

  /** Stops instances; those in `keep` (names) are left holding their VIPs for a reload. */
  private async teardown(keep: ReadonlySet<string>, reason: string, graceful: boolean): Promise<Promise<void>> {
    // Trackers stop reporting now; a check still running is not waited for here.
    const trackersStopped = this.trackers?.stop() ?? Promise.resolve();
    this.linkWatch?.stop();
    this.stopping = graceful;
    this.faults.stopAll();
    for (const name of this.insts.keys()) {
      if (keep.has(name)) continue;
      // The FSM decides what a graceful stop keeps: the VIPs until the new MASTER speaks, or in quorum
      // mode (the new MASTER needs the lease first) a drain, then the VIPs off and the lease after them.
      this.step(name, { type: 'shutdown', ...(graceful ? { handover: true } : {}) });
    }
    // A draining quorum MASTER still holds its lease: the renewals go on until its release (after the drain).
    if (graceful) await handoversDone(this.o.clock, () => this.node.instances);
    // Leases go back once the VIPs are off (the revoke waits on the network queue).
    await this.quorum?.stop(reason);
    // The old node goes away: its remaining timers (kept MASTERs') with it.
    for (const rt of this.insts.values()) for (const h of rt.timers.values()) this.o.clock.cancel(h);
    await this.exec.idle();
    this.pool.closeAll();
    this.cloud?.stop();
    this.receiver.flush();
    this.o.log.info({ event: 'daemon.stopped', reason }, `stopped: ${reason}`);
    return trackersStopped.then(() => undefined);
  }

  async reload(): Promise<{ ok: boolean; message: string }> {
    const r = await this.o.load(this.o.configFile, 'reload');
    if (!r.config) return refuse('CONFIG_UNUSABLE', r.errors.join('; '));
    const next = r.config;
    // Quorum instances re-elect: the lease is the old process's and goes back with its VIPs.
    const plan = planReload(
      this.cfg,
      next,
      (n) => this.node.instance(n)?.state,
      (n) => this.quorum?.holder(n) === undefined,
    );
    if (plan.kind === 'refuse') {
      this.o.log.error(
        { event: 'config.reload_refused', code: 'RELOAD_NO_INSTANCE' },
        withCode('RELOAD_NO_INSTANCE', plan.message),
      );
      return refuse('RELOAD_NO_INSTANCE', plan.message);
    }
    if (plan.kind === 'unchanged') return { ok: true, message: plan.message };
    const oldVips = [...this.insts.values()].flatMap((rt) => vipSpecs(rt.cfg, this.cloud?.localVips(rt.cfg.name)));
    const trackersStopped = await this.teardown(plan.keepMaster, 'reload', false);
    const oldTrackers = this.trackers;
    // Running notify scripts and checks finish in the background: adverts never wait for them.
    // The notifier hands its queues and announced states to the next one (notify/notifier.ts).
    const notifyCarry = this.notifier.handOver();
    void trackersStopped;
    this.insts.clear();
    this.trackers = undefined;
    this.linkWatch = undefined;
    await this.build(next, plan.keepMaster, oldTrackers, notifyCarry);
    const newVips = [...this.insts.values()].flatMap((rt) => vipSpecs(rt.cfg, this.cloud?.localVips(rt.cfg.name)));
    for (const s of vipsToDrop(oldVips, newVips)) {
      this.exec.enqueue(() =>
        this.dataplane.removeAddress(s).then(
          () => undefined,
          () => undefined,
        ),
      );
    }
    await this.exec.idle();
    return { ok: true, message: `configuration reloaded (${plan.keepMaster.size} MASTER instance(s) kept in place)` };
  }

  status(): DaemonStatus {
    return daemonStatus({
      cfg: this.cfg,
      node: this.node,
      insts: this.insts,
      trackers: this.trackers,
      extraVips: (n: string) => this.cloud?.localVips(n) ?? [],
      presence: this.presence,
      quorum: this.quorum,
      cloud: this.cloud,
      history: this.history,
      notifier: this.notifier,
      meta: { startedAt: this.startedAt, configFile: this.o.configFile, configLoadedAt: this.configLoadedAt },
    });
  }

  /** The kernel queue's current tail: resolves once every change queued so far has run (tests, simulator). */
  idle(): Promise<void> {
    return this.exec.idle();
  }

  /** Read-only view of an instance's state machine (the simulator's property checks). */
  machine(name: string): Pick<VrrpInstance, 'state' | 'effectivePriority' | 'faulted' | 'handoverPending'> | undefined {
    return this.node?.instance(name);
  }

  dataDump(): string {
    return JSON.stringify(this.status(), null, 2) + '\n';
  }
  statsDump(): string {
    return formatStats(this.status());
  }

  /** Operator verbs (verbs.ts): hand-over, switchover, maintenance, holds and gates, all as FSM inputs. */
  private verbHost(): VerbHost {
    return {
      machine: (n) => (this.trackers ? this.node?.instance(n) : undefined),
      nowUs: () => this.o.clock.nowUs(),
      step: (n, ev) => this.step(n, ev),
      held: (n) => this.o.holds?.().has(n) === true,
    };
  }

  handover(name: string, holdS: number): Verdict {
    return handover(this.verbHost(), name, holdS, false);
  }
  switchover(name: string, holdS: number): Verdict {
    return switchover(this.verbHost(), name, holdS);
  }
  holdChanged(name: string, reason: string): Verdict {
    return holdChanged(this.verbHost(), name, reason);
  }
  setHold(name: string, key: string, on: boolean, text?: string): boolean {
    return setInput(this.verbHost(), name, 'hold', key, on, text);
  }
  setGate(name: string, key: string, closed: boolean, text?: string): boolean {
    return setInput(this.verbHost(), name, 'inhibit', key, closed, text);
  }
}
