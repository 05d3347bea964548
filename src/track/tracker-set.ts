/**
 * Owns every tracker of a daemon: starts what at least one instance tracks, feeds results
 * through the rise/fall counters, and tells the listener whenever an instance's aggregate
 * (priority delta, failing fault triggers, pending init) changes, with the reason.
 * Interface up/down comes in from the integrator (src/net/link-watch.ts) via setInterface().
 */
import { realTrackClock, type TrackClock, type TimerId } from './clock.js';
import { aggregate, contributions, sameAggregate, type InstanceAggregate, type TrackerValue } from './aggregate.js';
import { FileTracker } from './file-tracker.js';
import { httpProbe, tcpProbe, type NetProbe } from './net-checks.js';
import { PeriodicCheck, type ProbeResult } from './periodic.js';
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
import { feedResult, initialRiseFall, type CheckStatus, type RiseFallState } from './rise-fall.js';
import type { ScriptRunner } from '../util/run-script.js';
import { scriptProbe, type ScriptResult } from './script-check.js';
import type {
  CheckSpec,
  HttpCheckSpec,
  InstanceTrackingSpec,
  ScriptIdentity,
  TcpCheckSpec,
  TrackFileSpec,
  TrackKind,
  TrackProcessSpec,
  TrackRef,
  TrackingConfig,
} from './types.js';
import { resolveUser } from './users.js';
import { hasQuorum, normaliseTracks } from './weights.js';

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
  clock?: TrackClock;
  log?: TrackLog;
  /** Test hooks: how scripts run, how native checks probe, where processes come from. */
  runner?: ScriptRunner;
  netProbe?: (spec: HttpCheckSpec | TcpCheckSpec, clock: TrackClock) => NetProbe;
  scan?: (withArgv: boolean) => Promise<ProcEntry[]>;
  /** track_file contents (undefined = missing); default: the file system, watched. */
  readTrackFile?: (path: string) => Promise<string | undefined>;
  /** Process exits by pidfd; default the addon's unless `scan` is faked (null = scan only). */
  pidWatch?: PidWatchFn | null;
}

interface Last {
  result: string;
  durationMs?: number;
  at: number;
}

type Tracker =
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
      pending?: { up: boolean; timer: TimerId };
    };

interface InstanceRt {
  spec: InstanceTrackingSpec;
  tracks: TrackRef[];
  agg: InstanceAggregate;
}

const silent: TrackLog = { info: () => undefined, warn: () => undefined, debug: () => undefined };

const key = (kind: TrackKind, name: string): string => `${kind}:${name}`;

export class TrackerSet {
  /** Configuration problems found while building (unknown names, ignored weights, bad users). */
  readonly warnings: string[] = [];
  private readonly trackers = new Map<string, Tracker>();
  private readonly instances = new Map<string, InstanceRt>();
  private readonly clock: TrackClock;
  private readonly log: TrackLog;
  private procTimer: TimerId | undefined;
  private readonly exits: ProcessExitWatch;
  private started = false;
  private stopped = false;

  constructor(
    private readonly cfg: TrackingConfig,
    private readonly o: TrackerSetOptions,
  ) {
    this.clock = o.clock ?? realTrackClock;
    const pidWatch =
      o.pidWatch === null || cfg.processes.length === 0
        ? undefined
        : (o.pidWatch ?? (o.scan ? undefined : nativePidWatch()));
    this.exits = new ProcessExitWatch((procs) => this.applyProcesses(procs, false), pidWatch);
    this.log = o.log ?? silent;
    const checks = new Map(cfg.checks.map((c) => [c.name, c]));
    const files = new Map(cfg.files.map((f) => [f.name, f]));
    const procs = new Map(cfg.processes.map((p) => [p.name, p]));
    for (const spec of cfg.instances) {
      const n = normaliseTracks(spec);
      this.warnings.push(...n.warnings);
      const tracks: TrackRef[] = [];
      for (const t of n.tracks) {
        const k = key(t.kind, t.name);
        if (!this.trackers.has(k)) {
          const tr = this.makeTracker(t, checks, files, procs);
          if (!tr) {
            this.warnings.push(`(${spec.name}) tracks ${t.kind} ${t.name}, which is not defined - ignored`);
            continue;
          }
          this.trackers.set(k, tr);
        }
        tracks.push(t);
      }
      this.instances.set(spec.name, { spec, tracks, agg: { priorityDelta: 0, faults: [], pendingInit: false } });
    }
    for (const rt of this.instances.values()) rt.agg = this.compute(rt);
  }

