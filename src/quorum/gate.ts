/**
 * The quorum gate: one LeaseMachine per lease key (an instance, or a sync group), driven by the
 * clock and a LeaseBackend, its actions executed here and reported to the runtime through
 * callbacks. It decides nothing itself: what to do on each event is the machine's.
 */
import type { QuorumConfig } from '../config/model.js';
import { quorumKey } from '../config/quorum-block.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { LeaseMachine, type LeaseAction, type LeaseEvent } from './lease.js';
import type { QuorumStatus } from '../model/status-types.js';

export type { QuorumStatus };
import type { KeepAliveStream, LeaseBackend } from './etcd.js';
import { answerPeer } from './failsafe.js';
import { FailsafeLinks } from './failsafe-net.js';
import type { QuorumErrorCode } from '../errors.js';
import type { LeasePhase } from '../model/status-types.js';

/** The phases that are a refusal or a fault, and their stable codes (docs/errors.md, Quorum). */
const PHASE_CODE: Partial<Record<LeasePhase, QuorumErrorCode>> = {
  denied: 'QUORUM_DENIED',
  unreachable: 'QUORUM_UNREACHABLE',
};

export interface GateHooks {
  /** The holder may hold its VIPs from now on (the FSM may go MASTER). */
  onHold(holder: string, epoch: number): void;
  /** The holder must drop its VIPs now. */
  onFence(holder: string, kind: 'deadline' | 'lease_gone' | 'released', reason: string): void;
  /** Refresh the holder's VIP lifetimes, unless the clock is past notAfterUs when the change would run. */
  onKernelRefresh(holder: string, notAfterUs: number): void;
  /** Resolves once the holder's VIP removals queued so far are done (a revoke waits for it). */
  vipsGone(holder: string): Promise<void>;
  /** Phase, holder or epoch changed (status, metrics, reasons). */
  onChange?(holder: string): void;
  /** Until when the holder may hold now (each extension), undefined once it may not (the fence guard's feed). */
  onDeadline?(holder: string, deadlineUs: number | undefined): void;
}

export interface QuorumEntry {
  holder: string;
  quorum: QuorumConfig;
  /** on_quorum_loss failsafe: every peer to ask (src/quorum/failsafe-net.ts failsafePeers). */
  peers?: string[];
}

interface Slot {
  e: QuorumEntry;
  key: string;
  m: LeaseMachine;
  backend: LeaseBackend;
  timer?: TimerHandle;
  stream?: { gen: number; s: KeepAliveStream };
  watch?: { close(): void };
  /** The deadline last told to onDeadline. */
  told?: number;
}

export interface GateOptions {
  clock: Clock;
  log: Logger;
  /** The value written into the key: this node's name (router_id or hostname). */
  nodeName: string;
  backendFor(q: QuorumConfig): LeaseBackend;
  hooks: GateHooks;
}

export class QuorumGate {
  private readonly slots = new Map<string, Slot>();
  private readonly backends = new Map<string, LeaseBackend>();
  private stopped = false;
  /** Revokes on their way (some wait for the VIP removal): stop() lets them finish before closing. */
  private readonly revoking = new Set<Promise<void>>();
  private readonly failsafe: FailsafeLinks;

  constructor(
    entries: readonly QuorumEntry[],
    private readonly o: GateOptions,
  ) {
    const now = (): number => o.clock.nowUs();
    this.failsafe = new FailsafeLinks({ log: o.log, nodeName: o.nodeName, nowUs: now, answer: (k) => this.ask(k) });
    for (const e of entries) {
      let backend = this.backends.get(e.quorum.name);
      if (!backend) {
        backend = o.backendFor(e.quorum);
        this.backends.set(e.quorum.name, backend);
      }
      const q = e.quorum;
      const m = new LeaseMachine(
        quorumKey(q, e.holder),
        {
          ttlUs: q.ttlMs * 1000,
          renewUs: q.renewMs * 1000,
          marginUs: q.marginMs * 1000,
          kernelLifetimeUs: q.kernelLifetimeS * 1_000_000,
          retryUs: Math.max(q.renewMs, 250) * 1000,
        },
        this.failsafe.machine(q, e.peers ?? []),
      );
      const slot: Slot = { e, key: quorumKey(q, e.holder), m, backend };
      this.slots.set(e.holder, slot);
      this.watch(slot); // from the start: a BACKUP that becomes a candidate must not miss the release
    }
  }

  /** A peer's failsafe question about one of our keys. */
  private ask(key: string): { ok: boolean; why: string } | undefined {
    for (const s of this.slots.values()) if (s.key === key) return answerPeer(s.m, this.o.clock.nowUs());
    return undefined;
  }

