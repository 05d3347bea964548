/**
 * The executor: performs the state machine's actions mechanically, in order, through the
 * ports. It decides nothing: the order of adverts and VIP changes, hand-over waits, holds and
 * timer lateness are the FSM's (src/vrrp). Kernel changes run through one queue in action
 * order; `reportVipsReady` is a marker in that queue that feeds `vipsReady` back.
 */
import type { InstanceConfig } from '../config/index.js';
import type { VrrpSocket } from '../net/vrrp-socket.js';
import type { Notifier } from '../notify/notifier.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Action, Event, TimerName } from '../vrrp/fsm.js';
import type { NodeAction, VrrpNode } from '../vrrp/node.js';
import type { VipConfig } from '../config/model.js';
import type { AddressSpec } from '../net/addresses.js';
import type { InstanceStatus } from '../model/status-types.js';
import type { DataplanePort, LinkWatchPort } from './ports.js';
import type { History } from './views.js';
import { advertFrames } from './advert-io.js';
import { vipSpecs } from './mapping.js';

/** What the shell keeps per instance: its config, socket, timers and counters. */
export interface InstanceRuntime {
  cfg: InstanceConfig;
  socket?: VrrpSocket;
  src: string;
  dsts: string[];
  ipId: number;
  timers: Map<TimerName, TimerHandle>;
  /** What the last executed VIP action asked for (the kernel's view is in status). */
  vipsUp: boolean;
  since: string;
  lastReason: string;
  peers: Map<string, { lastHeard: string; priority: number; advertIntervalCs: number }>;
  counters: InstanceStatus['counters'];
  syncGroup?: string;
}

export interface ExecutorDeps {
  clock: Clock;
  log: Logger;
  dataplane: DataplanePort;
  node(): VrrpNode;
  instance(name: string): InstanceRuntime | undefined;
  notifier(): Notifier;
  linkWatch(): LinkWatchPort | undefined;
  history: History;
  /** Cloud-local extra VIPs of an instance. */
  extraVips(name: string): VipConfig[];
  onState(name: string, to: string, reason: string): void;
  /** Quorum mode (src/quorum/wiring.ts): lease guards on VIP adds, epochs, fenced transitions. */
  quorum(): QuorumHooks | undefined;
  /** After a VIP change job: the interfaces whose addresses changed (status re-reads them). */
  afterVipChange(ifnames: string[]): void;
  /** Steps the node with an event and executes what it returns (timers, vipsReady). */
  feed(name: string, ev: Event): void;
}

/** What the executor asks quorum mode (QuorumWiring fits). */
export interface QuorumHooks {
  mayAddVips(instance: string): boolean;
  lifetime(instance: string): { seconds: number; guard: () => boolean } | undefined;
  epoch(instance: string): number | undefined;
  /** The FSM's wantLease / releaseLease. */
  want(instance: string): void;
  release(instance: string, why: string): void;
  /** A sync group left MASTER: its lease goes back. */
  leftMaster(name: string, why: string): void;
}

const NOTHING: Promise<void> = Promise.resolve();

export class Executor {
  /** Serialises kernel changes so VIP adds/removes and GARPs happen in action order. */
  private netQueue: Promise<void> = Promise.resolve();
  /**
   * The hand-over drain's block/unblock, in order among themselves and each after the kernel changes
   * queued before it, but off `netQueue`: a lease revoke waiting there for the VIP removal does not
   * also wait for an nft run.
   */
  private drainQueue: Promise<void> = NOTHING;
  /** idle()'s answer for the current pair of queues: the same promise until either moves (callers compare them). */
  private idleOf: { net: Promise<void>; drain: Promise<void>; both: Promise<void> } | undefined;

  constructor(protected readonly d: ExecutorDeps) {}

  /** Waits for every queued kernel change. */
  idle(): Promise<void> {
    const [net, drain] = [this.netQueue, this.drainQueue];
    if (drain === NOTHING) return net; // no drain ever queued (the usual case)
    if (this.idleOf?.net !== net || this.idleOf.drain !== drain)
      this.idleOf = { net, drain, both: Promise.all([net, drain]).then(() => undefined) };
    return this.idleOf.both;
  }

  /** Queues a kernel job behind the others. */
  enqueue(job: () => Promise<void> | void): Promise<void> {
    const run = async (): Promise<void> => {
      await job();
    };
    const p = this.netQueue.then(run, run);
    this.netQueue = p;
    return p;
  }

  run(actions: readonly NodeAction[]): void {
    for (const na of actions) {
      if ('group' in na) this.groupTransition(na.group, na.action);
      else {
        const rt = this.d.instance(na.instance);
        if (rt) this.one(na.instance, rt, na.action);
      }
    }
  }

