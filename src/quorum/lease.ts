/**
 * The lease/fencing state machine of one quorum key (docs/quorum.md): pure and deterministic.
 * Events come in with `now` in integer microseconds on this node's monotonic clock; actions go
 * out as data. The rule it exists for: this node may hold the VIP only before the earliest
 * moment the lease could expire at the etcd server. Every deadline counts from the moment a
 * request was *sent* (the server saw it later, so its expiry is later), scaled by the clock-rate
 * bound, minus the margin — never from a reply.
 */

import type { Failsafe } from './failsafe.js';
import { keyCheckFails } from './key-check.js';

/** Relative clock-rate error tolerated between this node and the etcd leader (1000 ppm). */
export const CLOCK_RATE_BOUND = 1e-3;
/**
 * How late the kernel may remove an address after its valid_lft ends, plus the time an address
 * refresh may take to run after its guard is checked (µs). Lifetimes are whole seconds and the
 * kernel checks them on a rounded timer; 2 s lifetimes were measured to end after 2.05 s.
 */
export const KERNEL_LATE_US = 350_000;
/** Renewals in flight before sending more is pointless (the stream is stuck). */
const MAX_PENDING = 16;

export type { LeaseTiming, LeasePhase, LeaseEvent, LeaseAction } from './lease-types.js';
import type { LeaseTiming, LeasePhase, LeaseEvent, LeaseAction } from './lease-types.js';

interface Held {
  leaseId: string;
  epoch: number;
  deadline: number;
  granted: boolean;
  /** The latest kernel-refresh guard sent (a failsafe round refreshes only beyond it). */
  kernelNotAfter?: number;
  /** Holding past `deadline` on the peers' promises (etcd unreachable): logged once. */
  onPeers?: boolean;
}

export class LeaseMachine {
  private _phase: LeasePhase = 'idle';
  private wanted = false;
  private req = 0;
  /** Send time of the acquire in flight (the grant is sent after it). */
  private acquireSentAt: number | undefined;
  private held: Held | undefined;
  private readonly pending: number[] = [];
  private gen = 1;
  private nextRenewAt: number | undefined;
  private retryAt: number | undefined;
  private _holder: { name: string; epoch: number } | undefined;
  private lastError = '';
  /** The watch saw the key deleted while an acquire was in flight: a denial that follows is stale. */
  private deletedWhileAcquiring = false;

  /** `fs`: on_quorum_loss failsafe (absent: fence, the default). */
  constructor(
    readonly key: string,
    readonly t: Readonly<LeaseTiming>,
    readonly fs?: Failsafe,
  ) {}

  get phase(): LeasePhase {
    return this._phase;
  }
  get epoch(): number | undefined {
    return this.held?.granted ? this.held.epoch : undefined;
  }
  /** Until when this node may hold: the lease deadline, or later while the peers' promises cover it. */
  get deadlineUs(): number | undefined {
    const h = this.held;
    return h?.granted ? Math.max(h.deadline, this.fs?.coveredUntil(h.deadline) ?? 0) : undefined;
  }
  /** Holding on the peers' promises alone (the lease deadline passed; etcd does not answer). */
  onPeers(now: number): boolean {
    return this.mayHold(now) && now >= this.held!.deadline;
  }
  /** Who holds the key when we are denied. */
  get holder(): { name: string; epoch: number } | undefined {
    return this._holder;
  }
  get error(): string {
    return this.lastError;
  }

  /** The only question the VIP side asks. */
  mayHold(now: number): boolean {
    const h = this.held;
    return h?.granted === true && (now < h.deadline || this.fs?.coveredUntil(now) !== undefined);
  }

  nextWake(): number | undefined {
    let w: number | undefined;
    for (const x of [this.deadlineUs, this.nextRenewAt, this.retryAt]) {
      if (x !== undefined && (w === undefined || x < w)) w = x;
    }
    return w;
  }

