/**
 * Owns every tracker of a daemon: starts what at least one instance tracks, feeds results
 * through the rise/fall counters, and tells the listener whenever an instance's aggregate
 * (priority delta, failing fault triggers, pending init) changes, with the reason.
 * Interface up/down comes in from the integrator (src/net/link-watch.ts) via setInterface().
 */
import { realClock, type Clock } from '../util/clock.js';
import { aggregate, contributions, sameAggregate, type InstanceAggregate, type TrackerValue } from './aggregate.js';
import { FileTracker } from './file-tracker.js';
import { PeriodicCheck, type ProbeResult } from './periodic.js';
import { ProcessTrackers } from './process-trackers.js';
import { feedResult, initialRiseFall, type CheckStatus } from './rise-fall.js';
import { scriptProbe, type ScriptResult } from './script-check.js';
import {
  defaultNetProbe,
  statusOf,
  type ProcessTracker,
  type Tracker,
  type TrackerRow,
  type TrackerSetOptions,
  type TrackLog,
} from './tracker-kinds.js';
import type {
  CheckSpec,
  InstanceTrackingSpec,
  ScriptIdentity,
  TrackFileSpec,
  TrackKind,
  TrackProcessSpec,
  TrackRef,
  TrackingConfig,
} from './types.js';
import { resolveUser } from './users.js';
import { normaliseTracks } from './weights.js';

export type { TrackerRow, TrackerSetOptions, TrackingChange, TrackLog } from './tracker-kinds.js';

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
  private readonly clock: Clock;
  private readonly log: TrackLog;
  private readonly procs: ProcessTrackers;
  private started = false;
  private stopped = false;

  constructor(
    private readonly cfg: TrackingConfig,
    private readonly o: TrackerSetOptions,
  ) {
    this.clock = o.clock ?? realClock;
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
    this.procs = new ProcessTrackers(
      [...this.trackers.values()].filter((t): t is ProcessTracker => t.kind === 'process'),
      {
        clock: this.clock,
        log: this.log,
        ...(cfg.processPollUs !== undefined ? { pollUs: cfg.processPollUs } : {}),
        ...(o.scan ? { scan: o.scan } : {}),
        ...(o.pidWatch !== undefined ? { pidWatch: o.pidWatch } : {}),
        changed: (t, reason) => this.changed(t, reason),
      },
    );
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
    waits.push(this.procs.start());
    await Promise.all(waits);
    if (this.stopped) return;
    for (const t of this.trackers.values()) if (t.kind === 'script') this.startCheck(t);
    this.procs.arm();
  }

  /** Stops everything; runs in flight are killed and their results dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.procs.stop();
    const waits: Promise<void>[] = [];
    for (const t of this.trackers.values()) {
      if (t.kind === 'script') {
        if (t.check) waits.push(t.check.stop());
        t.net?.close();
      }
      if (t.kind === 'file') t.ft?.stop();
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
          intervalUs: spec.intervalUs,
          clock: this.clock,
          ...(spec.timeoutUs !== undefined ? { timeoutUs: spec.timeoutUs } : {}),
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
      intervalUs: spec.intervalUs,
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
    const outcome = t.rf.status === 'up' ? 'succeeded' : r.timedOut ? 'timed out' : 'failed';
    this.changed(t, `${t.name} ${outcome} (${r.detail})`);
  }

  // ---- files ----

  private async startFile(t: Extract<Tracker, { kind: 'file' }>): Promise<void> {
    const ft = new FileTracker({
      path: t.spec.path,
      clock: this.clock,
      ...(t.spec.pollUs !== undefined ? { pollUs: t.spec.pollUs } : {}),
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

export type { ProbeResult };
