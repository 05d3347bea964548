/**
 * keepalived's process-priority keywords, applied to floatd's own process at start:
 * `vrrp_priority N` (nice, -20..19) and `vrrp_rt_priority N` (SCHED_RR 1..99 for the thread
 * that runs timers and sends adverts; scripts started later run as ordinary processes).
 * Either one makes adverts leave on time when the machine is busy (bench/README.md, jitter).
 * A refusal (no CAP_SYS_NICE, a container's limits) is a warning: the daemon runs anyway.
 */
import { setPriority } from 'node:os';
import { native } from '../net/native.js';
import type { Logger } from '../util/log.js';

export interface SchedulingConfig {
  nice?: number;
  rtPriority?: number;
}

export interface SchedulingDeps {
  setNice(nice: number): void;
  setRealtime(priority: number): void;
}

const realDeps: SchedulingDeps = {
  setNice: (n) => setPriority(0, n),
  setRealtime: (p) => native().setRealtime(p),
};

/** Returns what took effect, for the status and the log. */
export function applyScheduling(c: SchedulingConfig, log: Logger, deps: SchedulingDeps = realDeps): { nice?: number; rtPriority?: number } {
  const done: { nice?: number; rtPriority?: number } = {};
  if (c.nice !== undefined) {
    try {
      deps.setNice(c.nice);
      done.nice = c.nice;
      log.info({ event: 'sched.nice', nice: c.nice }, `process priority (nice) set to ${c.nice}`);
    } catch (e) {
      log.warn({ event: 'sched.error', err: (e as Error).message }, `vrrp_priority ${c.nice} not applied: ${(e as Error).message}`);
    }
  }
  if (c.rtPriority !== undefined) {
    try {
      deps.setRealtime(c.rtPriority);
      done.rtPriority = c.rtPriority;
      log.info({ event: 'sched.realtime', priority: c.rtPriority }, `real-time scheduling SCHED_RR priority ${c.rtPriority}`);
    } catch (e) {
      log.warn({ event: 'sched.error', err: (e as Error).message }, `vrrp_rt_priority ${c.rtPriority} not applied: ${(e as Error).message}`);
    }
  }
  return done;
}
