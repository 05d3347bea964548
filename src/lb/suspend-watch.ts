/**
 * ha_suspend in the daemon (shell): reads this host's addresses every SUSPEND_POLL_US while a
 * virtual server has ha_suspend, and suspends in the checker pool exactly the checks that only
 * suspended services use (suspend.ts decides which services). Logs each suspend and resume.
 */
import type { VirtualServerConfig } from '../config/lvs-model.js';
import { afterUs, type Clock, type TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { checkKey, type Checkers } from './checker-pool.js';
import { localAddresses, SUSPEND_POLL_US, suspendedVs } from './suspend.js';

export interface HaSuspendDeps {
  clock: Clock;
  log: Logger;
  pool: Pick<Checkers, 'suspend'>;
  vss: () => VirtualServerConfig[];
  localAddresses?: () => ReadonlySet<string>;
}

export class HaSuspend {
  /** Keys of the virtual servers suspended now. */
  suspended = new Set<string>();
  private timer: TimerHandle | undefined;
  private stopped = false;
  constructor(private readonly o: HaSuspendDeps) {}

  /** Suspends the checks only suspended services use; resumes the others. */
  apply(): void {
    const vss = this.o.vss();
    if (!vss.some((v) => v.haSuspend)) {
      if (this.suspended.size) this.o.pool.suspend(new Set());
      this.suspended = new Set();
      return;
    }
    const now = suspendedVs(vss, (this.o.localAddresses ?? localAddresses)());
    const active = new Set<string>();
    const all = new Set<string>();
    for (const v of vss)
      for (const r of v.realServers)
        for (const ch of r.checks) {
          all.add(checkKey(ch, r));
          if (!now.has(v.key)) active.add(checkKey(ch, r));
        }
    this.o.pool.suspend(new Set([...all].filter((k) => !active.has(k))));
    for (const k of now)
      if (!this.suspended.has(k))
        this.o.log.info({ event: 'lb.suspend', vs: k }, `${k}: no address of the service is local: checks suspended`);
    for (const k of this.suspended)
      if (!now.has(k) && vss.some((v) => v.key === k))
        this.o.log.info({ event: 'lb.resume', vs: k }, `${k}: the service's address is local: checks resumed`);
    this.suspended = now;
  }

  /** Polls while a virtual server has ha_suspend (call after each configure). */
  poll(): void {
    if (this.timer !== undefined || this.stopped || !this.o.vss().some((v) => v.haSuspend)) return;
    const tick = (): void => {
      this.timer = undefined;
      this.apply();
      this.poll();
    };
    this.timer = afterUs(this.o.clock, SUSPEND_POLL_US, tick, { weak: true });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.cancel(this.timer);
    this.timer = undefined;
  }
}
