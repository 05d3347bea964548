/**
 * When to look at the kernel again, and what a look that changed something means (pure). The
 * load balancer's tables are floatd's: someone running `nft flush table ip floatd_lb` or
 * deleting an element takes real servers out of rotation silently. So after every apply the
 * tables are re-read one interval later and diffed against the wanted state (nft-diff.ts); a
 * diff that is not empty is a repair, applied in the same step. Repairs are counted and logged;
 * while something outside keeps undoing floatd's rules, the checks back off (doubling, up to
 * eight intervals) so two writers never fight faster than that, and the log says so once per
 * streak rather than on every check.
 */

export interface HealPolicy {
  intervalMs: number;
  /** Longest wait between checks while repairs keep coming (default 8 × interval). */
  maxBackoffMs?: number;
}

export interface HealState {
  repairs: number;
  /** Consecutive checks that had to repair. */
  streak: number;
}

export const initialHeal = (): HealState => ({ repairs: 0, streak: 0 });

/** How long until the next look, given the current streak. */
export function nextCheckMs(p: HealPolicy, st: HealState): number {
  const max = p.maxBackoffMs ?? 8 * p.intervalMs;
  return Math.min(max, p.intervalMs * 2 ** Math.min(st.streak, 16));
}

export type HealLog = 'repaired' | 'repaired_again' | 'healthy_again' | undefined;

/**
 * A periodic look finished: `changed` says whether the kernel had to be corrected. Returns the
 * new state, when to look next and what to log: the first repair of a streak is logged with
 * what differed; the rest of the streak as one "still being changed" line at each doubling;
 * the end of a streak once.
 */
export function afterCheck(
  p: HealPolicy,
  st: HealState,
  changed: boolean,
): { state: HealState; nextMs: number; log: HealLog } {
  if (!changed) {
    const state = { repairs: st.repairs, streak: 0 };
    return { state, nextMs: nextCheckMs(p, state), log: st.streak > 0 ? 'healthy_again' : undefined };
  }
  const state = { repairs: st.repairs + 1, streak: st.streak + 1 };
  const log: HealLog = st.streak === 0 ? 'repaired' : isPow2(state.streak) ? 'repaired_again' : undefined;
  return { state, nextMs: nextCheckMs(p, state), log };
}

/** An apply by floatd itself (a check result, a reload) restarts the wait at one interval. */
export function afterOwnApply(p: HealPolicy, st: HealState): number {
  return nextCheckMs(p, st);
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** What differed, for the log: the script's first lines and how many there were. */
export function summarise(script: string, max = 4): { lines: number; sample: string[] } {
  const all = script.split('\n').filter(Boolean);
  return { lines: all.length, sample: all.slice(0, max) };
}
