/**
 * Virtual clocks for tests (the shipped code has only src/util/clock.ts). VirtualClock is the
 * millisecond view trackers and notifiers take; time moves only through advance().
 */
import type { TimerId, TrackClock } from '../../src/util/clock.js';

interface VTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A virtual clock for tests: time moves only through advance()/runUntil(); due timers fire in
 * deadline order (ties in creation order). Promise continuations run between timers, so code
 * that awaits inside a timer callback sees its microtasks settle before the next timer.
 */
export class VirtualClock implements TrackClock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, VTimer>();

  now(): number {
    return this.t;
  }
  wallMs(): number {
    return 1_800_000_000_000 + this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = ++this.seq;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), seq: id, fn });
    return id;
  }

  clearTimeout(id: TimerId): void {
    if (typeof id === 'number') this.timers.delete(id);
  }

  /** Number of timers still armed. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      this.timers.delete(next.id);
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }

  private nextDue(end: number): VTimer | undefined {
    let best: VTimer | undefined;
    for (const v of this.timers.values()) {
      if (v.at > end) continue;
      if (!best || v.at < best.at || (v.at === best.at && v.seq < best.seq)) best = v;
    }
    return best;
  }
}

/** Lets pending promise chains run (several turns, since async adapters chain a few awaits). */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