  private makeTracker(
    t: TrackRef,
    checks: Map<string, CheckSpec>,
    files: Map<string, TrackFileSpec>,
    procs: Map<string, TrackProcessSpec>,
  ): Tracker | undefined {
    switch (t.kind) {
      case 'script': {
        const spec = checks.get(t.name);
        return spec && { kind: 'script', name: t.name, spec, rf: initialRiseFall(spec.rise, spec.initFail) };
      }
      case 'interface':
        return { kind: 'interface', name: t.name, status: 'init' };
      case 'file': {
        const spec = files.get(t.name);
        return spec && { kind: 'file', name: t.name, spec, value: 0 };
      }
      case 'process': {
        const spec = procs.get(t.name);
        return spec && { kind: 'process', name: t.name, spec, status: 'init', count: 0 };
      }
    }
  }

  /** Interfaces whose link state the integrator must feed with setInterface(). */
  interfaces(): string[] {
    return [...this.trackers.values()].filter((t) => t.kind === 'interface').map((t) => t.name);
  }

  /** The current aggregate of an instance (use it to seed the state machine at start). */
  aggregate(instance: string): InstanceAggregate {
    const rt = this.instances.get(instance);
    return rt ? { ...rt.agg, faults: [...rt.agg.faults] } : { priorityDelta: 0, faults: [], pendingInit: false };
  }

  /**
   * Keeps the results of trackers that a reload left unchanged (same kind, name and settings),
   * so a SIGHUP does not send every instance back through INIT. Call before start().
   */
  inheritFrom(prev: TrackerSet): void {
    for (const [k, t] of this.trackers) {
      const p = prev.trackers.get(k);
      if (!p || p.kind !== t.kind) continue;
      if ('spec' in t && 'spec' in p && JSON.stringify(t.spec) !== JSON.stringify(p.spec)) continue;
      if (t.kind === 'script' && p.kind === 'script') {
        t.rf = p.rf;
        t.last = p.last;
        t.lastExit = p.lastExit;
      }
      if (t.kind === 'interface' && p.kind === 'interface') {
        t.status = p.status;
        t.last = p.last;
      }
      if (t.kind === 'file' && p.kind === 'file') {
        t.value = p.value;
        t.last = p.last;
      }
      if (t.kind === 'process' && p.kind === 'process') {
        t.status = p.status;
        t.count = p.count;
        t.last = p.last;
      }
    }
    for (const rt of this.instances.values()) rt.agg = this.compute(rt);
  }

  /** Reads files and processes once, then starts every check (their first run is immediate). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const waits: Promise<void>[] = [];
    for (const t of this.trackers.values()) {
      if (t.kind === 'file') waits.push(this.startFile(t));
    }
    if ([...this.trackers.values()].some((t) => t.kind === 'process')) waits.push(this.scanProcesses(true));
    await Promise.all(waits);
    if (this.stopped) return;
    for (const t of this.trackers.values()) if (t.kind === 'script') this.startCheck(t);
    this.armProcessScan();
  }

  /** Stops everything; runs in flight are killed and their results dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.procTimer !== undefined) this.clock.clearTimeout(this.procTimer);
    this.exits.close();
    const waits: Promise<void>[] = [];
    for (const t of this.trackers.values()) {
      if (t.kind === 'script') {
        if (t.check) waits.push(t.check.stop());
        t.net?.close();
      }
      if (t.kind === 'file') t.ft?.stop();
      if (t.kind === 'process' && t.pending) this.clock.clearTimeout(t.pending.timer);
    }
    await Promise.all(waits);
  }

  /** Link state from the link watcher. */
  setInterface(name: string, up: boolean): void {
    const t = this.trackers.get(key('interface', name));
    if (!t || t.kind !== 'interface') return;
    const status: CheckStatus = up ? 'up' : 'down';
    t.last = { result: up ? 'link up' : 'link down', at: this.clock.wallMs() };
    if (t.status === status) return;
    t.status = status;
    this.log.info({ event: 'track.interface', tracker: name, status }, `Netlink reports ${name} ${up ? 'up' : 'down'}`);
    this.changed(t, `${name} ${up ? 'up' : 'down'}`);
  }

  /** Every tracking line of an instance with its current share, for status/API. */
  status(instance: string): TrackerRow[] {
    const rt = this.instances.get(instance);
    if (!rt) return [];
    return contributions(rt.tracks, (r) => this.value(r)).map((c) => {
      const t = this.trackers.get(key(c.ref.kind, c.ref.name));
      const row: TrackerRow = {
        name: c.ref.name,
        type: t?.kind === 'script' ? t.spec.kind : c.ref.kind,
        status: statusOf(t, c.fault),
        weight: c.ref.weight,
        reverse: c.ref.reverse,
        delta: c.delta,
        fault: c.fault,
      };
      if (t?.last) {
        row.lastResult = t.last.result;
        if (t.last.durationMs !== undefined) row.lastDurationMs = Math.round(t.last.durationMs);
        row.lastRun = new Date(t.last.at).toISOString();
      }
      if (t?.kind === 'file') row.value = t.value;
      if (t?.kind === 'process') row.value = t.count;
      return row;
    });
  }