  private groupTransition(group: string, t: Extract<NodeAction, { group: string }>['action']): void {
    this.d.history.record('GROUP', group, t.from, t.to, t.reason.kind, t.reason.text, 0);
    this.d.log.info({ event: 'vrrp.group_transition', group, from: t.from, to: t.to }, t.reason.text);
    if (t.from === 'MASTER') this.d.quorum()?.leftMaster(group, t.reason.text);
    if (t.to !== 'INIT')
      void this.d
        .notifier()
        .notify({ kind: 'GROUP', name: group, from: t.from, to: t.to, priority: 0, reason: t.reason.text });
  }

  protected one(name: string, rt: InstanceRuntime, a: Action): void {
    const { log, clock } = this.d;
    switch (a.type) {
      case 'sendAdvert':
        // Quorum mode: a MASTER past its lease deadline (a SIGSTOPped daemon resuming) resigns in the
        // FSM before its overdue advert goes out (src/vrrp/fsm-gates.ts lapsedLease).
        this.sendAdvert(rt, a.priority);
        break;
      case 'addVips': {
        const q = this.d.quorum();
        if (q && !q.mayAddVips(name)) {
          log.error(
            { event: 'quorum.refused', instance: name },
            `(${name}) not adding VIPs: this node does not hold the lease`,
          );
          break;
        }
        this.changeVips(rt, true);
        break;
      }
      case 'removeVips':
        this.changeVips(rt, false);
        break;
      case 'garp':
        this.garp(rt, a.burst);
        break;
      case 'reportVipsReady':
        this.enqueue(() => this.d.feed(name, { type: 'vipsReady' }));
        break;
      case 'transition':
        this.transition(name, rt, a);
        break;
      case 'priorityChanged':
        log.info(
          { event: 'vrrp.priority', instance: name, from: a.from, to: a.to },
          `Changing effective priority from ${a.from} to ${a.to}`,
        );
        break;
      case 'masterRxLowerPri': {
        const prio = this.d.node().instance(name)?.effectivePriority ?? 0;
        void this.d.notifier().event(name, 'MASTER_RX_LOWER_PRI', prio);
        log.info(
          { event: 'vrrp.rx_lower_pri', instance: name, peer: a.peer },
          `Received advert from ${a.peer} with lower priority ${a.peerPriority}, ours ${prio}, forcing new election`,
        );
        break;
      }
      case 'setTimer': {
        const old = rt.timers.get(a.timer);
        if (old) clock.cancel(old);
        rt.timers.set(
          a.timer,
          clock.at(a.at, () => {
            rt.timers.delete(a.timer);
            this.d.feed(name, { type: 'timer', timer: a.timer });
          }),
        );
        break;
      }
      case 'cancelTimer': {
        const h = rt.timers.get(a.timer);
        if (h) {
          clock.cancel(h);
          rt.timers.delete(a.timer);
        }
        break;
      }
      case 'wantLease':
        this.d.quorum()?.want(name);
        break;
      case 'releaseLease':
        this.d.quorum()?.release(name, a.why);
        break;
      case 'blockNew':
      case 'unblockNew':
        this.drain(rt, a.type === 'blockNew');
        break;
      case 'log':
        log[a.level]({ event: 'vrrp.log', instance: name }, a.text);
        break;
    }
  }

  private transition(name: string, rt: InstanceRuntime, a: Extract<Action, { type: 'transition' }>): void {
    const prio = this.d.node().instance(name)?.effectivePriority ?? rt.cfg.priority;
    if (a.to === 'MASTER') rt.counters.becameMaster++;
    if (a.from === 'MASTER') rt.counters.releasedMaster++;
    rt.since = new Date(this.d.clock.wallMs()).toISOString();
    rt.lastReason = a.reason.text;
    const q = this.d.quorum();
    this.d.history.record('INSTANCE', name, a.from, a.to, a.reason.kind, a.reason.text, prio);
    this.d.onState(name, a.to, a.reason.text);
    this.d.log.info(
      { event: 'vrrp.transition', instance: name, from: a.from, to: a.to, reason: a.reason.kind },
      transitionMessage(a.to, a.reason.kind, a.reason.text),
    );
    if (a.to === 'INIT') return;
    const epoch = q?.epoch(name);
    void this.d.notifier().notify({
      kind: 'INSTANCE',
      name,
      from: a.from,
      to: a.to,
      priority: prio,
      basePriority: rt.cfg.priority,
      reason: a.reason.text,
      ...(rt.syncGroup ? { group: rt.syncGroup } : {}),
      ...(epoch !== undefined && a.to === 'MASTER' ? { epoch } : {}),
    });
  }

  sendAdvert(rt: InstanceRuntime, priority: number): void {
    if (!rt.socket) return;
    const ic = rt.cfg;
    const nextId = (): number => (rt.ipId = (rt.ipId + 1) & 0xffff || 1); // keepalived skips id 0
    for (const dst of rt.dsts) {
      try {
        for (const f of advertFrames(ic, rt.src, [dst], priority, nextId)) rt.socket.send(f.bytes, f.dst);
        rt.counters.advertsSent++;
        if (priority === 0) rt.counters.priorityZeroSent++;
      } catch (e) {
        this.d.log.warn(
          { event: 'vrrp.send_error', instance: ic.name, dst, err: (e as NodeJS.ErrnoException).code ?? String(e) },
          `cannot send advert to ${dst}: ${(e as Error).message}`,
        );
      }
    }
  }

