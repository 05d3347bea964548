/**
 * The TrackerSet's vocabulary: what a tracker is (script/HTTP/TCP check, interface, file,
 * process), the status row the API shows, the change it reports, and its options.
 */
import type { InstanceAggregate } from './aggregate.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { FileTracker } from './file-tracker.js';
import { httpProbe, tcpProbe, type NetProbe } from './net-checks.js';
import type { PeriodicCheck } from './periodic.js';
import type { PidWatchFn, ProcEntry } from './process-tracker.js';
import type { CheckStatus, RiseFallState } from './rise-fall.js';
import type { ScriptRunner } from '../util/run-script.js';
import type { CheckSpec, HttpCheckSpec, TcpCheckSpec, TrackFileSpec, TrackProcessSpec } from './types.js';

export interface TrackingChange extends InstanceAggregate {
  /** What changed, e.g. "chk_nginx failed (exited with status 1)", "eth1 down". */
  reason: string;
}

/** One tracking line of an instance as the status API shows it. */
export interface TrackerRow {
  name: string;
  type: 'script' | 'http' | 'tcp' | 'interface' | 'file' | 'process';
  status: CheckStatus;
  weight: number;
  reverse: boolean;
  /** This line's share of the priority delta, and whether it currently faults the instance. */
  delta: number;
  fault: boolean;
  lastResult?: string;
  lastDurationMs?: number;
  lastRun?: string;
  /** track_file's value / track_process's count. */
  value?: number;
}

/** Only what the trackers log; a pino Logger fits. */
export interface TrackLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface TrackerSetOptions {
  onChange(instance: string, change: TrackingChange): void;
  clock?: Clock;
  log?: TrackLog;
  /** Test hooks: how scripts run, how native checks probe, where processes come from. */
  runner?: ScriptRunner;
  netProbe?: (spec: HttpCheckSpec | TcpCheckSpec, clock: Clock) => NetProbe;
  scan?: (withArgv: boolean) => Promise<ProcEntry[]>;
  /** track_file contents (undefined = missing); default: the file system, watched. */
  readTrackFile?: (path: string) => Promise<string | undefined>;
  /** Process exits by pidfd; default the addon's unless `scan` is faked (null = scan only). */
  pidWatch?: PidWatchFn | null;
}

export interface Last {
  result: string;
  durationMs?: number;
  at: number;
}

export type Tracker =
  | {
      kind: 'script';
      name: string;
      spec: CheckSpec;
      rf: RiseFallState;
      last?: Last;
      lastExit?: number;
      check?: PeriodicCheck;
      net?: NetProbe;
    }
  | { kind: 'interface'; name: string; status: CheckStatus; last?: Last }
  | { kind: 'file'; name: string; spec: TrackFileSpec; value: number; last?: Last; ft?: FileTracker }
  | {
      kind: 'process';
      name: string;
      spec: TrackProcessSpec;
      status: CheckStatus;
      count: number;
      last?: Last;
      pending?: { up: boolean; timer: TimerHandle };
    };

export type ProcessTracker = Extract<Tracker, { kind: 'process' }>;

export function defaultNetProbe(spec: HttpCheckSpec | TcpCheckSpec, clock: Clock): NetProbe {
  return spec.kind === 'http' ? httpProbe(spec, clock) : tcpProbe(spec, clock);
}

export function statusOf(t: Tracker | undefined, fault: boolean): CheckStatus {
  if (!t) return 'init';
  switch (t.kind) {
    case 'script':
      return t.rf.status;
    case 'file':
      return fault ? 'down' : 'up';
    default:
      return t.status;
  }
}
