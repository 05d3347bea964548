/**
 * The track_process trackers of a TrackerSet: a /proc scan every process poll interval (pids
 * watched by pidfd in between, so a death is seen at once), each tracker's count against its
 * quorum, and keepalived's fork/terminate delays before a change counts.
 */
import { afterUs, US_PER_MS, US_PER_S, type Clock, type TimerHandle } from '../util/clock.js';
import {
  countMatches,
  matchesProcess,
  nativePidWatch,
  ProcessExitWatch,
  scanProcesses,
  wantsFullCommand,
  type PidWatchFn,
  type ProcEntry,
} from './process-tracker.js';
import type { CheckStatus } from './rise-fall.js';
import type { ProcessTracker, TrackLog } from './tracker-kinds.js';
import { hasQuorum } from './weights.js';

export interface ProcessTrackersOptions {
  clock: Clock;
  log: TrackLog;
  /** Scan interval, µs (vrrp_track_process poll; default 1 s, at least 50 ms). */
  pollUs?: number;
  scan?: (withArgv: boolean) => Promise<ProcEntry[]>;
  /** Process exits by pidfd; default the addon's unless `scan` is faked (null = scan only). */
  pidWatch?: PidWatchFn | null;
  /** A tracker's status changed (quorum gained or lost). */
  changed(t: ProcessTracker, reason: string): void;
}

export class ProcessTrackers {
  private timer: TimerHandle | undefined;
  private readonly exits: ProcessExitWatch;
  private stopped = false;

  constructor(
    private readonly ts: readonly ProcessTracker[],
    private readonly o: ProcessTrackersOptions,
  ) {
    const pidWatch =
      o.pidWatch === null || ts.length === 0 ? undefined : (o.pidWatch ?? (o.scan ? undefined : nativePidWatch()));
    this.exits = new ProcessExitWatch((procs) => this.apply(procs, false), pidWatch);
  }

  /** The first scan (delays do not apply to it). */
  async start(): Promise<void> {
    if (this.ts.length > 0) await this.scan(true);
  }

  /** Periodic scans from now on. */
  arm(): void {
    if (this.stopped || this.ts.length === 0) return;
    this.timer = afterUs(
      this.o.clock,
      Math.max(50 * US_PER_MS, this.o.pollUs ?? US_PER_S),
      () => {
        void this.scan(false).finally(() => this.arm());
      },
      { weak: true },
    );
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.cancel(this.timer);
    this.exits.close();
    for (const t of this.ts) if (t.pending) this.o.clock.cancel(t.pending.timer);
  }

  private async scan(initial: boolean): Promise<void> {
    const withArgv = this.ts.some((t) => wantsFullCommand(t.spec));
    const procs = await (this.o.scan ?? ((a: boolean) => scanProcesses('/proc', a)))(withArgv);
    if (this.stopped) return;
    this.exits.update(procs, (p) => this.ts.some((t) => matchesProcess(t.spec, p)));
    this.apply(procs, initial);
  }

  /** Recounts every process tracker from a scan (or from the last one minus an exited process). */
  private apply(procs: ProcEntry[], initial: boolean): void {
    if (this.stopped) return;
    const clock = this.o.clock;
    for (const t of this.ts) {
      t.count = countMatches(t.spec, procs);
      const up = hasQuorum(t.count, t.spec.quorum, t.spec.quorumMax);
      t.last = { result: `${t.count} running`, at: clock.wallMs() };
      const want: CheckStatus = up ? 'up' : 'down';
      if (want === t.status) {
        if (t.pending) {
          clock.cancel(t.pending.timer);
          t.pending = undefined;
        }
        continue;
      }
      const delay = initial ? 0 : ((up ? t.spec.forkDelayUs : t.spec.terminateDelayUs) ?? 0);
      if (delay <= 0) {
        this.set(t, up);
        continue;
      }
      if (t.pending?.up === up) continue;
      if (t.pending) clock.cancel(t.pending.timer);
      t.pending = {
        up,
        timer: afterUs(
          clock,
          delay,
          () => {
            t.pending = undefined;
            this.set(t, up);
          },
          { weak: true },
        ),
      };
    }
  }

  private set(t: ProcessTracker, up: boolean): void {
    t.status = up ? 'up' : 'down';
    const q = `quorum ${t.spec.quorum ?? 1}${t.spec.quorumMax !== undefined ? `..${t.spec.quorumMax}` : ''}`;
    this.o.log.info(
      { event: 'track.process', tracker: t.name, count: t.count },
      `Quorum ${up ? 'gained' : 'lost'} for tracked process ${t.name}`,
    );
    this.o.changed(t, `process ${t.name} quorum ${up ? 'gained' : 'lost'} (${t.count} running, ${q})`);
  }
}
