/**
 * The floating-IP reconciler: a pure state machine that decides which provider call to make
 * next, fed events and an injected clock (µs) and returning actions as data. The runner
 * (src/cloud/runner.ts) executes the calls against a driver and feeds the results back.
 *
 * Policy (docs/cloud.md):
 * - `hold` (an instance using the address is MASTER): learn who we are, ask who holds the
 *   address, assign only if it is not us, then verify by asking again. Retryable failures back
 *   off exponentially with jitter (or the provider's Retry-After, whichever is longer), bounded
 *   by `maxAttempts` calls and `budgetUs` per failover; after that the address is re-checked at
 *   the reconcile interval. Auth / not-found / invalid answers are not retried fast ("no retry
 *   storm"): they wait `errorRetryUs`.
 * - While holding, the holder is re-read every `reconcileUs`; drift starts a new failover.
 * - A configured peer that took the address while this node heard no peer is not fought
 *   (`contested`, contest.ts): re-read every `reconcileUs`, no assign, until an advert from a
 *   peer is heard again or the holder changes.
 * - `release` / `idle` (BACKUP, FAULT, stopped): never assign. Results of calls still in flight
 *   when the wish changes are discarded (each call carries the generation it was made in).
 * - One call in flight at a time; every call is counted, per failover and in total.
 */
import { CLOUD_ERROR_CODES } from './types.js';
import type { CloudErrorCode } from '../errors.js';
import { ClaimEvidence, contestLog, contestTimedOut } from './contest.js';
import { retryDelayUs, slowRetry } from './backoff.js';
import {
  DEFAULT_RECONCILER,
  type CallError,
  type CallOp,
  type Desire,
  type Phase,
  type ReconcilerAction,
  type ReconcilerEvent,
  type ReconcilerSettings,
  type ReconcilerView,
} from './reconciler-types.js';

/** The early re-read after a hold that followed a busy wait. */
const BUSY_RECHECK_US = 5_000_000;

export * from './reconciler-types.js';

export class Reconciler {
  private desired: Desire = 'idle';
  private phase: Phase = 'idle';
  private gen = 0;
  private self: string | undefined;
  private holder: string | null | undefined;
  private attempts = 0;
  /** Verified as ours since the wish last became hold: a later "someone else" is drift. */
  private heldThisHold = false;
  private retries = 0;
  /** Start of this failover's call/time budget (renewed by each slow retry). */
  private budgetStart = 0;
  /** When the wish became hold (or drift was seen): convergence is measured from here. */
  private convergeStart: number | undefined;
  private callsThisFailover = 0;
  private calls = 0;
  private lastResult: string | undefined;
  private lastError: string | undefined;
  private lastErrorCode: CloudErrorCode | undefined;
  private lastConvergeUs: number | undefined;
  private lastFailoverCalls: number | undefined;
  private timerAt: number | undefined;
  private contested: string | undefined;
  /** Since when the same fresh claim has been seen (kept across wishes; cleared when it ends). */
  private contestSince: number | undefined;
  /** This failover waited for a pending action: look again soon after holding (a late landing). */
  private sawBusy = false;
  private busyWaits = 0;
  private readonly evidence: ClaimEvidence;

  constructor(
    private readonly s: ReconcilerSettings,
    /** Injected randomness in [0,1) for backoff jitter (tests pass a fixed sequence). */
    private readonly random: () => number = Math.random,
    fixedSelf?: string,
  ) {
    this.self = fixedSelf;
    this.evidence = new ClaimEvidence(new Set(s.peers ?? []), s.claimWindowUs ?? DEFAULT_RECONCILER.claimWindowUs ?? 0);
  }

  /** After a reload: the old reconciler's evidence about peers' claims (and this node's id) carry over. */
  inheritFrom(prev: Reconciler): void {
    this.evidence.inheritFrom(prev.evidence);
    this.self ??= prev.self;
  }

