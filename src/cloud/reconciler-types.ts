/**
 * The floating-IP reconciler's vocabulary (reconciler.ts): wishes, phases, settings with their
 * defaults, the events it is fed, the actions it returns, and the view the API shows.
 */
import type { CloudErrorKind } from './types.js';
import type { CloudErrorCode } from '../errors.js';

export type Desire = 'hold' | 'release' | 'idle';
export type CallOp = 'whoami' | 'holder' | 'assign';

export type Phase =
  | 'idle' // nothing wanted
  | 'resolving' // whoami in flight
  | 'checking' // holder read in flight (before assigning, or periodic while holding)
  | 'assigning' // assign in flight (driver follows the provider's action)
  | 'verifying' // holder read after assign
  | 'held' // verified: the provider says we hold it
  | 'backoff' // waiting before a retry
  | 'failed' // budget spent or a non-retryable error: waiting for the slow retry
  | 'fenced' // the fencing check (quorum) refused the assign: re-checked at the reconcile interval
  | 'contested' // a configured peer took it while this node could not hear it: not fought, re-read
  | 'released'; // not ours to hold; no calls

export interface ReconcilerSettings {
  /** Every duration here is µs, the clock's unit (runner.ts converts the config's seconds). */
  reconcileUs: number;
  /** Calls per failover, verification included; at least 4 (whoami, holder, assign, holder). */
  maxAttempts: number;
  budgetUs: number;
  backoffBaseUs: number;
  backoffMaxUs: number;
  errorRetryUs: number;
  /**
   * Instance ids of the configured peers (floating_ip `peers`): a holder among them that took
   * the address while this node heard no peer is not fought (contest.ts). Empty: every holder
   * other than this node is re-asserted, as before issue 13.
   */
  peers?: readonly string[];
  /** How late an assign issued by a peer may still land (the provider's action time bound). */
  claimWindowUs?: number;
  /**
   * `contest_timeout`: after this long contested, claim anyway (a peer that took the address and
   * then died in the partition would otherwise keep it). Absent: never — at most one move.
   */
  contestTimeoutUs?: number;
}

export const DEFAULT_RECONCILER: ReconcilerSettings = {
  reconcileUs: 30_000_000,
  maxAttempts: 10,
  budgetUs: 120_000_000,
  backoffBaseUs: 250_000,
  backoffMaxUs: 8_000_000,
  errorRetryUs: 60_000_000,
  claimWindowUs: 70_000_000,
};

export interface CallError {
  kind: CloudErrorKind;
  message: string;
  retryAfterUs?: number;
}

export type ReconcilerEvent =
  | { type: 'desire'; want: Desire; reason: string }
  | { type: 'timer' }
  /** A valid VRRP advert from a peer of an instance using this address. */
  | { type: 'heard' }
  | { type: 'result'; gen: number; op: CallOp; ok: true; value?: string | null }
  | { type: 'result'; gen: number; op: CallOp; ok: false; error: CallError };

export type ReconcilerAction =
  | { type: 'call'; op: CallOp; gen: number; self?: string }
  | { type: 'setTimer'; at: number }
  | { type: 'clearTimer' }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; event: string; msg: string; code?: CloudErrorCode };

/** Plain status for the API/dashboard (merged into FloatingIpStatus by the runtime). */
export interface ReconcilerView {
  desired: Desire;
  phase: Phase;
  self?: string;
  holder?: string | null;
  lastResult?: string;
  lastError?: string;
  /** The stable code of lastError (docs/errors.md, Cloud). */
  lastErrorCode?: CloudErrorCode;
  /** Calls since the wish last changed to hold (or since drift was seen). */
  callsThisFailover: number;
  /** Of those, reads that found an action pending (busy): not counted against max_calls. */
  busyWaits?: number;
  calls: number;
  /** µs from `hold` to "assigned and verified" for the last completed failover. */
  lastConvergeUs?: number;
  /** Calls the last completed failover took (its final budget's; periodic re-reads start new ones). */
  lastFailoverCalls?: number;
  /** Set while phase is contested: why this node does not claim the address. */
  contested?: string;
}
