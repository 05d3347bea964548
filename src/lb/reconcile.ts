/**
 * When to look at the kernel again, and what a look that changed something means (pure). The
 * load balancer's tables are floatd's: someone running `nft flush table ip floatd_lb` or
 * deleting an element takes real servers out of rotation silently. So after every apply the
 * tables are re-read one interval later and diffed against the wanted state (nft-diff.ts); a
 * diff that is not empty is a repair, applied in the same step. Repairs are counted and logged;
 * while something outside keeps undoing floatd's rules, the checks back off (doubling, up to
 * eight intervals) so two writers never fight faster than that, and the log says so once per
 * streak rather than on every check. Times are µs.
 */
import { US_PER_MS, US_PER_S } from '../util/clock.js';

export interface HealPolicy {
  intervalUs: number;
  /** A change from outside (seen by `nft monitor`) is looked at this long after it (default 100 ms)… */
  debounceUs?: number;
  /** …but never sooner than this after the previous look (default 1000 ms). */
  minGapUs?: number;
  /** Longest wait between checks while repairs keep coming (default 8 × interval). */
  maxBackoffUs?: number;
}

export interface HealState {
  repairs: number;
  /** Consecutive checks that had to repair. */
  streak: number;
}

export const initialHeal = (): HealState => ({ repairs: 0, streak: 0 });

/** How long until the next look, given the current streak. */
export function nextCheckUs(p: HealPolicy, st: HealState): number {
  const max = p.maxBackoffUs ?? 8 * p.intervalUs;
  return Math.min(max, p.intervalUs * 2 ** Math.min(st.streak, 16));
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
): { state: HealState; nextUs: number; log: HealLog } {
  if (!changed) {
    const state = { repairs: st.repairs, streak: 0 };
    return { state, nextUs: nextCheckUs(p, state), log: st.streak > 0 ? 'healthy_again' : undefined };
  }
  const state = { repairs: st.repairs + 1, streak: st.streak + 1 };
  const log: HealLog = st.streak === 0 ? 'repaired' : isPow2(state.streak) ? 'repaired_again' : undefined;
  return { state, nextUs: nextCheckUs(p, state), log };
}

/** An apply by floatd itself (a check result, a reload) restarts the wait at one interval. */
export function afterOwnApply(p: HealPolicy, st: HealState): number {
  return nextCheckUs(p, st);
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** What differed, for the log: the script's first lines and how many there were. */
export function summarise(script: string, max = 4): { lines: number; sample: string[] } {
  const all = script.split('\n').filter(Boolean);
  return { lines: all.length, sample: all.slice(0, max) };
}

/**
 * After `nft monitor` reported a change to floatd's tables by another process: how long until
 * the look. Debounced (a tool's burst of changes is one look), and at least a gap after the last
 * look that doubles with each repair in a row (1, 2, 4 … s, up to the periodic back-off's cap):
 * a tool that keeps undoing floatd's rules is answered more and more slowly.
 */
export function foreignChangeDelayUs(p: HealPolicy, st: HealState, sinceLastLookUs: number): number {
  const max = p.maxBackoffUs ?? 8 * p.intervalUs;
  const gap = Math.min(max, (p.minGapUs ?? US_PER_S) * 2 ** Math.min(Math.max(0, st.streak - 1), 16));
  return Math.max(p.debounceUs ?? 100 * US_PER_MS, gap - sinceLastLookUs);
}

/** The tables `nft monitor` lines are about ("add element ip floatd_lb s… { … }"). */
const OURS = / (?:ip|ip6|netdev) (?:floatd_lb|floatd_lbdr)(?: |$)/;
const GENERATION = /^# new generation \d+ by process (\d+)/;

/**
 * Reads `nft monitor` output line by line (pure). A transaction's lines come before its
 * "# new generation N by process PID" line; `foreign` is true when that transaction came from
 * another process and touched floatd's tables — or printed nothing at all: nft's monitor cannot
 * print an element of a set it has no cache of ("Received event for an unknown set", on
 * stderr), so a silent transaction is looked at rather than trusted.
 */
export class MonitorParser {
  private touched = false;
  private lines = 0;
  constructor(private readonly own: (pid: number) => boolean) {}

  line(l: string): { foreign: boolean } {
    const g = GENERATION.exec(l);
    if (!g) {
      this.lines++;
      if (OURS.test(l)) this.touched = true;
      return { foreign: false };
    }
    const foreign = (this.touched || this.lines === 0) && !this.own(Number(g[1]));
    this.touched = false;
    this.lines = 0;
    return { foreign };
  }
}