  view(): ReconcilerView {
    const v: ReconcilerView = {
      desired: this.desired,
      phase: this.phase,
      callsThisFailover: this.callsThisFailover,
      calls: this.calls,
    };
    if (this.self !== undefined) v.self = this.self;
    if (this.holder !== undefined) v.holder = this.holder;
    if (this.lastResult !== undefined) v.lastResult = this.lastResult;
    if (this.lastError !== undefined) v.lastError = this.lastError;
    if (this.lastErrorCode !== undefined && this.lastError !== undefined) v.lastErrorCode = this.lastErrorCode;
    if (this.lastConvergeUs !== undefined) v.lastConvergeUs = this.lastConvergeUs;
    if (this.lastFailoverCalls !== undefined) v.lastFailoverCalls = this.lastFailoverCalls;
    if (this.contested !== undefined) v.contested = this.contested;
    if (this.busyWaits > 0) v.busyWaits = this.busyWaits;
    return v;
  }

  step(now: number, ev: ReconcilerEvent): ReconcilerAction[] {
    const out: ReconcilerAction[] = [];
    const before = this.contested;
    switch (ev.type) {
      case 'desire':
        this.onDesire(now, ev.want, ev.reason, out);
        break;
      case 'timer':
        this.onTimer(now, out);
        break;
      case 'heard':
        this.onHeard(now, out);
        break;
      case 'result':
        if (ev.gen === this.gen) this.onResult(now, ev, out);
        break;
    }
    const log = contestLog(before, this.contested, this.phase, this.holder, this.s.reconcileUs);
    if (log) out.push(log);
    return out;
  }

  private onDesire(now: number, want: Desire, reason: string, out: ReconcilerAction[]): void {
    if (want === this.desired) return;
    this.desired = want;
    this.gen += 1; // anything in flight is now stale
    this.heldThisHold = false;
    this.contested = undefined;
    this.cancelTimer(out);
    if (want === 'hold') {
      out.push({ type: 'log', level: 'info', event: 'cloud.hold', msg: `claiming the address (${reason})` });
      this.convergeStart = now;
      this.startFailover(now, out);
    } else {
      this.convergeStart = undefined;
      this.phase = want === 'release' ? 'released' : 'idle';
      out.push({
        type: 'log',
        level: 'info',
        event: 'cloud.release',
        msg: `not claiming the address (${reason}); no assign calls`,
      });
    }
  }

  /** Contact with a peer: no claim older than now is fresh; a contested address is looked at now. */
  private onHeard(now: number, out: ReconcilerAction[]): void {
    this.evidence.heard(now);
    if (this.desired !== 'hold' || this.contested === undefined || this.phase !== 'contested') return;
    out.push({
      type: 'log',
      level: 'info',
      event: 'cloud.peer_heard',
      msg: 'an advert from a peer arrived: contact is back; looking at the holder again',
    });
    this.cancelTimer(out);
    this.gen += 1;
    this.startFailover(now, out);
  }

  private startFailover(now: number, out: ReconcilerAction[]): void {
    this.attempts = 0;
    this.retries = 0;
    this.busyWaits = 0;
    this.budgetStart = now;
    this.callsThisFailover = 0;
    this.next(now, out);
  }

  /** Ask the next question: who am I, then who holds it. */
  private next(now: number, out: ReconcilerAction[]): void {
    if (this.self === undefined) this.call(now, 'whoami', 'resolving', out);
    else this.call(now, 'holder', 'checking', out);
  }

  private call(now: number, op: CallOp, phase: Phase, out: ReconcilerAction[]): void {
    if (this.attempts >= this.s.maxAttempts) {
      this.giveUp(now, 'call budget spent', out);
      return;
    }
    this.phase = phase;
    this.attempts += 1;
    this.callsThisFailover += 1;
    this.calls += 1;
    const a: ReconcilerAction = { type: 'call', op, gen: this.gen };
    if (op === 'assign' && this.self !== undefined) a.self = this.self;
    out.push(a);
  }

