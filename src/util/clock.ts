/**
 * Time for the imperative shell. The pure cores take `now` in integer microseconds from a
 * monotonic source (keepalived keeps µs too), so wall-clock jumps never move VRRP timers.
 */
export interface Clock {
  /** Monotonic microseconds since an arbitrary origin. */
  nowUs(): number;
  /** Wall clock, ms since the epoch: for logs and status only. */
  wallMs(): number;
  /** Runs fn when nowUs() >= atUs. */
  at(atUs: number, fn: () => void): TimerHandle;
  cancel(h: TimerHandle): void;
}

export interface TimerHandle { readonly id: number }

const origin = process.hrtime.bigint();

export const realClock: Clock = (() => {
  let nextId = 1;
  const timers = new Map<number, NodeJS.Timeout>();
  const nowUs = (): number => Number((process.hrtime.bigint() - origin) / 1000n);
  return {
    nowUs,
    wallMs: () => Date.now(),
    at(atUs, fn) {
      const id = nextId++;
      // setTimeout has ms granularity and may fire early by <1 ms; re-arm until due so a
      // timer never fires before its deadline (VRRP's down timer must not expire early).
      const arm = (): void => {
        const delayMs = Math.max(0, (atUs - nowUs()) / 1000);
        timers.set(id, setTimeout(() => {
          if (nowUs() < atUs) { arm(); return; }
          timers.delete(id);
          fn();
        }, Math.ceil(delayMs)));
      };
      arm();
      return { id };
    },
    cancel(h) {
      const t = timers.get(h.id);
      if (t) { clearTimeout(t); timers.delete(h.id); }
    },
  };
})();
