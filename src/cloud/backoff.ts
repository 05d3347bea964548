/**
 * The reconciler's retry waits, pure. A pending provider action (busy: DO `locked` / 422,
 * Hetzner 423) is waited for gently from 1 s (×1.5, up to backoffMaxMs): a typical 8 s action
 * costs ~6 reads. Other retryable failures back off exponentially from backoffBaseMs with
 * "full jitter" over the upper half, so retries spread without ever retrying at once.
 */
import type { CallError, ReconcilerAction, ReconcilerSettings } from './reconciler-types.js';
import { CLOUD_ERROR_CODES } from './types.js';

/** First wait for a pending provider action. */
export const BUSY_WAIT_MS = 1000;

export function retryDelayMs(
  busy: boolean,
  n: { busyWaits: number; retries: number },
  s: Pick<ReconcilerSettings, 'backoffBaseMs' | 'backoffMaxMs'>,
  random: () => number,
): number {
  if (busy) return Math.min(s.backoffMaxMs, BUSY_WAIT_MS * 1.5 ** n.busyWaits);
  const exp = Math.min(s.backoffMaxMs, s.backoffBaseMs * 2 ** n.retries);
  return exp / 2 + random() * (exp / 2);
}

/**
 * Failures that are not retried fast ("no retry storm"): the quorum's fencing refusal (not a
 * provider failure: looked at again at the reconcile interval, the lease may come) and
 * auth / not_found / invalid (errorRetryMs). Undefined: back off and retry.
 */
export function slowRetry(
  e: CallError,
  lastError: string,
  s: Pick<ReconcilerSettings, 'reconcileMs' | 'errorRetryMs'>,
): { phase: 'fenced' | 'failed'; log: ReconcilerAction; waitMs: number } | undefined {
  if (e.kind === 'fenced') {
    const msg = `${e.message}; no assign (re-checked in ${Math.round(s.reconcileMs / 1000)} s)`;
    const log: ReconcilerAction = { type: 'log', level: 'warn', event: 'cloud.fenced', code: 'CLOUD_FENCED', msg };
    return { phase: 'fenced', log, waitMs: s.reconcileMs };
  }
  if (e.kind !== 'auth' && e.kind !== 'not_found' && e.kind !== 'invalid') return undefined;
  const msg = `${lastError} (${e.kind}; not retried for ${Math.round(s.errorRetryMs / 1000)} s)`;
  const log: ReconcilerAction = {
    type: 'log',
    level: 'error',
    event: 'cloud.error',
    code: CLOUD_ERROR_CODES[e.kind],
    msg,
  };
  return { phase: 'failed', log, waitMs: s.errorRetryMs };
}