  // ---- checks ----

  private startCheck(t: Extract<Tracker, { kind: 'script' }>): void {
    const spec = t.spec;
    let probe;
    if (spec.kind === 'script') {
      const id = this.scriptIdentity(spec.name, spec.user, spec.group);
      if (typeof id === 'string') {
        const detail = `cannot run: ${id}`;
        probe = (): Promise<ScriptResult> => Promise.resolve({ ok: false, detail, durationMs: 0, notRun: true });
      } else {
        probe = scriptProbe({
          argv: spec.argv,
          intervalMs: spec.intervalMs,
          clock: this.clock,
          ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
          ...(id ? { uid: id.uid, gid: id.gid } : {}),
          ...(this.cfg.scriptSecurity ? { scriptSecurity: true } : {}),
          ...(this.o.runner ? { runner: this.o.runner } : {}),
        });
      }
    } else {
      t.net = (this.o.netProbe ?? defaultNetProbe)(spec, this.clock);
      probe = t.net.probe;
    }
    t.check = new PeriodicCheck({
      intervalMs: spec.intervalMs,
      clock: this.clock,
      probe,
      onResult: (r) => this.onCheckResult(t, r),
      onSkip: () =>
        this.log.info(
          { event: 'track.skip', tracker: t.name },
          `Track script ${t.name} is already running, expect idle - skipping run`,
        ),
    });
    t.check.start();
  }

  private scriptIdentity(
    name: string,
    user: string | undefined,
    group: string | undefined,
  ): ScriptIdentity | undefined | string {
    if (user === undefined) return this.cfg.scriptUser;
    const r = resolveUser(user, group);
    if (r.ok) return r.id;
    const msg = `vrrp_script ${name}: ${r.error}`;
    if (!this.warnings.includes(msg)) this.warnings.push(msg);
    return r.error;
  }

  private onCheckResult(t: Extract<Tracker, { kind: 'script' }>, r: ScriptResult): void {
    t.last = { result: r.detail, durationMs: r.durationMs, at: this.clock.wallMs() };
    if (r.exitCode !== undefined && r.exitCode !== t.lastExit) {
      if (t.lastExit !== undefined || r.exitCode !== 0)
        this.log.info(
          { event: 'track.exit', tracker: t.name, code: r.exitCode },
          `Script \`${t.name}\` now returning ${r.exitCode}`,
        );
      t.lastExit = r.exitCode;
    }
    const before = t.rf;
    t.rf = feedResult(t.rf, r.ok, t.spec.rise, t.spec.fall);
    if (before.status === t.rf.status) return;
    const what = t.rf.status === 'up' ? 'succeeded' : r.timedOut ? 'timed_out' : `failed (${r.detail})`;
    this.log.info(
      { event: 'track.change', tracker: t.name, status: t.rf.status, result: r.detail },
      `VRRP_Script(${t.name}) ${what}`,
    );
    this.changed(
      t,
      `${t.name} ${t.rf.status === 'up' ? `succeeded (${r.detail})` : r.timedOut ? `timed out (${r.detail})` : `failed (${r.detail})`}`,
    );
  }

  // ---- files ----

  private async startFile(t: Extract<Tracker, { kind: 'file' }>): Promise<void> {
    const ft = new FileTracker({
      path: t.spec.path,
      clock: this.clock,
      ...(t.spec.pollMs !== undefined ? { pollMs: t.spec.pollMs } : {}),
      ...(t.spec.initFile ? { initFile: t.spec.initFile } : {}),
      ...(this.o.readTrackFile ? { read: this.o.readTrackFile } : {}),
      onValue: (v) => this.onFileValue(t, v),
      onWarn: (msg) => this.log.warn({ event: 'track.file', tracker: t.name }, msg),
    });
    t.ft = ft;
    await ft.start();
    if (this.stopped) {
      ft.stop();
      return;
    }
    if (ft.value !== t.value) this.onFileValue(t, ft.value);
    else t.last = { result: `value ${t.value}`, at: this.clock.wallMs() };
  }

