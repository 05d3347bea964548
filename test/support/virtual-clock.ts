/**
 * The virtual clock the unit tests of trackers, notify and the load balancer use (the shipped
 * code has only src/util/clock.ts): the simulator's µs Clock, stepped by relative amounts.
 * Durations are µs like everywhere else; `MS` (µs per ms) keeps test durations readable.
 */
import { VirtualUsClock } from './virtual-us-clock.js';

export { US_PER_MS as MS } from '../../src/util/clock.js';

/**
 * Time moves only through advance(); due timers fire in deadline order (ties in creation
 * order). Promise continuations run between timers, so code that awaits inside a timer
 * callback sees its microtasks settle before the next timer.
 */
export class VirtualClock extends VirtualUsClock {
  constructor() {
    super();
    this.settle = () => settle();
  }

  /** Moves time forward by `us`, firing every timer that falls due on the way. */
  async advance(us: number): Promise<void> {
    await this.runUntil(this.nowUs() + us);
    await settle();
  }
}

/** Lets pending promise chains run (several turns, since async adapters chain a few awaits). */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
