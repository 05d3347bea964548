/**
 * The reconciler's retry waits, pure. A pending provider action (busy: DO `locked` / 422,
 * Hetzner 423) is waited for gently from 1 s (×1.5, up to backoffMaxUs): a typical 8 s action
 * costs ~6 reads. Other retryable failures back off exponentially from backoffBaseUs with
 * "full jitter" over the upper half, so retries spread without ever retrying at once.
 */
import type { CallError, ReconcilerAction, ReconcilerSettings } from './reconciler-types.js';
import { CLOUD_ERROR_CODES } from './types.js';

/** First wait for a pending provider action (µs, like every duration here). */
export const BUSY_WAIT_US = 1_000_000;

export function retryDelayUs(
  busy: boolean,
  n: { busyWaits: number; retries: number },
  s: Pick<ReconcilerSettings, 'backoffBaseUs' | 'backoffMaxUs'>,
  random: () => number,
): number {
  if (busy) return Math.min(s.backoffMaxUs, BUSY_WAIT_US * 1.5 ** n.busyWaits);
  const exp = Math.min(s.backoffMaxUs, s.backoffBaseUs * 2 ** n.retries);
  return exp / 2 + random() * (exp / 2);
}

/**
 * Failures that are not retried fast ("no retry storm"): the quorum's fencing refusal (not a
 * provider failure: looked at again at the reconcile interval, the lease may come) and
 * auth / not_found / invalid (errorRetryUs). Undefined: back off and retry.
 */
export function slowRetry(
  e: CallError,
  lastError: string,
  s: Pick<ReconcilerSettings, 'reconcileUs' | 'errorRetryUs'>,
): { phase: 'fenced' | 'failed'; log: ReconcilerAction; waitUs: number } | undefined {
  if (e.kind === 'fenced') {
    const msg = `${e.message}; no assign (re-checked in ${Math.round(s.reconcileUs / 1e6)} s)`;
    const log: ReconcilerAction = { type: 'log', level: 'warn', event: 'cloud.fenced', code: 'CLOUD_FENCED', msg };
    return { phase: 'fenced', log, waitUs: s.reconcileUs };
  }
  if (e.kind !== 'auth' && e.kind !== 'not_found' && e.kind !== 'invalid') return undefined;
  const msg = `${lastError} (${e.kind}; not retried for ${Math.round(s.errorRetryUs / 1e6)} s)`;
  const log: ReconcilerAction = {
    type: 'log',
    level: 'error',
    event: 'cloud.error',
    code: CLOUD_ERROR_CODES[e.kind],
    msg,
  };
  return { phase: 'failed', log, waitUs: s.errorRetryUs };
}
