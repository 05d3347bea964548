/**
 * Runs the checkers: one probe loop per distinct (real server, check), however many virtual
 * servers share it (keepalived #2358, #1495). The timing is keepalived's, as a pure step
 * (`afterProbe`): after a failure while up, retry after delay_before_retry until `retry` more
 * failures, then down; any success is up; the next regular check comes delay_loop later. The
 * first check waits a random part of `warmup`. All waiting is on the injected clock.
 * FILE_CHECK is not probed: one watcher per file (src/track/file-tracker.ts), shared by every
 * check that reads it, sets the verdict when the value changes (file-check.ts).
 */
import type { FileCheckConfig, LvsCheckConfig } from '../config/lvs-model.js';
import { afterUs, msToUs, type Clock, type TimerHandle } from '../util/clock.js';
import { FileTracker } from '../track/file-tracker.js';
import { fileVerdict } from './file-check.js';
import type { CheckVerdict } from './membership.js';
import { probeFor, type LbProbe, type LbProbeResult, type ProbedCheck, type Target } from './probes.js';

export interface CheckState {
  up: boolean;
  failures: number;
  weight?: number;
  /** FILE_CHECK: added to the server's weight. */
  delta?: number;
  detail: string;
  runs: number;
  /** FILE_CHECK: the file not read yet (membership.ts: decides nothing). */
  pending?: boolean;
}

export function initialCheck(ch: LvsCheckConfig): CheckState {
  // A watched file decides nothing until its first read (a moment): a server never enters against
  // it, and one already serving (a reload adding the check) does not leave and come back.
  if (ch.kind === 'FILE_CHECK') return { up: false, failures: 0, detail: `reading ${ch.path}`, runs: 0, pending: true };
  return {
    up: !ch.alpha,
    failures: 0,
    detail: ch.alpha ? 'not checked yet (alpha: down until a success)' : 'not checked yet',
    runs: 0,
  };
}

/** What membership sees of a check's state. */
export function verdictOf(st: CheckState): CheckVerdict {
  return {
    up: st.up,
    detail: st.detail,
    ...(st.weight !== undefined ? { weight: st.weight } : {}),
    ...(st.delta ? { delta: st.delta } : {}),
    ...(st.pending ? { pending: true } : {}),
  };
}

/** The part of a verdict that changes a rotation. */
export const verdictSig = (st: CheckState): string =>
  `${st.pending ? 'p' : st.up ? 1 : 0}/${st.weight ?? ''}/${st.delta ?? 0}`;

/** What the service needs of a pool, in-process (CheckerPool) or in a worker (worker-pool.ts). */
export interface Checkers {
  readonly size: number;
  sync(wanted: Map<string, { ch: LvsCheckConfig; target: Target }>): void;
  verdict(key: string): CheckVerdict | undefined;
  state(key: string): CheckState | undefined;
  /** ha_suspend: exactly `keys` stop probing; a resumed one probes at once. */
  suspend(keys: ReadonlySet<string>): { suspended: string[]; resumed: string[] };
  isSuspended(key: string): boolean;
  stop(): void;
}

/** keepalived's checker step: the new state and when to probe next. */
export function afterProbe(
  ch: LvsCheckConfig,
  st: CheckState,
  r: LbProbeResult,
): { state: CheckState; delayUs: number } {
  const runs = st.runs + 1;
  if (r.ok)
    return {
      state: { up: true, failures: 0, detail: r.detail, runs, ...(r.weight !== undefined ? { weight: r.weight } : {}) },
      delayUs: msToUs(ch.delayLoopMs),
    };
  const failures = st.failures + 1;
  if (st.up && failures <= ch.retry)
    return { state: { ...st, failures, detail: r.detail, runs }, delayUs: msToUs(ch.delayBeforeRetryMs) };
  return { state: { up: false, failures, detail: r.detail, runs }, delayUs: msToUs(ch.delayLoopMs) };
}

/** The identity of a probe: what it connects to and how, not where it was written. */
export function checkKey(ch: LvsCheckConfig, t: Target): string {
  const { pos: _pos, ...rest } = ch;
  return JSON.stringify({ t: `${t.address}:${t.port}`, ...rest });
}

interface Loop {
  ch: LvsCheckConfig;
  st: CheckState;
  timer?: TimerHandle;
  abort?: AbortController;
  /** Absent for FILE_CHECK (watched, not probed). */
  probe?: LbProbe;
  stopped: boolean;
  /** ha_suspend: no probe runs; resumed with a probe at once. */
  suspended?: boolean;
}

/** One watcher per file (and init_file), shared by the FILE_CHECKs that read it. */
interface Watched {
  tracker: FileTracker;
  keys: Set<string>;
  read: boolean;
}

export interface PoolOptions {
  clock: Clock;
  /** [0, 1): the warmup spread. */
  random?: () => number;
  /** A verdict changed (up/down or dynamic weight). */
  onChange(key: string): void;
  makeProbe?: (ch: ProbedCheck, t: Target, clock: Clock) => LbProbe;
  /** How often a watched file is also re-read, µs (default FileTracker's 2 s). */
  filePollUs?: number;
  onWarn?(msg: string): void;
}

