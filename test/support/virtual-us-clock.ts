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
  private readonly timers = new Map<number, VT>();
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
    this.timers.set(id, { id, at: Math.max(this.t, Math.ceil(atUs)), fn });
    return { id };
  }

  cancel(h: TimerHandle): void {
    this.timers.delete(h.id);
  }

  get pending(): number {
    return this.timers.size;
  }

  private next(end: number): VT | undefined {
    let best: VT | undefined;
    for (const v of this.timers.values()) {
      if (v.at > end) continue;
      if (!best || v.at < best.at || (v.at === best.at && v.id < best.id)) best = v;
    }
    return best;
  }

  async runUntil(end: number): Promise<void> {
    await this.settle();
    for (;;) {
      const v = this.next(end);
      if (!v) break;
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