  changeVips(rt: InstanceRuntime, up: boolean): void {
    rt.vipsUp = up;
    const specs = vipSpecs(rt.cfg, this.d.extraVips(rt.cfg.name));
    const name = rt.cfg.name;
    const { dataplane, log } = this.d;
    this.enqueue(async () => {
      const watch = this.d.linkWatch();
      for (const s of specs) {
        try {
          if (up) {
            if (await this.addOne(name, s)) {
              log.info(
                { event: 'vip.add', instance: name, address: s.address, dev: s.ifname },
                `added ${s.address}/${s.prefix} on ${s.ifname}`,
              );
            }
            watch?.watchAddress(s.ifname, s.address);
          } else {
            watch?.unwatchAddress(s.ifname, s.address);
            if (await dataplane.removeAddress(s)) {
              log.info(
                { event: 'vip.del', instance: name, address: s.address, dev: s.ifname },
                `removed ${s.address}/${s.prefix} from ${s.ifname}`,
              );
            }
          }
        } catch (e) {
          log.error(
            { event: 'vip.error', instance: name, address: s.address, err: (e as Error).message },
            `cannot ${up ? 'add' : 'remove'} ${s.address}: ${(e as Error).message}`,
          );
        }
      }
      for (const r of rt.cfg.routes) {
        try {
          await (up ? dataplane.addRoute(r) : dataplane.removeRoute(r));
        } catch (e) {
          log.error(
            { event: 'route.error', instance: name, err: (e as Error).message },
            `virtual_route ${r.join(' ')}: ${(e as Error).message}`,
          );
        }
      }
      this.d.afterVipChange(specs.map((s) => s.ifname));
    });
  }

  private drain(rt: InstanceRuntime, on: boolean): void {
    const { dataplane, log } = this.d;
    const name = rt.cfg.name;
    if (!dataplane.blockNew) return;
    const specs = vipSpecs(rt.cfg, this.d.extraVips(name));
    const job = async (): Promise<void> => {
      try {
        await dataplane.blockNew!(name, specs, on);
        const text = on ? 'new connections to the VIPs dropped (drain)' : 'drain ended: new connections accepted';
        log.info({ event: on ? 'vip.drain' : 'vip.drain_end', instance: name }, `(${name}) ${text}`);
      } catch (e) {
        if (!on && (e as NodeJS.ErrnoException).code === 'ENOENT') return; // no nft: nothing was ever blocked
        // Without the block the drain still lets open connections finish; new ones may be cut at the move.
        log.warn(
          { event: 'vip.drain_error', instance: name, err: (e as Error).message },
          `(${name}) cannot ${on ? 'drop' : 'stop dropping'} new connections: ${(e as Error).message}`,
        );
      }
    };
    this.drainQueue = Promise.all([this.netQueue, this.drainQueue]).then(job, job);
  }

  /** One VIP add; in quorum mode with a lifetime, only while the lease guard holds. */
  private async addOne(name: string, s: AddressSpec): Promise<boolean> {
    const lt = this.d.quorum()?.lifetime(name);
    if (!lt) return this.d.dataplane.addAddress(s);
    if (!lt.guard()) return false;
    if (await this.d.dataplane.addAddress({ ...s, validLft: lt.seconds })) return true;
    if (lt.guard()) await this.d.dataplane.refreshLifetime(s, lt.seconds); // already there: re-arm it
    return false;
  }

  private garp(rt: InstanceRuntime, burst: string): void {
    const g = rt.cfg.garp;
    const repeat =
      burst === 'refresh' ? g.masterRefreshRepeat : burst === 'lowerPrio' ? g.lowerPrioRepeat : g.masterRepeat;
    const specs = vipSpecs(rt.cfg, this.d.extraVips(rt.cfg.name));
    this.enqueue(() => {
      for (let i = 0; i < Math.max(1, repeat); i++) {
        for (const s of specs) {
          try {
            if (this.d.dataplane.announce(s.ifname, s.address)) rt.counters.garpsSent++;
          } catch (e) {
            this.d.log.warn(
              { event: 'garp.error', instance: rt.cfg.name, err: (e as Error).message },
              `gratuitous ARP failed: ${(e as Error).message}`,
            );
          }
        }
      }
      this.d.log.debug(
        { event: 'garp.sent', instance: rt.cfg.name, burst, repeat },
        `Sending/queueing gratuitous ARPs on ${rt.cfg.interface}`,
      );
    });
  }
}

/** keepalived's "Entering X STATE" line, plus the cause when the FSM's text adds one. */
export function transitionMessage(to: string, kind: string, text: string): string {
  const head = `Entering ${to} STATE${kind === 'init' ? ' (init)' : ''}`;
  const cause = text.replace(/^\([^)]*\) /, '');
  return cause.startsWith('Entering') ? cause : `${head} — ${cause}`;
}