  private onTimer(now: number, out: ReconcilerAction[]): void {
    this.timerAt = undefined;
    if (this.desired !== 'hold') return;
    if (this.phase === 'held' || this.phase === 'failed' || this.phase === 'contested' || this.phase === 'fenced') {
      // Periodic reconcile, the slow retry after a spent budget, or the re-read of a contested
      // address: a fresh budget. A failover that has not converged keeps its start time.
      this.gen += 1;
      this.startFailover(now, out);
    } else if (this.phase === 'backoff') {
      this.next(now, out);
    }
  }

  private onResult(now: number, ev: Extract<ReconcilerEvent, { type: 'result' }>, out: ReconcilerAction[]): void {
    if (this.desired !== 'hold') return;
    if (!ev.ok) {
      this.onError(now, ev.op, ev.error, out);
      return;
    }
    switch (ev.op) {
      case 'whoami':
        this.self = String(ev.value);
        this.call(now, 'holder', 'checking', out);
        return;
      case 'assign':
        this.lastResult = `assign to ${this.self} completed`;
        this.call(now, 'holder', 'verifying', out);
        return;
      case 'holder':
        this.onHolder(now, ev.value ?? null, out);
        return;
    }
  }

  private onHolder(now: number, value: string | null, out: ReconcilerAction[]): void {
    const prev = this.holder;
    this.holder = value;
    this.evidence.observe(now, value);
    const fresh = this.evidence.fresh(value, this.self);
    if (!fresh) {
      this.contested = undefined;
      this.contestSince = undefined;
    }
    if (value === this.self) {
      this.onHeld(now, prev, out);
      return;
    }
    if (fresh) {
      this.contestSince ??= now;
      const timedOut = contestTimedOut(now, this.contestSince, this.s.contestTimeoutUs, value);
      if (!timedOut) {
        this.contest(now, value ?? '', out);
        return;
      }
      out.push(timedOut);
      this.contested = undefined;
      this.contestSince = undefined;
    }
    if (this.phase === 'verifying') {
      // The action said done but the provider still shows someone else: eventual consistency
      // or a competing claim. Back off and look again (which re-assigns if still not ours).
      this.lastError = `after assign the provider still reports ${value ?? 'nobody'} as the holder`;
      this.lastErrorCode = 'CLOUD_VERIFY_FAILED';
      this.retry(now, { kind: 'server', message: this.lastError }, out, 'CLOUD_VERIFY_FAILED');
      return;
    }
    if (this.phase === 'checking' && this.heldThisHold && prev === this.self) {
      out.push({
        type: 'log',
        level: 'warn',
        event: 'cloud.drift',
        msg: `the address drifted to ${value ?? 'nobody'}; re-asserting`,
      });
    }
    this.convergeStart ??= now; // drift, or a contested address now claimed: a failover starts here
    // Room for the assign and its verification, or none at all.
    if (this.attempts + 2 > this.s.maxAttempts || this.overBudget(now)) {
      this.giveUp(now, 'call budget spent', out);
      return;
    }
    this.call(now, 'assign', 'assigning', out);
  }

  private onHeld(now: number, prev: string | null | undefined, out: ReconcilerAction[]): void {
    const wasHeld = this.phase === 'checking' && prev === this.self && this.heldThisHold;
    if (!wasHeld || this.convergeStart !== undefined) {
      const start = this.convergeStart ?? this.budgetStart;
      this.lastConvergeUs = now - start;
      this.lastFailoverCalls = this.callsThisFailover;
      this.lastResult =
        this.phase === 'verifying'
          ? `assigned and verified: the provider reports ${this.self} as the holder`
          : `already held by ${this.self}; no assign needed`;
      out.push({
        type: 'log',
        level: 'info',
        event: 'cloud.held',
        msg: `${this.lastResult} (${this.callsThisFailover} call(s), ${Math.round(this.lastConvergeUs / 1000)} ms)`,
      });
    }
    this.convergeStart = undefined;
    this.lastError = undefined;
    this.heldThisHold = true;
    this.phase = 'held';
    // After waiting out someone else's action, an assign issued before it may still land:
    // the first re-read comes early (BUSY_RECHECK_US) so such a landing is corrected at once.
    const recheckUs = this.sawBusy ? Math.min(this.s.reconcileUs, BUSY_RECHECK_US) : this.s.reconcileUs;
    this.sawBusy = false;
    this.arm(now + recheckUs, out);
  }

