/**
 * The periodic reconcile (shell) around a backend: it remembers what floatd last wanted, looks at
 * the kernel one interval after each apply (reconcile.ts decides when), and puts back whatever
 * someone else changed, counting and logging the repair. With a monitor (`nft monitor`,
 * nft-monitor.ts) a change by another process is looked at within moments instead. Every call
 * to the inner backend is serialized here, so a check never races an apply. Nothing runs while
 * nothing is configured.
 */
import type { VirtualServerConfig } from '../config/lvs-model.js';
import { afterUs, US_PER_S, type Clock, type TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { isOwnPid, NftBackend, type LbBackend, type RsCounters } from './backend.js';
import type { RotationEntry } from './membership.js';
import { nftMonitor, type LineSource, type StartMonitor } from './nft-monitor.js';
import {
  afterCheck,
  afterOwnApply,
  foreignChangeDelayUs,
  initialHeal,
  MonitorParser,
  summarise,
  type HealPolicy,
  type HealState,
} from './reconcile.js';

/** How long after one of floatd's own nft calls a reported change still counts as floatd's. */
const OWN_GRACE_US = 500_000;

export class HealingBackend implements LbBackend {
  readonly name: string;
  private wanted: { vss: VirtualServerConfig[]; rotations: Map<string, RotationEntry[]> } | undefined;
  private st: HealState = initialHeal();
  private timer: TimerHandle | undefined;
  private dueAtUs = 0;
  private busy = false;
  private busyEndedUs = -Infinity;
  private lastLookUs = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private mon: LineSource | undefined;
  private monRetryUs = US_PER_S;
  private monTimer: TimerHandle | undefined;

  constructor(
    private readonly inner: LbBackend,
    private readonly o: {
      clock: Clock;
      log: Logger;
      policy: HealPolicy;
      /** Watches the ruleset; `isOwn` tells floatd's own nft processes by pid. */
      monitor?: { start: StartMonitor; isOwn(pid: number): boolean };
    },
  ) {
    this.name = inner.name;
  }

  /** Repairs made since start. */
  get repairs(): number {
    return this.st.repairs;
  }

  apply(
    vss: VirtualServerConfig[],
    rotations: Map<string, RotationEntry[]>,
  ): Promise<{ changed: boolean; script: string }> {
    this.stopped = false;
    this.wanted = { vss, rotations: new Map(rotations) };
    if (vss.length) this.watch();
    return this.serial(async () => {
      try {
        return await this.inner.apply(vss, rotations);
      } finally {
        this.arm(afterOwnApply(this.o.policy, this.st));
      }
    });
  }

  counters(vss: VirtualServerConfig[]): Promise<Map<string, RsCounters>> {
    return this.serial(() => this.inner.counters(vss));
  }

  async clear(): Promise<void> {
    this.stopped = true;
    this.wanted = undefined;
    this.disarm();
    this.unwatch();
    await this.serial(() => this.inner.clear());
  }

  /** One call to the inner backend at a time; while one runs (and just after), nft changes are floatd's. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.busy = true;
      try {
        return await fn();
      } finally {
        this.busy = false;
        this.busyEndedUs = this.o.clock.nowUs();
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Whether a transaction `nft monitor` reports is floatd's: by its pid (as the kernel reports
   * it: outside a pid namespace floatd's children match) or by its time (during one of floatd's
   * calls or within OWN_GRACE_US after; a change by someone else in that window waits for the
   * periodic look).
   */
  private own(pid: number): boolean {
    return (this.o.monitor?.isOwn(pid) ?? false) || this.busy || this.o.clock.nowUs() - this.busyEndedUs < OWN_GRACE_US;
  }

  private disarm(): void {
    if (this.timer !== undefined) this.o.clock.cancel(this.timer);
    this.timer = undefined;
  }

  /** Starts the monitor (once; restarted with back-off if it exits while wanted). */
  private watch(): void {
    const m = this.o.monitor;
    if (!m || this.mon || this.monTimer !== undefined || this.stopped) return;
    const parser = new MonitorParser((pid) => this.own(pid));
    this.mon = m.start(
      (l) => {
        this.monRetryUs = US_PER_S;
        if (!parser.line(l).foreign) return;
        const since = this.o.clock.nowUs() - this.lastLookUs;
        this.armSooner(foreignChangeDelayUs(this.o.policy, this.st, since));
      },
      (why) => {
        this.mon = undefined;
        if (this.stopped || !this.wanted?.vss.length) return;
        this.o.log.warn(
          { event: 'lb.monitor_failed', err: why },
          `load balancer: ${why}; outside changes are seen at the periodic look, ` +
            `retrying in ${this.monRetryUs / US_PER_S} s`,
        );
        const retry = (): void => {
          this.monTimer = undefined;
          this.watch();
        };
        this.monTimer = afterUs(this.o.clock, this.monRetryUs, retry, { weak: true });
        this.monRetryUs = Math.min(30 * US_PER_S, this.monRetryUs * 2);
      },
    );
  }

  private unwatch(): void {
    this.mon?.stop();
    this.mon = undefined;
    if (this.monTimer !== undefined) this.o.clock.cancel(this.monTimer);
    this.monTimer = undefined;
  }

  private armSooner(us: number): void {
    if (this.timer === undefined || this.dueAtUs > this.o.clock.nowUs() + us) this.arm(us, 'monitor');
  }

  /** `why`: what the look is for, in the repair's log line. */
  private arm(us: number, why: 'interval' | 'monitor' = 'interval'): void {
    this.disarm();
    if (this.stopped || !this.wanted?.vss.length) return;
    this.dueAtUs = this.o.clock.nowUs() + us;
    const look = (): void => {
      this.timer = undefined;
      void this.serial(() => this.check(why));
    };
    this.timer = afterUs(this.o.clock, us, look, { weak: true });
  }

  private async check(trigger: 'interval' | 'monitor'): Promise<void> {
    const w = this.wanted;
    if (this.stopped || !w?.vss.length) return;
    this.lastLookUs = this.o.clock.nowUs();
    let changed = false;
    let script = '';
    try {
      ({ changed, script } = await this.inner.apply(w.vss, w.rotations));
    } catch (e) {
      this.o.log.error({ event: 'lb.reconcile_failed', err: String(e) }, `load balancer reconcile: ${String(e)}`);
      this.arm(this.o.policy.intervalUs);
      return;
    }
    const r = afterCheck(this.o.policy, this.st, changed);
    this.st = r.state;
    const what = summarise(script);
    if (r.log === 'repaired')
      this.o.log.warn(
        { event: 'lb.repaired', trigger, repairs: r.state.repairs, ...what },
        `load balancer: the kernel's tables differed from floatd's (changed from outside?): ${what.lines} change(s) ` +
          `put back, the first: ${what.sample[0] ?? ''}`,
      );
    else if (r.log === 'repaired_again')
      this.o.log.warn(
        { event: 'lb.repaired', trigger, repairs: r.state.repairs, streak: r.state.streak, ...what },
        `load balancer: the tables are still being changed from outside (${r.state.streak} checks in a row); ` +
          `repaired again, next look in ${r.nextUs / 1000} s`,
      );
    else if (r.log === 'healthy_again')
      this.o.log.info({ event: 'lb.reconcile_clean' }, 'load balancer: the kernel matches again');
    this.arm(r.nextUs);
  }
}

/** floatd's backend: nftables, healed every interval (default 30 s; and at once with `nft monitor`). */
export function nftHealing(o: {
  clock: Clock;
  log: Logger;
  intervalUs: number | undefined;
  monitor: boolean;
}): HealingBackend {
  return new HealingBackend(new NftBackend(), {
    clock: o.clock,
    log: o.log,
    policy: { intervalUs: o.intervalUs ?? 30 * US_PER_S },
    ...(o.monitor ? { monitor: { start: nftMonitor(), isOwn: isOwnPid } } : {}),
  });
}
