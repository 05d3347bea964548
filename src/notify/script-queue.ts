/**
 * One instance's (or group's) notify scripts: one event at a time, in event order, but a slow
 * script never holds the next state back for its whole timeout. keepalived forks notify
 * scripts and forgets them, so a new state's script is never blocked (and scripts overlap and
 * finish out of order, #1055 #996); floatd keeps the order and bounds the wait instead:
 *
 * - When a newer event is queued behind a running one, the running event gets `supersedeUs`
 *   more; then its script is stopped (SIGTERM, SIGKILL after the kill grace), logged as
 *   "killed: superseded by MASTER", and the rest of that event's scripts are skipped.
 * - An event still waiting when its turn comes, more than `supersedeUs` after it was raised,
 *   with a newer event behind it, is skipped as stale (logged). The newest event always runs.
 *
 * So the next state's scripts start within supersedeUs + the kill grace of its transition,
 * whatever the previous ones do; fast scripts still all run, in order.
 */
import { afterUs, type Clock, type TimerHandle } from '../util/clock.js';

/** One script of an event; `signal` aborts it (with a string reason). */
export type ScriptJob = (signal: AbortSignal) => Promise<void>;

export interface QueueItem {
  /** What it is, for log lines: the state ("MASTER"). */
  label: string;
  raisedAtUs: number;
  jobs: ScriptJob[];
  done: () => void;
  supersedes: boolean;
}

interface Running {
  item: QueueItem;
  ctl: AbortController;
  timer?: TimerHandle;
}

export interface ScriptQueueHooks {
  /** A waiting event skipped because it went stale. */
  skipped(item: QueueItem, by: string): void;
  /** Scripts of an event not run because it was stopped (superseded, or floatd reloading/stopping). */
  cut(item: QueueItem, remaining: number, why: string): void;
}

export class ScriptQueue {
  private readonly pending: QueueItem[] = [];
  private running: Running | undefined;
  private closedWhy: string | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly clock: Clock,
    /** notify_supersede_delay in µs. */
    private readonly supersedeUs: number,
    private readonly hooks: ScriptQueueHooks,
  ) {}

  /** After supersedeUs, stops `r` if it still runs: a newer state (`by`) is waiting. */
  private armSupersede(r: Running, by: string): void {
    const stop = (): void => {
      if (this.running === r) r.ctl.abort(`superseded by ${by}`);
    };
    r.timer = afterUs(this.clock, this.supersedeUs, stop, { weak: true });
  }

  /**
   * Queues an event's scripts; resolves when they have run, been stopped or skipped. Only a
   * state change `supersedes` (notify_master_rx_lower_pri does not cut a running notify_master).
   */
  push(label: string, jobs: ScriptJob[], supersedes = true): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.closedWhy !== undefined) {
        resolve();
        return;
      }
      const item: QueueItem = { label, raisedAtUs: this.clock.nowUs(), jobs, done: resolve, supersedes };
      this.pending.push(item);
      const r = this.running;
      if (supersedes && r && r.timer === undefined && !r.ctl.signal.aborted) {
        this.armSupersede(r, label);
      }
      this.pump();
    });
  }

  get busy(): boolean {
    return this.running !== undefined || this.pending.length > 0;
  }

  /** Resolves once nothing runs or waits. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stops the running script and drops the waiting ones, all logged with `why`. */
  close(why: string): void {
    this.closedWhy = why;
    for (const item of this.pending.splice(0)) {
      this.hooks.cut(item, item.jobs.length, why);
      item.done();
    }
    this.running?.ctl.abort(why);
  }

  private pump(): void {
    if (this.running) return;
    for (;;) {
      const item = this.pending.shift();
      if (!item) {
        for (const w of this.idleWaiters.splice(0)) w();
        return;
      }
      const newer = [...this.pending].reverse().find((p) => p.supersedes);
      if (newer && this.clock.nowUs() - item.raisedAtUs > this.supersedeUs) {
        this.hooks.skipped(item, newer.label);
        item.done();
        continue;
      }
      const r: Running = { item, ctl: new AbortController() };
      this.running = r;
      // A newer event already waiting (queued while nothing ran) starts the clock at once.
      if (newer) this.armSupersede(r, newer.label);
      void this.run(r);
      return;
    }
  }

  private async run(r: Running): Promise<void> {
    const { item, ctl } = r;
    for (let i = 0; i < item.jobs.length; i++) {
      if (ctl.signal.aborted) {
        this.hooks.cut(item, item.jobs.length - i, String(ctl.signal.reason));
        break;
      }
      try {
        await item.jobs[i]!(ctl.signal);
      } catch {
        /* a job logs its own failure */
      }
    }
    if (r.timer !== undefined) this.clock.cancel(r.timer);
    this.running = undefined;
    item.done();
    this.pump();
  }
}
