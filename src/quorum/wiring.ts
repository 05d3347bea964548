/**
 * Quorum mode inside the daemon: maps instances to their lease holder (the instance, or its
 * sync group), owns the QuorumGate and turns its callbacks into `lease` events for the VRRP
 * state machine (held / denied / lost: the FSM decides what each means, src/vrrp/fsm-gates.ts)
 * and kernel refreshes of the VIP lifetimes. The FSM's wantLease/releaseLease actions come in
 * through want/release; the executor also asks may it add VIPs, and what epoch is held.
 */
import { hostname } from 'node:os';
import type { FloatdConfig, QuorumConfig } from '../config/model.js';
import type { AddressSpec } from '../net/addresses.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { EtcdBackend, etcdOptions, type LeaseBackend } from './etcd.js';
import { QuorumGate, type QuorumEntry, type QuorumStatus } from './gate.js';
import { refreshLifetimes } from './vip-lifetime.js';
import { failsafePeers } from './failsafe-net.js';
import type { FenceGuardPort } from './fence-guard.js';
import type { GuardVip } from './guard-machine.js';

export interface WiringHooks {
  /** Feed the instance's state machine a `lease` event (held, denied with who holds it, lost = fenced). */
  lease(instance: string, status: 'held' | 'denied' | 'lost', text?: string, untilUs?: number): void;
  vipSpecs(instance: string): AddressSpec[];
  /** Whether the instance has its VIPs up (what the runtime believes). */
  vipsUp(instance: string): boolean;
  /** Re-arm one VIP's valid_lft through the runtime's dataplane port (default: src/net directly). */
  refreshLifetime?(spec: AddressSpec, seconds: number): Promise<void>;
  /** Run a VIP job on the runtime's serial network queue; resolves when it has run. */
  enqueue(job: () => Promise<void>): Promise<void>;
  /** Something to show changed (status, reasons). */
  changed?(instance: string): void;
}

export interface WiringOptions {
  clock: Clock;
  log: Logger;
  hooks: WiringHooks;
  nodeName?: string;
  backendFor?: (q: QuorumConfig) => LeaseBackend;
  /** The fence guard of a block with `fence_guard on` (src/quorum/fence-guard.ts); undefined: none. */
  guardFor?: (q: QuorumConfig) => FenceGuardPort | undefined;
}

export class QuorumWiring {
  readonly gate: QuorumGate;
  private readonly holderOf = new Map<string, string>();
  private readonly membersOf = new Map<string, string[]>();
  private readonly lifetimeOf = new Map<string, number>();
  private readonly notAfter = new Map<string, number>();
  /** floating_ip name → the lease holders of the instances that carry it. */
  private readonly fipHolders = new Map<string, Set<string>>();
  private readonly guardOf = new Map<string, FenceGuardPort>();
  private stopped = false;

