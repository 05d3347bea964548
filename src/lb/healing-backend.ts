/**
 * The periodic reconcile (shell) around a backend: it remembers what floatd last wanted, looks at
 * the kernel one interval after each apply (reconcile.ts decides when), and puts back whatever
 * someone else changed, counting and logging the repair. Every call to the inner backend is
 * serialized here, so a check never races an apply. No look runs while nothing is configured.
 */
import type { VirtualServerConfig } from '../config/lvs-model.js';
import type { TimerId, TrackClock } from '../track/clock.js';
import type { Logger } from '../util/log.js';
import type { LbBackend, RsCounters } from './backend.js';
import type { RotationEntry } from './membership.js';
import { afterCheck, afterOwnApply, initialHeal, summarise, type HealPolicy, type HealState } from './reconcile.js';

export class HealingBackend implements LbBackend {
  readonly name: string;
  private wanted: { vss: VirtualServerConfig[]; rotations: Map<string, RotationEntry[]> } | undefined;
  private st: HealState = initialHeal();
  private timer: TimerId | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly inner: LbBackend,
    private readonly o: { clock: TrackClock; log: Logger; policy: HealPolicy },
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
    await this.serial(() => this.inner.clear());
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private disarm(): void {
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.disarm();
    if (this.stopped || !this.wanted?.vss.length) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      void this.serial(() => this.check());
    }, ms);
  }

  private async check(): Promise<void> {
    const w = this.wanted;
    if (this.stopped || !w?.vss.length) return;
    let changed = false;
    let script = '';
    try {
      ({ changed, script } = await this.inner.apply(w.vss, w.rotations));
    } catch (e) {
      this.o.log.error({ event: 'lb.reconcile_failed', err: String(e) }, `load balancer reconcile: ${String(e)}`);
      this.arm(this.o.policy.intervalMs);
      return;
    }
    const r = afterCheck(this.o.policy, this.st, changed);
    this.st = r.state;
    const what = summarise(script);
    if (r.log === 'repaired')
      this.o.log.warn(
        { event: 'lb.repaired', repairs: r.state.repairs, ...what },
        `load balancer: the kernel's tables differed from floatd's (changed from outside?): ${what.lines} change(s) ` +
          `put back, the first: ${what.sample[0] ?? ''}`,
      );
    else if (r.log === 'repaired_again')
      this.o.log.warn(
        { event: 'lb.repaired', repairs: r.state.repairs, streak: r.state.streak, ...what },
        `load balancer: the tables are still being changed from outside (${r.state.streak} checks in a row); ` +
          `repaired again, next look in ${r.nextMs / 1000} s`,
      );
    else if (r.log === 'healthy_again')
      this.o.log.info({ event: 'lb.reconcile_clean' }, 'load balancer: the kernel matches again');
    this.arm(r.nextMs);
  }
}
