/**
 * Runs the checkers: one probe loop per distinct (real server, check), however many virtual
 * servers share it (keepalived #2358, #1495). The timing is keepalived's, as a pure step
 * (`afterProbe`): after a failure while up, retry after delay_before_retry until `retry` more
 * failures, then down; any success is up; the next regular check comes delay_loop later. The
 * first check waits a random part of `warmup`. All waiting is on the injected clock.
 */
import type { LvsCheckConfig } from '../config/lvs-model.js';
import type { TrackClock, TimerId } from '../track/clock.js';
import type { CheckVerdict } from './membership.js';
import { probeFor, type LbProbe, type LbProbeResult, type Target } from './probes.js';

export interface CheckState {
  up: boolean;
  failures: number;
  weight?: number;
  detail: string;
  runs: number;
}

export function initialCheck(ch: LvsCheckConfig): CheckState {
  return {
    up: !ch.alpha,
    failures: 0,
    detail: ch.alpha ? 'not checked yet (alpha: down until a success)' : 'not checked yet',
    runs: 0,
  };
}

/** keepalived's checker step: the new state and when to probe next. */
export function afterProbe(
  ch: LvsCheckConfig,
  st: CheckState,
  r: LbProbeResult,
): { state: CheckState; delayMs: number } {
  const runs = st.runs + 1;
  if (r.ok)
    return {
      state: { up: true, failures: 0, detail: r.detail, runs, ...(r.weight !== undefined ? { weight: r.weight } : {}) },
      delayMs: ch.delayLoopMs,
    };
  const failures = st.failures + 1;
  if (st.up && failures <= ch.retry)
    return { state: { ...st, failures, detail: r.detail, runs }, delayMs: ch.delayBeforeRetryMs };
  return { state: { up: false, failures, detail: r.detail, runs }, delayMs: ch.delayLoopMs };
}

/** The identity of a probe: what it connects to and how, not where it was written. */
export function checkKey(ch: LvsCheckConfig, t: Target): string {
  const { pos: _pos, ...rest } = ch;
  return JSON.stringify({ t: `${t.address}:${t.port}`, ...rest });
}

interface Loop {
  ch: LvsCheckConfig;
  st: CheckState;
  timer?: TimerId;
  abort?: AbortController;
  probe: LbProbe;
  stopped: boolean;
}

export interface PoolOptions {
  clock: TrackClock;
  /** [0, 1): the warmup spread. */
  random?: () => number;
  /** A verdict changed (up/down or dynamic weight). */
  onChange(key: string): void;
  makeProbe?: (ch: LvsCheckConfig, t: Target, clock: TrackClock) => LbProbe;
}

export class CheckerPool {
  private readonly loops = new Map<string, Loop>();
  constructor(private readonly o: PoolOptions) {}

  get size(): number {
    return this.loops.size;
  }

  /** Starts what is new, stops what is gone; a kept check keeps its state and schedule. */
  sync(wanted: Map<string, { ch: LvsCheckConfig; target: Target }>): void {
    for (const [k, l] of this.loops)
      if (!wanted.has(k)) {
        this.halt(l);
        this.loops.delete(k);
      }
    for (const [k, w] of wanted) {
      if (this.loops.has(k)) continue;
      const l: Loop = {
        ch: w.ch,
        st: initialCheck(w.ch),
        probe: (this.o.makeProbe ?? probeFor)(w.ch, w.target, this.o.clock),
        stopped: false,
      };
      this.loops.set(k, l);
      const delay = w.ch.warmupMs ? Math.floor((this.o.random ?? Math.random)() * w.ch.warmupMs) : 0;
      l.timer = this.o.clock.setTimeout(() => this.run(k, l), delay);
    }
  }

  verdict(key: string): CheckVerdict | undefined {
    const l = this.loops.get(key);
    if (!l) return undefined;
    return { up: l.st.up, detail: l.st.detail, ...(l.st.weight !== undefined ? { weight: l.st.weight } : {}) };
  }

  state(key: string): CheckState | undefined {
    return this.loops.get(key)?.st;
  }

  stop(): void {
    for (const l of this.loops.values()) this.halt(l);
    this.loops.clear();
  }

  private halt(l: Loop): void {
    l.stopped = true;
    if (l.timer !== undefined) this.o.clock.clearTimeout(l.timer);
    l.abort?.abort();
  }

  private run(key: string, l: Loop): void {
    if (l.stopped) return;
    const ac = new AbortController();
    l.abort = ac;
    l.probe(ac.signal)
      .catch((e: unknown) => ({ ok: false, detail: `probe error: ${String(e)}` }))
      .then(
        (r) => {
          l.abort = undefined;
          if (l.stopped) return;
          const before = l.st;
          const { state, delayMs } = afterProbe(l.ch, l.st, r);
          l.st = state;
          l.timer = this.o.clock.setTimeout(() => this.run(key, l), delayMs);
          if (before.up !== state.up || before.weight !== state.weight) this.o.onChange(key);
        },
        () => undefined,
      );
  }
}