  step(now: number, ev: LeaseEvent): LeaseAction[] {
    const out: LeaseAction[] = [];
    this.checkDeadline(now, out); // before anything: a late reply never revives a passed deadline
    switch (ev.type) {
      case 'want':
        this.wanted = true;
        if (this._phase === 'idle') this.acquire(now, out);
        break;
      case 'unwant':
        this.unwant(ev.why, out);
        break;
      case 'acquired':
        this.onAcquired(now, ev, out);
        break;
      case 'denied':
        this.onDenied(now, ev, out);
        break;
      case 'failed':
        if (ev.req !== this.req || this._phase !== 'acquiring') break;
        this.acquireSentAt = undefined;
        this.lastError = ev.error;
        this._phase = this.wanted ? 'unreachable' : 'idle';
        if (this.wanted) this.retryAt = now + this.t.retryUs;
        break;
      case 'renewed':
        this.onRenewed(now, ev, out);
        break;
      case 'renewFailed':
        if (this.held?.leaseId === ev.leaseId && ev.gen === this.gen) {
          this.pending.length = 0;
          this.gen++;
          this.lastError = ev.error;
        }
        break;
      case 'keyDeleted':
        if (this.staleDeletion(ev.revision, out)) break;
        if (this.held)
          this.lose(out, 'lease_gone', `the key ${this.key} was deleted (revoked or expired at the server)`);
        if (this._phase === 'acquiring') this.deletedWhileAcquiring = true;
        if (this.wanted && this._phase !== 'acquiring' && this._phase !== 'holding') this.acquire(now, out);
        break;
      case 'keyCreated':
        // A later creation means ours is gone; an earlier one is a resumed watch's replay.
        if (this.held && ev.epoch > this.held.epoch) {
          this.lose(out, 'lease_gone', `the key ${this.key} was created by ${ev.holder} (epoch ${ev.epoch})`);
        }
        if (!this.held && ev.epoch >= (this._holder?.epoch ?? 0)) this._holder = { name: ev.holder, epoch: ev.epoch };
        break;
      case 'keyChecked':
        this.onKeyChecked(now, ev, out);
        break;
      case 'peerAnswer':
        this.onPeerAnswer(now, ev, out);
        break;
      case 'timer':
        this.onTimer(now, out);
        break;
    }
    return out;
  }

  // ---- internals ----------------------------------------------------------------------

  /**
   * A deletion at a revision before the creation of the key held (or the holder's, when denied)
   * cannot be that key's: a watch that reconnected (its etcd member restarted) replays the events it
   * missed, e.g. the expiry of the previous holder's key. Fencing on it blinked the VIP and moved the
   * reserved IP twice more in the lab. Our own key's deletion always comes at a later revision.
   */
  private staleDeletion(revision: number | undefined, out: LeaseAction[]): boolean {
    const known = this.held?.epoch ?? this._holder?.epoch;
    if (revision === undefined || known === undefined || revision >= known) return false;
    if (this.held) {
      const text = `ignoring a replayed deletion of ${this.key} (revision ${revision}, before epoch ${known})`;
      out.push({ type: 'log', level: 'info', text });
    }
    return true;
  }

  /** The latest local time this node may hold, given a request sent at `sentAt` (TTL counted by the server). */
  private deadlineFrom(sentAt: number): number {
    return sentAt + Math.floor(this.t.ttlUs * (1 - CLOCK_RATE_BOUND)) - this.t.marginUs;
  }

  /** The kernel must have removed the VIP by the earliest server expiry, even if this process freezes. */
  private kernelNotAfter(sentAt: number): number {
    return sentAt + Math.floor(this.t.ttlUs * (1 - CLOCK_RATE_BOUND)) - this.t.kernelLifetimeUs - KERNEL_LATE_US;
  }

  private checkDeadline(now: number, out: LeaseAction[]): void {
    const h = this.held;
    if (h?.granted && now >= h.deadline && this.fs?.coveredUntil(now) !== undefined) {
      if (!h.onPeers) {
        h.onPeers = true;
        const text = `no renewal of ${this.key} acknowledged in time: holding on every peer's confirmation (failsafe)`;
        out.push({ type: 'log', level: 'warn', text });
      }
      return;
    }
    if (this.held?.granted && now >= this.held.deadline) {
      const lateMs = Math.round((now - this.held.deadline) / 1000);
      const late = lateMs > 0 ? ` (${lateMs} ms late)` : '';
      this.lose(
        out,
        'deadline',
        `no renewal of ${this.key} acknowledged in time: fencing before the lease can expire${late}`,
      );
      if (this.wanted) this.acquire(now, out);
    }
  }

  private acquire(now: number, out: LeaseAction[]): void {
    this.req++;
    this.deletedWhileAcquiring = false;
    this.acquireSentAt = now;
    this.retryAt = undefined;
    this._phase = 'acquiring';
    out.push({ type: 'acquire', req: this.req });
  }