  private watch(s: Slot): void {
    s.watch ??= s.backend.watch(s.key, (ev) => {
      // Logged as seen (deletions are rare): how fast a BACKUP learns of a release, in the lab too.
      if (ev.type === 'deleted') {
        const text = `(${s.e.holder}) watch: ${s.key} deleted at revision ${ev.revision}`;
        this.o.log.info({ event: 'quorum.watch_deleted', holder: s.e.holder, key: s.key, revision: ev.revision }, text);
      }
      this.step(
        s.e.holder,
        ev.type === 'deleted'
          ? { type: 'keyDeleted', revision: ev.revision }
          : { type: 'keyCreated', epoch: ev.epoch, holder: ev.holder },
      );
    });
  }

  has(holder: string): boolean {
    return this.slots.has(holder);
  }
  mayHold(holder: string): boolean {
    const s = this.slots.get(holder);
    return s === undefined || s.m.mayHold(this.o.clock.nowUs());
  }
  epoch(holder: string): number | undefined {
    return this.slots.get(holder)?.m.epoch;
  }
  /** Until when the holder may hold (lease deadline or failsafe cover), while it holds. */
  deadline(holder: string): number | undefined {
    return this.slots.get(holder)?.m.deadlineUs;
  }

  want(holder: string): void {
    this.step(holder, { type: 'want' });
  }
  unwant(holder: string, why: string): void {
    this.step(holder, { type: 'unwant', why });
  }

  /** Right before an irreversible act: is this node's epoch still the key's (a linearizable read)? */
  async confirm(holder: string): Promise<boolean> {
    const s = this.slots.get(holder);
    if (!s) return true;
    const epoch = s.m.epoch;
    if (epoch === undefined || !s.m.mayHold(this.o.clock.nowUs())) return false;
    return s.backend.confirm(s.key, epoch).catch(() => false);
  }

  /** Why a denied holder may not go MASTER, for the reason text. */
  deniedText(holder: string): string {
    const s = this.slots.get(holder);
    if (!s) return '';
    const h = s.m.holder;
    if (s.m.phase === 'denied' && h) return `lease ${s.key} is held by ${h.name} (epoch ${h.epoch})`;
    if (s.m.phase === 'unreachable') return `etcd unreachable for ${s.key}${s.m.error ? `: ${s.m.error}` : ''}`;
    return `waiting for lease ${s.key}`;
  }

  status(): QuorumStatus[] {
    const now = this.o.clock.nowUs();
    return [...this.slots.values()].map((s) => {
      const d = s.m.deadlineUs;
      return {
        holder: s.e.holder,
        quorum: s.e.quorum.name,
        key: s.key,
        phase: s.m.phase,
        ...(s.m.epoch !== undefined ? { epoch: s.m.epoch } : {}),
        ...(d !== undefined && s.m.mayHold(now) ? { deadlineInMs: Math.round((d - now) / 1000) } : {}),
        ...(s.m.phase === 'denied' && s.m.holder ? { heldBy: s.m.holder } : {}),
        ...(s.m.error ? { error: s.m.error } : {}),
        ...(PHASE_CODE[s.m.phase] ? { errorCode: PHASE_CODE[s.m.phase] } : {}),
        ...(s.m.onPeers(now) ? { failsafe: true } : {}),
      };
    });
  }

  /** Stop: every lease given back (after the VIPs are gone), timers and streams closed. */
  async stop(why: string): Promise<void> {
    const revokes: Promise<void>[] = [];
    for (const [holder, s] of this.slots) {
      for (const a of s.m.step(this.o.clock.nowUs(), { type: 'unwant', why })) {
        if (a.type === 'revoke') revokes.push(this.o.hooks.vipsGone(holder).then(() => s.backend.revoke(a.leaseId)));
        else if (a.type === 'fence') this.o.hooks.onFence(holder, a.kind, a.reason);
      }
    }
    this.stopped = true;
    await Promise.all([...revokes, ...this.revoking]);
    for (const s of this.slots.values()) {
      if (s.timer) this.o.clock.cancel(s.timer);
      s.stream?.s.close();
      s.watch?.close();
    }
    for (const b of this.backends.values()) b.close();
    this.failsafe.close();
  }

