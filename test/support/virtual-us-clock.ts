/**
 * A virtual µs Clock (src/util/clock.ts's interface) for the simulator: time moves only in
 * runUntil(); due timers fire in deadline order (ties in creation order) and the microtasks
 * each one starts settle before the next, so runs replay exactly.
 */
import type { Clock, TimerHandle } from '../../src/util/clock.js';

interface VT {
  id: number;
  at: number;
  fn: () => void;
}

export class VirtualUsClock implements Clock {
  private t = 0;
  private seq = 0;
  private stopped = false;
  /** Live timers by id; the heap may still hold cancelled ones (skipped when they surface). */
  private readonly timers = new Map<number, VT>();
  private readonly heap: VT[] = [];
  /** Called after each timer and the microtasks it started (the simulator's invariants). */
  onStep: (() => void) | undefined;
  /** How to let the work a timer started finish (default: microtask turns). */
  settle: () => Promise<void> = () => settle();

  nowUs(): number {
    return this.t;
  }
  wallMs(): number {
    return 1_800_000_000_000 + Math.floor(this.t / 1000);
  }

  at(atUs: number, fn: () => void): TimerHandle {
    const id = ++this.seq;
    const v: VT = { id, at: Math.max(this.t, Math.ceil(atUs)), fn };
    this.timers.set(id, v);
    this.push(v);
    return { id };
  }

  cancel(h: TimerHandle): void {
    this.timers.delete(h.id);
  }

  /** Ends runUntil() after the current step (a run that has already failed need not go on). */
  stop(): void {
    this.stopped = true;
  }

  get pending(): number {
    return this.timers.size;
  }

  private less(x: VT, y: VT): boolean {
    return x.at < y.at || (x.at === y.at && x.id < y.id);
  }

  private push(v: VT): void {
    const a = this.heap;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  private pop(): void {
    const a = this.heap;
    const last = a.pop()!;
    if (a.length === 0) return;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
      if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
  }

  /** The earliest live timer due by `end` (deadline order, ties in creation order). */
  private next(end: number): VT | undefined {
    for (;;) {
      const v = this.heap[0];
      if (!v) return undefined;
      if (this.timers.get(v.id) !== v) {
        this.pop();
        continue;
      }
      return v.at <= end ? v : undefined;
    }
  }

  async runUntil(end: number): Promise<void> {
    await this.settle();
    for (;;) {
      const v = this.stopped ? undefined : this.next(end);
      if (!v) break;
      this.pop();
      this.timers.delete(v.id);
      this.t = v.at;
      v.fn();
      await this.settle();
      this.onStep?.();
    }
    this.t = Math.max(this.t, end);
  }
}

/**
 * Lets pending promise chains run. `turns` microtask turns cover the executor's kernel queue
 * (a few awaits per queued job); the simulator's invariants fail loudly if it ever is not enough.
 */
export async function settle(turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
