/**
 * Faults the runtime itself finds (a VRRP socket that will not open, a missing interface),
 * each with a reason and, where it can clear, a retry with exponential backoff (1 s … 30 s).
 * They join the trackers' faults in the FSM's 'tracking' event: FAULT with a reason.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

const FIRST_RETRY_US = 1_000_000;
const MAX_RETRY_US = 30_000_000;

interface Fault {
  text: string;
  retry?: () => void;
  timer?: TimerHandle;
  backoffUs: number;
}

export class RuntimeFaults {
  private readonly faults = new Map<string, Map<string, Fault>>();

  constructor(
    private readonly clock: Clock,
    private readonly changed: (instance: string, reason: string) => void,
  ) {}

  /** The fault names for the FSM, e.g. "socket: cannot open …". */
  of(instance: string): string[] {
    return [...(this.faults.get(instance)?.values() ?? [])].map((f) => f.text);
  }

  /** Sets (or re-arms) a fault; `retry` runs after the backoff and should clear() on success. */
  set(instance: string, kind: string, text: string, retry?: () => void): void {
    let m = this.faults.get(instance);
    if (!m) this.faults.set(instance, (m = new Map()));
    const prev = m.get(kind);
    const backoffUs = prev ? Math.min(MAX_RETRY_US, prev.backoffUs * 2) : FIRST_RETRY_US;
    if (prev?.timer) this.clock.cancel(prev.timer);
    const f: Fault = { text, backoffUs, ...(retry ? { retry } : {}) };
    if (retry)
      f.timer = this.clock.at(
        this.clock.nowUs() + backoffUs,
        () => {
          f.timer = undefined;
          retry();
        },
        { weak: true },
      );
    m.set(kind, f);
    if (!prev) this.changed(instance, text);
  }

  clear(instance: string, kind: string): void {
    const m = this.faults.get(instance);
    const f = m?.get(kind);
    if (!m || !f) return;
    if (f.timer) this.clock.cancel(f.timer);
    m.delete(kind);
    this.changed(instance, `${kind} recovered`);
  }

  /** Retry every fault of an instance now (its interface came up). */
  retryNow(instance: string): void {
    for (const f of this.faults.get(instance)?.values() ?? []) {
      if (!f.retry) continue;
      if (f.timer) this.clock.cancel(f.timer);
      f.timer = undefined;
      f.retry();
    }
  }

  stopAll(): void {
    for (const m of this.faults.values()) for (const f of m.values()) if (f.timer) this.clock.cancel(f.timer);
    this.faults.clear();
  }
}
