/**
 * Follows a provider's asynchronous action (DO action, Hetzner action) to its end with a
 * bounded number of polls. A poll that fails for a passing reason (throttled, 5xx, timeout,
 * network) uses up one poll and the loop goes on: the action already runs on the provider's
 * side, so asking again about it is harmless, while giving up would make the reconciler start
 * a second action that the provider refuses as busy.
 */
import { CloudError } from './types.js';
import { msToUs } from '../util/clock.js';
import { sleepUs } from './http.js';

export type ActionState = { state: 'running' } | { state: 'done' } | { state: 'failed'; why: string };

export interface PollPlan {
  /** What the action is, for messages: "action 42 (assign 203.0.113.10 to 102)". */
  what: string;
  intervalMs: number;
  /** Give up after this long (the poll count is limitMs / intervalMs, at least 1). */
  limitMs: number;
  signal?: AbortSignal;
}

export async function followAction(plan: PollPlan, poll: () => Promise<ActionState>): Promise<void> {
  const polls = Math.max(1, Math.ceil(plan.limitMs / plan.intervalMs));
  let lastError: CloudError | undefined;
  for (let i = 0; i < polls; i++) {
    await sleepUs(msToUs(plan.intervalMs), plan.signal);
    let st: ActionState;
    try {
      st = await poll();
    } catch (e) {
      if (!(e instanceof CloudError) || !e.retryable || plan.signal?.aborted) throw e;
      lastError = e;
      continue;
    }
    lastError = undefined;
    if (st.state === 'done') return;
    if (st.state === 'failed') throw new CloudError('server', `${plan.what} ended in error: ${st.why}`);
  }
  const tail = lastError ? ` (last poll: ${lastError.message})` : '';
  throw new CloudError('timeout', `${plan.what} did not finish within ${plan.limitMs} ms (${polls} polls)${tail}`);
}

/** The `action` object of an answer, which must carry an id to poll. */
export function actionOf<T extends { id?: unknown }>(
  provider: string,
  json: unknown,
  where: string,
): T & { id: number | string } {
  const a = (json as { action?: T } | undefined)?.action;
  if (!a || (typeof a.id !== 'number' && typeof a.id !== 'string'))
    throw new CloudError('server', `${provider} ${where}: answer has no action id`);
  return a as T & { id: number | string };
}