  /** A peer's fresh claim: not fought. Re-read at the reconcile interval; an advert ends it early. */
  private contest(now: number, holder: string, out: ReconcilerAction[]): void {
    this.contested = `contested: the provider shows ${holder} as holder; ${this.evidence.describeHearing()}`;
    this.phase = 'contested';
    this.lastResult = this.contested;
    this.heldThisHold = false;
    this.convergeStart = undefined;
    this.arm(now + this.s.reconcileUs, out);
  }

  private onError(now: number, op: CallOp, e: CallError, out: ReconcilerAction[]): void {
    this.lastError = `${op}: ${e.message}`;
    this.lastErrorCode = CLOUD_ERROR_CODES[e.kind];
    const slow = slowRetry(e, this.lastError, this.s);
    if (slow) {
      this.phase = slow.phase;
      out.push(slow.log);
      this.arm(now + slow.waitUs, out);
      return;
    }
    this.retry(now, e, out);
  }

  private retry(
    now: number,
    e: CallError,
    out: ReconcilerAction[],
    code: CloudErrorCode = CLOUD_ERROR_CODES[e.kind],
  ): void {
    if (e.kind === 'busy') {
      // An action is pending: waiting for it is not a failed attempt (backoff.ts).
      this.attempts = Math.max(0, this.attempts - 1);
      this.sawBusy = true;
    } else if (this.overBudget(now)) {
      this.giveUp(now, `${e.message}; call budget spent`, out);
      return;
    }
    let delayUs = retryDelayUs(
      e.kind === 'busy',
      { busyWaits: this.busyWaits, retries: this.retries },
      this.s,
      this.random,
    );
    if (e.kind === 'busy') this.busyWaits += 1;
    else this.retries += 1;
    if (e.retryAfterUs !== undefined) delayUs = Math.max(delayUs, e.retryAfterUs);
    const deadline = this.budgetStart + this.s.budgetUs;
    if (now + delayUs > deadline) {
      this.giveUp(now, `${e.message}; next retry would pass the time budget`, out);
      return;
    }
    this.phase = 'backoff';
    const spent = `${this.attempts}/${this.s.maxAttempts} calls spent`;
    const msg = `${e.message} (${e.kind}); retrying in ${Math.round(delayUs / 1000)} ms (${spent})`;
    out.push({ type: 'log', level: 'warn', event: 'cloud.retry', code, msg });
    this.arm(now + Math.round(delayUs), out);
  }

  private overBudget(now: number): boolean {
    return this.attempts >= this.s.maxAttempts || now - this.budgetStart >= this.s.budgetUs;
  }

  private giveUp(now: number, why: string, out: ReconcilerAction[]): void {
    this.phase = 'failed';
    this.lastError = why;
    this.lastErrorCode = 'CLOUD_BUDGET_SPENT';
    const next = `next try in ${Math.round(this.s.reconcileUs / 1e6)} s`;
    const msg = `${why} after ${this.callsThisFailover} call(s); ${next}`;
    out.push({ type: 'log', level: 'error', event: 'cloud.gave_up', code: 'CLOUD_BUDGET_SPENT', msg });
    this.arm(now + this.s.reconcileUs, out);
  }

  private arm(at: number, out: ReconcilerAction[]): void {
    this.timerAt = at;
    out.push({ type: 'setTimer', at });
  }

  private cancelTimer(out: ReconcilerAction[]): void {
    if (this.timerAt !== undefined) {
      this.timerAt = undefined;
      out.push({ type: 'clearTimer' });
    }
  }
}
