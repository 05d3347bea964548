/** Polling for lab tests and benchmarks: a condition every 50 ms, with the daemons' logs on a timeout. */
import { delayUs, msToUs, realClock } from '../util/clock.js';

/** Resolves with the ms `cond` took to become true; throws after `ms` with `context()` appended. */
export async function pollUntil(what: string, cond: () => boolean, ms: number, context: () => string): Promise<number> {
  const t0 = realClock.wallMs();
  while (realClock.wallMs() - t0 < ms) {
    if (cond()) return realClock.wallMs() - t0;
    await delayUs(realClock, msToUs(50));
  }
  throw new Error(`timed out after ${ms} ms waiting for: ${what}\n${context()}`);
}