  constructor(
    cfg: FloatdConfig,
    private readonly o: WiringOptions,
  ) {
    const entries: QuorumEntry[] = [];
    const byName = new Map(cfg.quorums.map((q) => [q.name, q]));
    for (const g of cfg.syncGroups) {
      const q = g.quorum ? byName.get(g.quorum) : undefined;
      if (!q) continue;
      entries.push({ holder: g.name, quorum: q, peers: failsafePeers(cfg, q) });
      this.membersOf.set(g.name, [...g.members]);
      for (const m of g.members) this.holderOf.set(m, g.name);
      this.lifetimeOf.set(g.name, q.kernelLifetimeS);
    }
    for (const ic of cfg.instances) {
      const q = ic.quorum ? byName.get(ic.quorum) : undefined;
      if (!q || this.holderOf.has(ic.name)) continue;
      entries.push({ holder: ic.name, quorum: q, peers: failsafePeers(cfg, q) });
      this.membersOf.set(ic.name, [ic.name]);
      this.holderOf.set(ic.name, ic.name);
      this.lifetimeOf.set(ic.name, q.kernelLifetimeS);
    }
    for (const ic of cfg.instances) {
      const holder = this.holderOf.get(ic.name);
      if (holder === undefined) continue;
      for (const f of ic.floatingIps) (this.fipHolders.get(f) ?? this.fipHolders.set(f, new Set()).get(f)!).add(holder);
    }
    for (const e of entries) {
      const g = e.quorum.fenceGuard ? o.guardFor?.(e.quorum) : undefined;
      if (g) this.guardOf.set(e.holder, g);
    }
    for (const g of new Set(this.guardOf.values())) {
      g.onChange((running) => this.guardChanged(g, running));
      g.onRemoved((holder) => this.guardRemoved(g, holder));
    }
    const h = o.hooks;
    this.gate = new QuorumGate(entries, {
      clock: o.clock,
      log: o.log,
      nodeName: o.nodeName ?? cfg.global.routerId ?? hostname(),
      backendFor: o.backendFor ?? ((q) => new EtcdBackend(etcdOptions(q), o.clock, q.dialTimeoutMs)),
      hooks: {
        onHold: (holder) => {
          if (!this.guardOk(holder)) {
            // Never weaker than without the guard: configured but not running, no hold.
            const why = 'the fence guard is not running (QUORUM_GUARD_DOWN)';
            for (const m of this.members(holder)) h.lease(m, 'denied', why);
            queueMicrotask(() => this.gate.unwant(holder, why));
            return;
          }
          for (const m of this.members(holder)) h.lease(m, 'held', undefined, this.gate.deadline(holder));
        },
        onDeadline: (holder, d) => {
          const g = this.guardOf.get(holder);
          if (!g) return;
          if (d === undefined) g.release(holder);
          else g.hold(holder, d, this.guardVips(holder));
        },
        onFence: (holder, kind, reason) => {
          if (kind === 'released') return; // the FSM gave it back
          for (const m of this.members(holder)) h.lease(m, 'lost', reason);
        },
        onKernelRefresh: (holder, notAfterUs) => this.refresh(holder, notAfterUs),
        // Behind every VIP removal queued so far *and* those the current batch of FSM actions still
        // queues: a sync group's release comes with its first member's transition, before the other
        // members' removals (found by test/sim/shipped-quorum.ts). The executor runs a batch synchronously.
        vipsGone: () => Promise.resolve().then(() => h.enqueue(async () => undefined)),
        onChange: (holder) => {
          const phase = this.gate.status().find((x) => x.holder === holder)?.phase;
          const denied = phase === 'denied' || phase === 'unreachable';
          const until = this.may(holder) ? this.gate.deadline(holder) : undefined;
          for (const m of this.members(holder)) {
            if (denied) h.lease(m, 'denied', this.gate.deniedText(holder));
            else if (until !== undefined) h.lease(m, 'held', undefined, until); // the deadline moved
            h.changed?.(m);
          }
        },
      },
    });
  }

  get size(): number {
    return this.membersOf.size;
  }
  holder(instance: string): string | undefined {
    return this.holderOf.get(instance);
  }
  private members(holder: string): string[] {
    return this.membersOf.get(holder) ?? [];
  }

  /**
   * The FSM's wantLease. A lease already held (a sync group's, taken for a sibling) is answered
   * at once, after the current actions run; otherwise the machine acquires (or keeps asking).
   */
  want(instance: string): void {
    const holder = this.holderOf.get(instance);
    if (holder === undefined) return;
    if (this.may(holder)) {
      queueMicrotask(() => {
        if (this.may(holder)) this.o.hooks.lease(instance, 'held', undefined, this.gate.deadline(holder));
      });
      return;
    }
    this.gate.want(holder);
  }

  /** The FSM's releaseLease: an instance (or, for a group, the whole group) gives the lease back. */
  release(instance: string, why: string): void {
    this.leftMaster(instance, why);
  }

  /** Defence in depth at the last step: VIPs go up only under a held lease. */
  mayAddVips(instance: string): boolean {
    const holder = this.holderOf.get(instance);
    return holder === undefined || this.may(holder);
  }

  /** The lease held and, where configured, the fence guard running. */
  private may(holder: string): boolean {
    return this.gate.mayHold(holder) && this.guardOk(holder);
  }
  private guardOk(holder: string): boolean {
    return this.guardOf.get(holder)?.running() ?? true;
  }
  private guardVips(holder: string): GuardVip[] {
    return this.members(holder).flatMap((m) =>
      this.o.hooks.vipSpecs(m).map((v) => ({
        ifname: v.ifname,
        address: v.address,
        prefix: v.prefix ?? (v.address.includes(':') ? 128 : 32),
        ...(v.peer ? { peer: v.peer } : {}),
      })),
    );
  }

