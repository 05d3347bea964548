/**
 * Time for trackers and notifiers, in milliseconds (check intervals are configured in ms, down
 * to 50). Everything that waits goes through this interface so unit tests run on a virtual
 * clock without sleeping.
 */
import type { Clock } from '../util/clock.js';

/** Opaque handle from setTimeout. */
export type TimerId = unknown;

export interface TrackClock {
  /** Monotonic milliseconds since an arbitrary origin (fractional allowed). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

const origin = performance.now();

export const realTrackClock: TrackClock = {
  now: () => performance.now() - origin,
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.(); // a pending check must never keep a stopping daemon alive
    return t;
  },
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
};

/** Adapts the daemon's µs clock (src/util/clock.ts) so trackers share its time source. */
export function trackClockFrom(c: Clock): TrackClock {
  return {
    now: () => c.nowUs() / 1000,
    setTimeout: (fn, ms) => c.at(c.nowUs() + Math.max(0, Math.round(ms * 1000)), fn),
    clearTimeout: (id) => c.cancel(id as { id: number }),
  };
}

interface VTimer { id: number; at: number; seq: number; fn: () => void }

/**
 * A virtual clock for tests: time moves only through advance()/runUntil(); due timers fire in
 * deadline order (ties in creation order). Promise continuations run between timers, so code
 * that awaits inside a timer callback sees its microtasks settle before the next timer.
 */
export class VirtualClock implements TrackClock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, VTimer>();

  now(): number { return this.t; }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = ++this.seq;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), seq: id, fn });
    return id;
  }

  clearTimeout(id: TimerId): void {
    if (typeof id === 'number') this.timers.delete(id);
  }

  /** Number of timers still armed. */
  get pending(): number { return this.timers.size; }

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