  private onAcquired(now: number, ev: Extract<LeaseEvent, { type: 'acquired' }>, out: LeaseAction[]): void {
    const sentAt = this.acquireSentAt;
    if (ev.req !== this.req || sentAt === undefined || this._phase !== 'acquiring' || !this.wanted) {
      // A grant nobody waits for any more: give it back at once.
      out.push({ type: 'revoke', leaseId: ev.leaseId, afterRelease: false });
      if (ev.req === this.req && this._phase === 'acquiring') {
        this.acquireSentAt = undefined;
        this._phase = 'idle';
      }
      return;
    }
    this.acquireSentAt = undefined;
    if (ev.grantedTtlUs < this.t.ttlUs) {
      const text =
        `etcd granted ${ev.grantedTtlUs / 1e6} s for ${this.key}, ` +
        `less than ttl ${this.t.ttlUs / 1e6} s: refusing it`;
      out.push({ type: 'log', level: 'warn', text });
      out.push({ type: 'revoke', leaseId: ev.leaseId, afterRelease: false });
      this._phase = 'unreachable';
      this.retryAt = now + this.t.retryUs;
      return;
    }
    if (ev.grantedTtlUs > this.t.ttlUs) {
      const text =
        `etcd granted ${ev.grantedTtlUs / 1e6} s for ${this.key} ` +
        `(asked ${this.t.ttlUs / 1e6} s): failover waits longer`;
      out.push({ type: 'log', level: 'warn', text });
    }
    this._phase = 'holding';
    this._holder = undefined;
    this.held = { leaseId: ev.leaseId, epoch: ev.epoch, deadline: this.deadlineFrom(sentAt), granted: false };
    this.pending.length = 0;
    this.nextRenewAt = Math.max(now, sentAt + this.t.renewUs);
    this.grantIfSafe(now, sentAt, out);
    if (!this.held.granted) this.renew(now, out); // too slow to trust for the kernel backstop: confirm first
  }

  /** Hold once the kernel backstop can be armed in time (or there is none); refresh it on each ack. */
  private grantIfSafe(now: number, sentAt: number, out: LeaseAction[]): void {
    const h = this.held!;
    if (now >= h.deadline) return;
    const notAfter = this.kernelNotAfter(sentAt);
    const kernelOk = this.t.kernelLifetimeUs === 0 || now <= notAfter;
    if (!h.granted) {
      if (!kernelOk || (this.fs && !this.fs.mayGrant(now))) return; // a peer's promise binds this node
      h.granted = true;
      out.push({ type: 'hold', epoch: h.epoch, deadlineUs: h.deadline });
    }
    if (this.t.kernelLifetimeUs > 0 && kernelOk) {
      h.kernelNotAfter = Math.max(h.kernelNotAfter ?? 0, notAfter);
      out.push({ type: 'kernelRefresh', notAfterUs: notAfter });
    }
  }

  private onDenied(now: number, ev: Extract<LeaseEvent, { type: 'denied' }>, out: LeaseAction[]): void {
    if (ev.req !== this.req || this._phase !== 'acquiring') return;
    this.acquireSentAt = undefined;
    this._holder = { name: ev.holder, epoch: ev.holderEpoch };
    this._phase = 'denied';
    this.retryAt = now + this.t.retryUs;
    if (ev.mine && ev.holderLease !== undefined && ev.holderLease !== this.held?.leaseId) {
      // Left by a previous run of floatd on this node (one daemon per node): free it once the
      // stale VIPs that run left are gone (start-up removes them first), then retry.
      const text = `${this.key} is held by this node's previous run (epoch ${ev.holderEpoch}): revoking it`;
      out.push({ type: 'log', level: 'info', text });
      out.push({ type: 'revoke', leaseId: ev.holderLease, afterRelease: true });
    }
    if (!this.wanted) {
      this._phase = 'idle';
      this.retryAt = undefined;
    } else if (this.deletedWhileAcquiring) this.acquire(now, out); // released meanwhile: at once, not at the retry
  }

  private onRenewed(now: number, ev: Extract<LeaseEvent, { type: 'renewed' }>, out: LeaseAction[]): void {
    const h = this.held;
    if (!h || h.leaseId !== ev.leaseId || ev.gen !== this.gen) return;
    const sentAt = this.pending.shift(); // the oldest in flight on this stream: replies come in order
    if (sentAt === undefined) return;
    if (ev.ttlUs <= 0) {
      this.lose(out, 'lease_gone', `etcd says the lease of ${this.key} no longer exists`);
      if (this.wanted) this.acquire(now, out);
      return;
    }
    const d = this.deadlineFrom(sentAt);
    if (d > h.deadline) h.deadline = d;
    if (d > now) h.onPeers = false; // etcd answers again: the next outage is logged again
    this.grantIfSafe(now, sentAt, out);
  }