  /** The guard removed a holder's VIPs at a deadline this daemon has since extended (a late message): fence. */
  private guardRemoved(g: FenceGuardPort, holder: string): void {
    if (this.stopped || this.guardOf.get(holder) !== g || !this.gate.mayHold(holder)) return;
    for (const m of this.members(holder))
      this.o.hooks.lease(m, 'lost', 'the fence guard removed the VIPs at the deadline');
  }

  /** The guard stopped running: whatever it guarded fences now (held again once it runs and VRRP asks). */
  private guardChanged(g: FenceGuardPort, running: boolean): void {
    if (running || this.stopped) return;
    for (const [holder, x] of this.guardOf) {
      if (x !== g || !this.gate.mayHold(holder)) continue;
      for (const m of this.members(holder))
        this.o.hooks.lease(m, 'lost', 'the fence guard stopped (QUORUM_GUARD_DOWN)');
    }
  }

  /** The VIP lifetime (s) to add an instance's addresses with, and the guard for it; undefined: plain add. */
  lifetime(instance: string): { seconds: number; guard: () => boolean } | undefined {
    const holder = this.holderOf.get(instance);
    const s = holder === undefined ? 0 : (this.lifetimeOf.get(holder) ?? 0);
    if (holder === undefined || s === 0) return undefined;
    const guard = (): boolean => this.o.clock.nowUs() <= (this.notAfter.get(holder) ?? -1) && this.may(holder);
    return { seconds: s, guard };
  }

  /**
   * The cloud runner's fencing check right before an assign (synchronous): only under a lease
   * whose deadline has not passed. The key cannot change hands while our lease lives unless it
   * is deleted, and the watch fences us then; `QuorumGate.confirm` is the linearizable variant.
   */
  permit(floatingIp: string): { ok: boolean; epoch?: number; reason?: string } {
    const holders = this.fipHolders.get(floatingIp);
    if (!holders) return { ok: true };
    for (const h of holders) {
      const epoch = this.gate.epoch(h);
      if (this.may(h) && epoch !== undefined) return { ok: true, epoch };
    }
    const h = [...holders][0]!;
    return { ok: false, reason: `no quorum lease (${this.gate.deniedText(h)})` };
  }

  epoch(instance: string): number | undefined {
    const holder = this.holderOf.get(instance);
    return holder === undefined ? undefined : this.gate.epoch(holder);
  }

  /** An instance (or, for a group, the whole group) left MASTER: give the lease back. */
  leftMaster(name: string, why: string): void {
    const holder = this.holderOf.get(name) ?? (this.membersOf.has(name) ? name : undefined);
    if (holder === undefined) return;
    if (holder !== name && this.membersOf.get(holder)!.length > 1) return; // a member: the group's transition decides
    this.gate.unwant(holder, why);
  }

  status(): QuorumStatus[] {
    return this.gate.status();
  }

  async stop(why: string): Promise<void> {
    this.stopped = true;
    await this.gate.stop(why);
  }

  private refresh(holder: string, notAfterUs: number): void {
    this.notAfter.set(holder, notAfterUs);
    const seconds = this.lifetimeOf.get(holder) ?? 0;
    if (seconds === 0) return;
    const guard = (): boolean => this.o.clock.nowUs() <= notAfterUs && this.may(holder);
    for (const m of this.members(holder)) {
      if (!this.o.hooks.vipsUp(m)) continue;
      const specs = this.o.hooks.vipSpecs(m);
      void this.o.hooks.enqueue(() =>
        refreshLifetimes(specs, seconds, guard, this.o.hooks.refreshLifetime).then(
          () => undefined,
          (e: Error) => {
            this.o.log.warn(
              { event: 'quorum.lifetime_error', instance: m, code: 'QUORUM_LIFETIME_FAILED' },
              `(${m}) VIP lifetime refresh failed: ${e.message}`,
            );
          },
        ),
      );
    }
  }
}
