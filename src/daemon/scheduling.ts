/**
 * keepalived's process-priority keywords, applied to floatd's own process at start:
 * `vrrp_priority N` (nice, -20..19) and `vrrp_rt_priority N` (SCHED_RR 1..99 for the thread
 * that runs timers and sends adverts; scripts started later run as ordinary processes).
 * Either one makes adverts leave on time when the machine is busy (bench/README.md, jitter).
 * A refusal (no CAP_SYS_NICE, a container's limits) is a warning: the daemon runs anyway.
 */
import { setPriority } from 'node:os';
import { native } from '../native/addon.js';
import type { Logger } from '../util/log.js';

export interface SchedulingConfig {
  nice?: number | undefined;
  rtPriority?: number | undefined;
}

export interface SchedulingDeps {
  setNice(nice: number): void;
  setRealtime(priority: number): void;
}

const realDeps: SchedulingDeps = {
  setNice: (n) => setPriority(0, n),
  setRealtime: (p) => native().setRealtime(p),
};

/** Each setting: its keyword, how it is applied, and what the log says. */
const SETTINGS = [
  {
    key: 'nice',
    keyword: 'vrrp_priority',
    event: 'sched.nice',
    field: 'nice',
    apply: (d: SchedulingDeps, v: number) => d.setNice(v),
    said: (v: number) => `process priority (nice) set to ${v}`,
  },
  {
    key: 'rtPriority',
    keyword: 'vrrp_rt_priority',
    event: 'sched.realtime',
    field: 'priority',
    apply: (d: SchedulingDeps, v: number) => d.setRealtime(v),
    said: (v: number) => `real-time scheduling SCHED_RR priority ${v}`,
  },
] as const;

/** Returns what took effect, for the status and the log. */
export function applyScheduling(
  c: SchedulingConfig,
  log: Logger,
  deps: SchedulingDeps = realDeps,
): { nice?: number; rtPriority?: number } {
  const done: { nice?: number; rtPriority?: number } = {};
  for (const x of SETTINGS) {
    const v = c[x.key];
    if (v === undefined) continue;
    try {
      x.apply(deps, v);
      done[x.key] = v;
      log.info({ event: x.event, [x.field]: v }, x.said(v));
    } catch (e) {
      log.warn(
        { event: 'sched.error', err: (e as Error).message },
        `${x.keyword} ${v} not applied: ${(e as Error).message}`,
      );
    }
  }
  return done;
}