  private step(holder: string, ev: LeaseEvent): void {
    const s = this.slots.get(holder);
    if (!s || this.stopped) return;
    // The deadline too: the VRRP side is told how long it may hold as the renewals (or failsafe) move it.
    const seen = (): string => `${s.m.phase} ${s.m.epoch ?? ''} ${s.m.holder?.name ?? ''} ${s.m.deadlineUs ?? ''}`;
    const before = seen();
    const now = this.o.clock.nowUs();
    const actions = s.m.step(now, ev);
    const d = s.m.mayHold(now) ? s.m.deadlineUs : undefined;
    if (d !== s.told) {
      s.told = d; // told before a hold's VIPs can go up (the guard knows the deadline first)
      this.o.hooks.onDeadline?.(holder, d);
    }
    for (const a of actions) this.act(s, a);
    this.arm(s);
    if (seen() !== before) this.o.hooks.onChange?.(holder);
  }

  private arm(s: Slot): void {
    if (s.timer) this.o.clock.cancel(s.timer);
    s.timer = undefined;
    const w = s.m.nextWake();
    if (w === undefined) return;
    s.timer = this.o.clock.at(w, () => {
      s.timer = undefined;
      this.step(s.e.holder, { type: 'timer' });
    });
  }

  private act(s: Slot, a: LeaseAction): void {
    const holder = s.e.holder;
    const log = this.o.log;
    switch (a.type) {
      case 'acquire': {
        this.watch(s);
        const req = a.req;
        s.backend.acquire(s.key, this.o.nodeName, s.e.quorum.ttlMs / 1000).then(
          (r) => {
            this.step(
              holder,
              r.ok
                ? { type: 'acquired', req, leaseId: r.leaseId, epoch: r.epoch, grantedTtlUs: r.ttlS * 1_000_000 }
                : {
                    type: 'denied',
                    req,
                    holder: r.holder,
                    holderEpoch: r.holderEpoch,
                    holderLease: r.holderLease,
                    mine: r.holder === this.o.nodeName,
                  },
            );
          },
          (e: Error) => this.step(holder, { type: 'failed', req, error: e.message }),
        );
        break;
      }
      case 'renew': {
        if (s.stream?.gen !== a.gen) {
          s.stream?.s.close();
          const gen = a.gen;
          const leaseId = a.leaseId;
          s.stream = {
            gen,
            s: s.backend.keepAlive(
              leaseId,
              (ttlS) => this.step(holder, { type: 'renewed', leaseId, gen, ttlUs: ttlS * 1_000_000 }),
              (why) => {
                s.backend.failover?.();
                this.step(holder, { type: 'renewFailed', leaseId, gen, error: why });
              },
            ),
          };
        }
        s.stream.s.send();
        break;
      }
      case 'revoke': {
        const p = (a.afterRelease ? this.o.hooks.vipsGone(holder) : Promise.resolve()).then(() =>
          s.backend.revoke(a.leaseId),
        );
        this.revoking.add(p);
        void p.finally(() => this.revoking.delete(p));
        break;
      }
      case 'hold':
        log.info(
          { event: 'quorum.hold', holder, key: s.key, epoch: a.epoch },
          `(${holder}) holding ${s.key}, epoch ${a.epoch}`,
        );
        this.o.hooks.onHold(holder, a.epoch);
        break;
      case 'fence':
        log.warn(
          {
            event: 'quorum.fence',
            holder,
            key: s.key,
            kind: a.kind,
            ...(a.kind !== 'released' ? { code: 'QUORUM_LOST' } : {}),
          },
          `(${holder}) ${a.reason}`,
        );
        this.o.hooks.onFence(holder, a.kind, a.reason);
        break;
      case 'kernelRefresh':
        this.o.hooks.onKernelRefresh(holder, a.notAfterUs);
        break;
      case 'checkKey': {
        const epoch = a.epoch;
        s.backend.readKey?.(s.key).then(
          (found) => this.step(holder, { type: 'keyChecked', epoch, ...(found ? { found } : {}) }),
          () => undefined, // etcd not answering: the renewal deadline decides
        );
        break;
      }
      case 'confirm': {
        const round = a.round;
        this.failsafe.ask(s.e.quorum, s.key, s.e.peers ?? [], (peer, ok, why) =>
          this.step(holder, { type: 'peerAnswer', round, peer, ok, why }),
        );
        break;
      }
      case 'switchEndpoint':
        log.warn(
          { event: 'quorum.endpoint', holder, key: s.key, code: 'QUORUM_UNREACHABLE' },
          `(${holder}) ${a.why}: next etcd endpoint`,
        );
        s.backend.failover?.();
        break;
      case 'log':
        log[a.level]({ event: 'quorum.log', holder, key: s.key }, a.text);
        break;
    }
  }
}