  private onTimer(now: number, out: LeaseAction[]): void {
    if (this.retryAt !== undefined && now >= this.retryAt) {
      this.retryAt = undefined;
      if (this.wanted && (this._phase === 'denied' || this._phase === 'unreachable')) this.acquire(now, out);
    }
    const oldest = this.pending[0];
    if (this.held && oldest !== undefined && now - oldest >= this.stallUs()) {
      // No answer on this stream for a renewal period: a new stream, on another member.
      this.pending.length = 0;
      this.gen++;
      out.push({ type: 'switchEndpoint', why: `no keepalive answer for ${Math.round((now - oldest) / 1000)} ms` });
    }
    if (this.held && this.nextRenewAt !== undefined && now >= this.nextRenewAt) {
      this.renew(now, out);
      if (this.held.granted) out.push({ type: 'checkKey', epoch: this.held.epoch });
      if (this.fs && this.held.granted) out.push({ type: 'confirm', round: this.fs.ask(now) });
      this.nextRenewAt = now + this.t.renewUs;
    }
  }

  /** The key check's answer (key-check.ts): our key gone or replaced fences now. */
  private onKeyChecked(now: number, ev: Extract<LeaseEvent, { type: 'keyChecked' }>, out: LeaseAction[]): void {
    const why = this.held && keyCheckFails(this.key, this.held, ev);
    if (!why) return;
    this.lose(out, 'lease_gone', why);
    if (this.wanted) this.acquire(now, out);
  }

  /** A renewal unanswered for one renewal period (answers take milliseconds) stalls its stream. */
  private stallUs(): number {
    return Math.max(this.t.renewUs, 250_000);
  }

  private renew(now: number, out: LeaseAction[]): void {
    if (!this.held || this.pending.length >= MAX_PENDING) return;
    this.pending.push(now);
    out.push({ type: 'renew', leaseId: this.held.leaseId, gen: this.gen });
  }

  private unwant(why: string, out: LeaseAction[]): void {
    this.wanted = false;
    this.retryAt = undefined;
    if (this.held) {
      const id = this.held.leaseId;
      const granted = this.held.granted;
      this.clearHeld();
      if (granted) out.push({ type: 'fence', kind: 'released', reason: why });
      out.push({ type: 'revoke', leaseId: id, afterRelease: granted });
    }
    // An acquire in flight stays counted: its grant, if it comes, is revoked (onAcquired).
    if (this._phase !== 'acquiring') this._phase = 'idle';
  }

  private lose(out: LeaseAction[], kind: 'deadline' | 'lease_gone', reason: string): void {
    const h = this.held!;
    this.clearHeld();
    this._phase = 'idle';
    if (h.granted) out.push({ type: 'fence', kind, reason });
    // Best effort: if etcd still has it, the others need not wait for the expiry.
    out.push({ type: 'revoke', leaseId: h.leaseId, afterRelease: h.granted });
  }

  /** A round every peer said yes to extends the hold (and the kernel lifetime); a refusal ends the cover. */
  private onPeerAnswer(now: number, ev: Extract<LeaseEvent, { type: 'peerAnswer' }>, out: LeaseAction[]): void {
    const sentAt = this.fs?.roundSentAt;
    const r = this.fs?.answer(ev.round, ev.peer, ev.ok, ev.why);
    if (!this.held?.granted || sentAt === undefined) return;
    const notAfterUs = this.fs!.from(sentAt).notAfterUs;
    if (r === 'covered' && this.t.kernelLifetimeUs > 0 && now <= notAfterUs) {
      if (notAfterUs <= (this.held.kernelNotAfter ?? 0)) return; // the renewal sent with it was acked first
      this.held.kernelNotAfter = notAfterUs;
      out.push({ type: 'kernelRefresh', notAfterUs });
    } else if (r === 'refused') {
      out.push({ type: 'log', level: 'warn', text: `failsafe for ${this.key} refused by ${this.fs!.lastRefusal}` });
      this.checkDeadline(now, out);
    }
  }

  private clearHeld(): void {
    this.fs?.reset();
    this.held = undefined;
    this.pending.length = 0;
    this.gen++;
    this.nextRenewAt = undefined;
  }
}
