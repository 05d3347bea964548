/**
 * Log lines with counts instead of floods: the first occurrence of a key is logged at once;
 * further ones within the interval are only counted, and when the interval ends one summary
 * line says how many there were (`… (and 41 more in the last 10 s)`, field `suppressed`). A
 * key quiet for a whole interval is forgotten, so its next occurrence is logged at once again.
 *
 * Keys are bounded (`maxKeys`): past the bound new keys share one overflow key, so hostile
 * input (one key per forged source address) cannot grow memory or the log.
 *
 * `LogAggregator` is the pure core (time passed in, µs); `RateLimitedLog` runs it on the injected
 * clock with one timer.
 */
import { US_PER_MS, US_PER_S, type Clock, type TimerHandle } from './clock.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LineLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Summary {
  key: string;
  level: Level;
  obj: object;
  msg: string;
  suppressed: number;
  /** The window, in ms (the log field `intervalMs`). */
  intervalMs: number;
}

interface Window {
  endsAtUs: number;
  suppressed: number;
  level: Level;
  obj: object;
  msg: string;
}

export const OVERFLOW_KEY = '(other keys)';

export class LogAggregator {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly intervalUs: number,
    readonly maxKeys = 1000,
  ) {}

  /** 'log': write this line now; 'count': it is counted into the key's next summary. */
  hit(key: string, nowUs: number, level: Level, obj: object, msg: string): 'log' | 'count' {
    let k = key;
    if (!this.windows.has(k) && this.windows.size >= this.maxKeys) k = OVERFLOW_KEY;
    const w = this.windows.get(k);
    if (!w) {
      // Overflowed keys are never logged one by one: even the first is counted.
      const over = k === OVERFLOW_KEY;
      this.windows.set(k, { endsAtUs: nowUs + this.intervalUs, suppressed: over ? 1 : 0, level, obj, msg });
      return over ? 'count' : 'log';
    }
    w.suppressed++;
    // The summary carries the latest line's fields and wording.
    w.level = level;
    w.obj = obj;
    w.msg = msg;
    return 'count';
  }

  /** Summaries of windows that ended by `nowUs`; a window with hits opens the next one. */
  due(nowUs: number): Summary[] {
    const out: Summary[] = [];
    for (const [key, w] of this.windows) {
      if (w.endsAtUs > nowUs) continue;
      if (w.suppressed === 0) {
        this.windows.delete(key);
        continue;
      }
      out.push(this.summary(key, w));
      w.suppressed = 0;
      w.endsAtUs = nowUs + this.intervalUs;
    }
    return out;
  }

  private summary(key: string, w: Window): Summary {
    const { level, obj, msg, suppressed } = w;
    return { key, level, obj, msg, suppressed, intervalMs: this.intervalUs / US_PER_MS };
  }

  /** Every pending count, now (at shutdown). */
  drain(): Summary[] {
    const out: Summary[] = [];
    for (const [key, w] of this.windows) {
      if (w.suppressed === 0) continue;
      out.push(this.summary(key, w));
    }
    this.windows.clear();
    return out;
  }

  /** Earliest window end, or undefined with no open window. */
  nextDue(): number | undefined {
    let best: number | undefined;
    for (const w of this.windows.values()) if (best === undefined || w.endsAtUs < best) best = w.endsAtUs;
    return best;
  }

  get keys(): number {
    return this.windows.size;
  }
}

export interface RateLimitedLogOptions {
  log: LineLog;
  clock: Clock;
  /** The summary window; default 10 s. */
  intervalUs?: number;
  maxKeys?: number;
}

export class RateLimitedLog {
  private readonly agg: LogAggregator;
  private timer: TimerHandle | undefined;
  private timerAt: number | undefined;

  constructor(private readonly o: RateLimitedLogOptions) {
    this.agg = new LogAggregator(o.intervalUs ?? 10 * US_PER_S, o.maxKeys ?? 1000);
  }

  /** Logs now, or counts into the key's summary line. */
  line(key: string, level: Level, obj: object, msg: string): void {
    const now = this.o.clock.nowUs();
    if (this.agg.hit(key, now, level, obj, msg) === 'log') this.o.log[level](obj, msg);
    this.arm();
  }

  debug(key: string, obj: object, msg: string): void {
    this.line(key, 'debug', obj, msg);
  }
  info(key: string, obj: object, msg: string): void {
    this.line(key, 'info', obj, msg);
  }
  warn(key: string, obj: object, msg: string): void {
    this.line(key, 'warn', obj, msg);
  }
  error(key: string, obj: object, msg: string): void {
    this.line(key, 'error', obj, msg);
  }

  /** Writes every pending summary and stops the timer. */
  stop(): void {
    if (this.timer) this.o.clock.cancel(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
    for (const s of this.agg.drain()) this.write(s);
  }

  private arm(): void {
    const at = this.agg.nextDue();
    if (at === undefined || (this.timerAt !== undefined && this.timerAt <= at)) return;
    if (this.timer) this.o.clock.cancel(this.timer);
    this.timerAt = at;
    this.timer = this.o.clock.at(
      at,
      () => {
        this.timer = undefined;
        this.timerAt = undefined;
        for (const s of this.agg.due(this.o.clock.nowUs())) this.write(s);
        this.arm();
      },
      { weak: true },
    );
  }

  private write(s: Summary): void {
    const secs = Math.round(s.intervalMs / 100) / 10;
    this.o.log[s.level](
      { ...s.obj, suppressed: s.suppressed, intervalMs: s.intervalMs },
      `${s.msg} (and ${s.suppressed} more${s.key === OVERFLOW_KEY ? ' of other kinds' : ' like it'} ` +
        `in the last ${secs} s)`,
    );
  }
}