export class CheckerPool implements Checkers {
  private readonly loops = new Map<string, Loop>();
  private readonly files = new Map<string, Watched>();
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
        this.unwatch(k, l.ch);
      }
    for (const [k, w] of wanted) {
      if (this.loops.has(k)) continue;
      const ch = w.ch;
      if (ch.kind === 'FILE_CHECK') {
        this.loops.set(k, { ch, st: initialCheck(ch), stopped: false });
        this.watch(k, ch);
        continue;
      }
      const l: Loop = {
        ch,
        st: initialCheck(ch),
        probe: (this.o.makeProbe ?? probeFor)(ch, w.target, this.o.clock),
        stopped: false,
      };
      this.loops.set(k, l);
      const delayUs = w.ch.warmupMs ? Math.floor((this.o.random ?? Math.random)() * msToUs(w.ch.warmupMs)) : 0;
      l.timer = this.arm(delayUs, () => this.run(k, l));
    }
  }

  verdict(key: string): CheckVerdict | undefined {
    const l = this.loops.get(key);
    return l ? verdictOf(l.st) : undefined;
  }

  /** Every check's state (the worker posts these to the main thread). */
  states(): IterableIterator<[string, CheckState]> {
    return [...this.loops].map(([k, l]): [string, CheckState] => [k, l.st]).values();
  }

  state(key: string): CheckState | undefined {
    return this.loops.get(key)?.st;
  }

  /** Suspends exactly `keys` (ha_suspend): their probes stop; the others run, a resumed one at once. */
  suspend(keys: ReadonlySet<string>): { suspended: string[]; resumed: string[] } {
    const out = { suspended: [] as string[], resumed: [] as string[] };
    for (const [k, l] of this.loops) {
      const want = keys.has(k);
      if (want === (l.suspended ?? false)) continue;
      l.suspended = want;
      if (l.timer !== undefined) this.o.clock.cancel(l.timer);
      l.timer = undefined;
      if (want) out.suspended.push(k);
      else {
        out.resumed.push(k);
        if (!l.abort) l.timer = this.arm(0, () => this.run(k, l));
      }
    }
    return out;
  }

  isSuspended(key: string): boolean {
    return this.loops.get(key)?.suspended ?? false;
  }

  stop(): void {
    for (const l of this.loops.values()) this.halt(l);
    this.loops.clear();
    for (const f of this.files.values()) f.tracker.stop();
    this.files.clear();
  }

  private fileId = (ch: FileCheckConfig): string => JSON.stringify([ch.path, ch.initFile ?? null]);

  private watch(key: string, ch: FileCheckConfig): void {
    const id = this.fileId(ch);
    let f = this.files.get(id);
    if (!f) {
      const w: Watched = {
        keys: new Set(),
        read: false,
        tracker: new FileTracker({
          path: ch.path,
          clock: this.o.clock,
          ...(this.o.filePollUs ? { pollUs: this.o.filePollUs } : {}),
          ...(ch.initFile ? { initFile: ch.initFile } : {}),
          onValue: (v) => this.fileValue(w, v),
          onWarn: (m) => this.o.onWarn?.(m),
        }),
      };
      f = w;
      this.files.set(id, w);
      void w.tracker.start().then(() => {
        w.read = true;
        this.fileValue(w, w.tracker.value);
      });
    }
    f.keys.add(key);
    if (f.read) this.fileValue(f, f.tracker.value, key);
  }

  private unwatch(key: string, ch: LvsCheckConfig): void {
    if (ch.kind !== 'FILE_CHECK') return;
    const id = this.fileId(ch);
    const f = this.files.get(id);
    if (!f) return;
    f.keys.delete(key);
    if (f.keys.size) return;
    f.tracker.stop();
    this.files.delete(id);
  }

  /** A file's value reached the checks reading it (or only `only`). */
  private fileValue(f: Watched, v: number, only?: string): void {
    let changed = false;
    for (const k of only ? [only] : f.keys) {
      const l = this.loops.get(k);
      if (!l || l.stopped || l.ch.kind !== 'FILE_CHECK') continue;
      const r = fileVerdict(l.ch, v);
      const before = l.st;
      l.st = { up: r.up, failures: r.up ? 0 : 1, detail: r.detail, runs: before.runs + 1, delta: r.delta };
      if (before.pending || before.up !== r.up || (before.delta ?? 0) !== r.delta) changed = true;
    }
    if (changed) this.o.onChange(only ?? [...f.keys][0] ?? '');
  }

  /** A probe timer; weak, so a pending check never keeps a stopping daemon alive. */
  private arm(us: number, fn: () => void): TimerHandle {
    return afterUs(this.o.clock, us, fn, { weak: true });
  }

  private halt(l: Loop): void {
    l.stopped = true;
    if (l.timer !== undefined) this.o.clock.cancel(l.timer);
    l.abort?.abort();
  }

  private run(key: string, l: Loop): void {
    if (l.stopped || l.suspended || !l.probe) return;
    const ac = new AbortController();
    l.abort = ac;
    l.probe(ac.signal)
      .catch((e: unknown) => ({ ok: false, detail: `probe error: ${String(e)}` }))
      .then(
        (r) => {
          l.abort = undefined;
          if (l.stopped) return;
          const before = l.st;
          const { state, delayUs } = afterProbe(l.ch, l.st, r);
          l.st = state;
          if (!l.suspended) l.timer = this.arm(delayUs, () => this.run(key, l));
          if (before.up !== state.up || before.weight !== state.weight) this.o.onChange(key);
        },
        () => undefined,
      );
  }
}
