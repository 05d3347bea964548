/**
 * The lease machine's inputs and outputs (src/quorum/lease.ts): events in, actions out, as data.
 */
import type { LeasePhase } from '../model/status-types.js';

export interface LeaseTiming {
  ttlUs: number;
  renewUs: number;
  marginUs: number;
  /** VIP valid_lft refreshed on each acknowledged renewal; 0 = no kernel backstop. */
  kernelLifetimeUs: number;
  /** While denied or unreachable: retry this often (the key watch is the fast path). */
  retryUs: number;
}

export type { LeasePhase };

export type LeaseEvent =
  /** VRRP wants MASTER (its down timer fired, it preempts, it starts as owner). */
  | { type: 'want' }
  /** VRRP left MASTER or is stopping: give the lease back. */
  | { type: 'unwant'; why: string }
  /** The create-if-absent transaction succeeded; epoch = the key's creation revision. */
  | { type: 'acquired'; req: number; leaseId: string; epoch: number; grantedTtlUs: number }
  /** The key exists. `mine`: its value names this node (a previous run of floatd). */
  | { type: 'denied'; req: number; holder: string; holderEpoch: number; holderLease?: string; mine: boolean }
  | { type: 'failed'; req: number; error: string }
  /**
   * A keepalive reply on stream `gen` (one stream answers in request order); ttlUs 0: the lease
   * no longer exists.
   */
  | { type: 'renewed'; leaseId: string; gen: number; ttlUs: number }
  /** Keepalive stream `gen` broke: its renewals in flight will never be answered. */
  | { type: 'renewFailed'; leaseId: string; gen: number; error: string }
  /**
   * Watch: the key was deleted (revoked or expired at the server), at etcd revision `revision`. A
   * watch that reconnects resumes from the last revision it saw and replays what it missed: a
   * deletion older than the key this node holds (or knows of) is not that key's.
   */
  | { type: 'keyDeleted'; revision?: number }
  /** Watch: the key was created (by anyone) with this creation revision. */
  | { type: 'keyCreated'; epoch: number; holder: string }
  /**
   * The answer to a `checkKey` (a linearizable read of the key): `found` undefined = no such key;
   * the read failed = not reported (the renewal deadline covers an unreachable etcd).
   */
  | { type: 'keyChecked'; epoch: number; found?: { leaseId: string; epoch: number } }
  /** on_quorum_loss failsafe: one peer's answer to confirmation round `round` (src/quorum/failsafe.ts). */
  | { type: 'peerAnswer'; round: number; peer: string; ok: boolean; why: string }
  | { type: 'timer' };

export type LeaseAction =
  /** Grant a lease of ttl and put the key if absent (one transaction); answer with acquired/denied/failed. */
  | { type: 'acquire'; req: number }
  /**
   * One keepalive request, sent now, on stream `gen` (a new number: open a new stream; replies
   * from an older stream must be reported with that stream's number, and are then ignored).
   */
  | { type: 'renew'; leaseId: string; gen: number }
  /**
   * Beside each renewal: read the key linearizably (serializable false) and answer `keyChecked`
   * tagged with `epoch`; the key gone or another lease/creation revision fences at once.
   */
  | { type: 'checkKey'; epoch: number }
  /** The keepalive stream gets no answers (a stopped etcd member keeps its TCP connection): use another endpoint. */
  | { type: 'switchEndpoint'; why: string }
  /** Revoke; `afterRelease`: only once the VIPs are gone (runtime orders it behind the VIP removal). */
  | { type: 'revoke'; leaseId: string; afterRelease: boolean }
  /** This node may hold the VIP from now until `deadlineUs` (extended silently on renewals). */
  | { type: 'hold'; epoch: number; deadlineUs: number }
  /** This node must not hold the VIP any more, now: VIPs off, GARP stopped, cloud calls cancelled. */
  | { type: 'fence'; reason: string; kind: 'deadline' | 'lease_gone' | 'released' }
  /** Refresh the VIPs' valid_lft, but only if the clock is still at or before notAfterUs when it runs. */
  | { type: 'kernelRefresh'; notAfterUs: number }
  /** on_quorum_loss failsafe: ask every peer now, tagged `round`; answer with peerAnswer events. */
  | { type: 'confirm'; round: number }
  | { type: 'log'; level: 'info' | 'warn'; text: string };
