/**
 * The one clock. Everything in src/ that reads the time or waits does it through a `Clock`
 * injected from the composition root (bin → cli/run → Runtime): VRRP timers, trackers,
 * notify scripts, link watch, cloud HTTP, the API's ages. Time is integer microseconds from a
 * monotonic source (keepalived keeps µs too), so wall-clock jumps never move a timer;
 * `wallMs()` is for log/status timestamps only.
 *
 * One unit too: every duration here is integer µs (`afterUs`, `delayUs`, `timeoutSignalUs`);
 * code whose configuration holds ms converts once with `msToUs` where it arms a timer, and
 * status/log fields in ms are computed from µs at the edge. There is no millisecond view.
 *
 * This is the only module that may call setTimeout/Date.now/performance.now (test/unit/
 * util/clock-rule.test.ts enforces it, and that the old ms helpers stay gone). Tests use the
 * virtual clocks in test/support/.
 */
export interface Clock {
  /** Monotonic microseconds since an arbitrary origin (integer). */
  nowUs(): number;
  /** Wall clock, ms since the epoch: for logs and status only. */
  wallMs(): number;
  /**
   * Runs fn when nowUs() >= atUs. `weak`: the timer does not keep the process alive (a
   * pending check or poll must never hold up a stopping daemon).
   */
  at(atUs: number, fn: () => void, opts?: { weak?: boolean }): TimerHandle;
  cancel(h: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

const origin = process.hrtime.bigint();

/**
 * realClock's origin on CLOCK_MONOTONIC (what process.hrtime reads on Linux), in µs: `realClock.nowUs() +
 * MONOTONIC_ORIGIN_US` is the same instant in every process on the host (the fence guard's deadlines).
 */
export const MONOTONIC_ORIGIN_US = Number(origin / 1000n);

export const realClock: Clock = (() => {
  let nextId = 1;
  const timers = new Map<number, NodeJS.Timeout>();
  const nowUs = (): number => Number((process.hrtime.bigint() - origin) / 1000n);
  return {
    nowUs,
    wallMs: () => Date.now(),
    at(atUs, fn, opts) {
      const id = nextId++;
      // setTimeout has ms granularity and may fire early by <1 ms; re-arm until due so a
      // timer never fires before its deadline (VRRP's down timer must not expire early).
      const arm = (): void => {
        const waitMs = Math.max(0, (atUs - nowUs()) / 1000);
        const t = setTimeout(() => {
          if (nowUs() < atUs) {
            arm();
            return;
          }
          timers.delete(id);
          fn();
        }, Math.ceil(waitMs));
        if (opts?.weak) t.unref();
        timers.set(id, t);
      };
      arm();
      return { id };
    },
    cancel(h) {
      const t = timers.get(h.id);
      if (t) {
        clearTimeout(t);
        timers.delete(h.id);
      }
    },
  };
})();

export const US_PER_MS = 1000;
export const US_PER_S = 1_000_000;

/** A duration in ms (config and status units) as integer µs, never negative. */
export function msToUs(ms: number): number {
  return Math.max(0, Math.round(ms * US_PER_MS));
}

/** Runs fn `us` microseconds from now. */
export function afterUs(clock: Clock, us: number, fn: () => void, opts?: { weak?: boolean }): TimerHandle {
  return clock.at(clock.nowUs() + Math.max(0, Math.round(us)), fn, opts);
}

/** Waits `us`; resolves true when the time has passed, false at once when `signal` aborts. */
export function delayUs(clock: Clock, us: number, signal?: AbortSignal, opts?: { weak?: boolean }): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const onAbort = (): void => {
      clock.cancel(h);
      resolve(false);
    };
    const h = afterUs(
      clock,
      us,
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      opts,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * An AbortSignal that aborts after `us` with a TimeoutError (what AbortSignal.timeout gives,
 * but on the injected clock; the message keeps ms, the unit operators configure). Call clear()
 * when done so the timer does not linger.
 */
export function timeoutSignalUs(clock: Clock, us: number): { signal: AbortSignal; clear(): void } {
  const ctl = new AbortController();
  const msg = `timed out after ${us / US_PER_MS} ms`;
  const h = afterUs(clock, us, () => ctl.abort(new DOMException(msg, 'TimeoutError')), { weak: true });
  return { signal: ctl.signal, clear: () => clock.cancel(h) };
}
