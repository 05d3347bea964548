/**
 * Runs a probe on a fixed interval: the first run at start, then every interval (the next run is
 * armed before the probe starts, as keepalived does). At most one run is in flight: a tick that
 * finds the previous run still going is skipped and counted (keepalived 2.2.8 logs "skipping run"
 * and starts a second copy anyway; 2.3.3 fixed that).
 */
import { afterUs, type Clock, type TimerHandle } from '../util/clock.js';

export interface ProbeResult {
  ok: boolean;
  /** Short human text: "exited with status 1", "HTTP 503", "connect ECONNREFUSED". */
  detail: string;
  durationMs: number;
}

/** A probe honours its own timeout and never rejects; `signal` aborts it early at stop. */
export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

export interface PeriodicOptions {
  intervalUs: number;
  clock: Clock;
  probe: Probe;
  onResult(r: ProbeResult): void;
  /** Called when a tick is skipped because the previous run is still going. */
  onSkip?(): void;
}

export class PeriodicCheck {
  private timer: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private stopped = true;
  skipped = 0;
  runs = 0;

  constructor(private readonly o: PeriodicOptions) {}

  get running(): boolean {
    return this.inFlight !== undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  /** Stops the schedule and aborts a run in flight; resolves once it has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.cancel(this.timer);
    this.timer = undefined;
    this.abort?.abort();
    await this.inFlight;
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer = afterUs(this.o.clock, this.o.intervalUs, () => this.tick(), { weak: true });
    if (this.inFlight) {
      this.skipped++;
      this.o.onSkip?.();
      return;
    }
    this.runs++;
    const ac = new AbortController();
    this.abort = ac;
    this.inFlight = this.o.probe(ac.signal).then(
      (r) => {
        this.finish();
        if (!this.stopped) this.o.onResult(r);
      },
      (e: unknown) => {
        this.finish();
        if (!this.stopped) this.o.onResult({ ok: false, detail: `probe error: ${String(e)}`, durationMs: 0 });
      },
    );
  }

  private finish(): void {
    this.inFlight = undefined;
    this.abort = undefined;
  }
}