  private onFileValue(t: Extract<Tracker, { kind: 'file' }>, v: number): void {
    t.value = v;
    t.last = { result: `value ${v}`, at: this.clock.wallMs() };
    this.log.info(
      { event: 'track.file', tracker: t.name, value: v },
      `Tracked file ${t.name} (${t.spec.path}) now ${v}`,
    );
    this.changed(t, `track_file ${t.name} is ${v}`);
  }

  // ---- processes ----

  private armProcessScan(): void {
    if (this.stopped || ![...this.trackers.values()].some((t) => t.kind === 'process')) return;
    this.procTimer = this.clock.setTimeout(
      () => {
        void this.scanProcesses(false).finally(() => this.armProcessScan());
      },
      Math.max(50, this.cfg.processPollMs ?? 1000),
    );
  }

  private async scanProcesses(initial: boolean): Promise<void> {
    const ts = [...this.trackers.values()].filter(
      (t): t is Extract<Tracker, { kind: 'process' }> => t.kind === 'process',
    );
    const withArgv = ts.some((t) => wantsFullCommand(t.spec));
    const procs = await (this.o.scan ?? ((a: boolean) => scanProcesses('/proc', a)))(withArgv);
    if (this.stopped) return;
    this.exits.update(procs, (p) => ts.some((t) => matchesProcess(t.spec, p)));
    this.applyProcesses(procs, initial);
  }

  /** Recounts every process tracker from a scan (or from the last one minus an exited process). */
  private applyProcesses(procs: ProcEntry[], initial: boolean): void {
    if (this.stopped) return;
    const ts = [...this.trackers.values()].filter(
      (t): t is Extract<Tracker, { kind: 'process' }> => t.kind === 'process',
    );
    for (const t of ts) {
      t.count = countMatches(t.spec, procs);
      const up = hasQuorum(t.count, t.spec.quorum, t.spec.quorumMax);
      t.last = { result: `${t.count} running`, at: this.clock.wallMs() };
      const want: CheckStatus = up ? 'up' : 'down';
      if (want === t.status) {
        if (t.pending) {
          this.clock.clearTimeout(t.pending.timer);
          t.pending = undefined;
        }
        continue;
      }
      const delay = initial ? 0 : ((up ? t.spec.forkDelayMs : t.spec.terminateDelayMs) ?? 0);
      if (delay <= 0) {
        this.setProcess(t, up);
        continue;
      }
      if (t.pending?.up === up) continue;
      if (t.pending) this.clock.clearTimeout(t.pending.timer);
      t.pending = {
        up,
        timer: this.clock.setTimeout(() => {
          t.pending = undefined;
          this.setProcess(t, up);
        }, delay),
      };
    }
  }

  private setProcess(t: Extract<Tracker, { kind: 'process' }>, up: boolean): void {
    t.status = up ? 'up' : 'down';
    const q = `quorum ${t.spec.quorum ?? 1}${t.spec.quorumMax !== undefined ? `..${t.spec.quorumMax}` : ''}`;
    this.log.info(
      { event: 'track.process', tracker: t.name, count: t.count },
      `Quorum ${up ? 'gained' : 'lost'} for tracked process ${t.name}`,
    );
    this.changed(t, `process ${t.name} quorum ${up ? 'gained' : 'lost'} (${t.count} running, ${q})`);
  }

  // ---- aggregation ----

  private value(r: TrackRef): TrackerValue | undefined {
    const t = this.trackers.get(key(r.kind, r.name));
    if (!t) return undefined;
    switch (t.kind) {
      case 'script':
        return { kind: 'script', status: t.rf.status };
      case 'interface':
        return { kind: 'interface', status: t.status };
      case 'file':
        return { kind: 'file', value: t.value };
      case 'process':
        return { kind: 'process', status: t.status };
    }
  }

  private compute(rt: InstanceRt): InstanceAggregate {
    return aggregate(rt.tracks, (r) => this.value(r));
  }

  private changed(t: Tracker, reason: string): void {
    if (this.stopped) return;
    for (const [name, rt] of this.instances) {
      if (!rt.tracks.some((r) => r.kind === t.kind && r.name === t.name)) continue;
      const agg = this.compute(rt);
      if (sameAggregate(agg, rt.agg)) continue;
      rt.agg = agg;
      this.o.onChange(name, { ...agg, faults: [...agg.faults], reason });
    }
  }
}

function defaultNetProbe(spec: HttpCheckSpec | TcpCheckSpec, clock: TrackClock): NetProbe {
  return spec.kind === 'http' ? httpProbe(spec, clock) : tcpProbe(spec, clock);
}

function statusOf(t: Tracker | undefined, fault: boolean): CheckStatus {
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

export type { ProbeResult };
