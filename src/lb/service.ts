/**
 * The load balancer as a daemon component (shell): checkers (checker-pool.ts) feed the pure
 * membership step (membership.ts); the rotations go to the backend, one apply at a time
 * (a change during an apply triggers one more). Notify scripts run detached from that path.
 * It runs the same on MASTER and BACKUP: the rules match the virtual addresses, which only
 * the MASTER holds, so a takeover serves at once (docs/lb.md) — unless a service has
 * `ha_suspend`: then its checks pause while none of its addresses is local (suspend.ts).
 * Operator verbs: add/remove real servers at runtime (an overlay on the file, runtime-members.ts,
 * dropped by a reload) and drain to completion (drain.ts: out when idle, by conntrack, or at a
 * timeout).
 */
import type { VirtualServerConfig } from '../config/lvs-model.js';
import { afterUs, US_PER_MS, US_PER_S, type Clock, type TimerHandle } from '../util/clock.js';
import type { ScriptRunner } from '../util/run-script.js';
import { runEvents } from './events.js';
import type { Logger } from '../util/log.js';
import type { LbBackend } from './backend.js';
import { HealingBackend, nftHealing } from './healing-backend.js';
import { CheckerPool, checkKey, type Checkers } from './checker-pool.js';
import { WorkerCheckerPool } from './worker-pool.js';
import {
  rotation,
  rsKey,
  rsState,
  stepVs,
  stopEvents,
  type LbEvent,
  type RotationEntry,
  type VsState,
} from './membership.js';
import type { LbProbe, Target } from './probes.js';
import type { LvsCheckConfig } from '../config/lvs-model.js';
import { lbStatus, type LbStatus } from './status.js';
import { ConntrackReader } from './conntrack.js';
import {
  anyDraining,
  DEFAULT_DRAIN_TIMEOUT_S,
  DRAIN_POLL_US,
  drainedPairs,
  drainStep,
  startDrain,
  type Drain,
} from './drain.js';
import {
  addRealServer,
  effectiveVss,
  emptyOverlay,
  findVs,
  isRuntimeAdded,
  overlayEmpty,
  removeRealServer,
  type AddRequest,
  type Overlay,
} from './runtime-members.js';
import { HaSuspend } from './suspend-watch.js';
import { withCode, type ErrorCode, type Refusal } from '../errors.js';

/** What the operator verbs answer (the API maps code to an HTTP status). */
export interface LbVerbResult {
  ok: boolean;
  message: string;
  code?: ErrorCode;
}

export interface LbServiceOptions {
  log: Logger;
  clock: Clock;
  backend?: LbBackend;
  /** How long after an apply the kernel's tables are checked again and repaired (default 30 s). */
  reconcileUs?: number;
  /** Watch the ruleset with `nft monitor` and heal outside changes at once (`floatd run` does). */
  nftMonitor?: boolean;
  /** Run the checks in a worker thread (worker-pool.ts; `floatd run` does); default: on this thread. */
  checkerThread?: boolean;
  runner?: ScriptRunner;
  random?: () => number;
  makeProbe?: (ch: LvsCheckConfig, t: Target, clock: Clock) => LbProbe;
  /** /proc/net/nf_conntrack's text (undefined: unreadable); drains count open connections with it. */
  conntrack?: () => Promise<string | undefined>;
  /** This host's addresses (ha_suspend); default os.networkInterfaces(). */
  localAddresses?: () => ReadonlySet<string>;
}

export class LbService {
  /** What runs: the file's servers with the runtime changes, minus those drained out. */
  private vss: VirtualServerConfig[] = [];
  /** The file's virtual servers as last configured. */
  private file: VirtualServerConfig[] = [];
  /** The file's with the runtime changes (drained servers included): what status lists. */
  private listed: VirtualServerConfig[] = [];
  private overlay: Overlay = emptyOverlay();
  private drains = new Map<string, Drain>();
  private drainTimer: TimerHandle | undefined;
  private readonly conntrack: ConntrackReader;
  private readonly haSuspend: HaSuspend;
  private readonly states = new Map<string, VsState>();
  private readonly pool: Checkers;
  private readonly backend: LbBackend;
  private applying: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private lastApply: LbStatus['lastApply'];
  private readonly rotations = new Map<string, RotationEntry[]>();

  constructor(private readonly o: LbServiceOptions) {
    this.backend =
      o.backend ??
      nftHealing({ clock: o.clock, log: o.log, intervalUs: o.reconcileUs, monitor: o.nftMonitor ?? false });
    const pool = {
      clock: o.clock,
      onChange: () => this.changed(),
      onWarn: (m: string) => o.log.warn({ event: 'lb.check_warning' }, m),
      ...(o.random ? { random: o.random } : {}),
      ...(o.makeProbe ? { makeProbe: o.makeProbe } : {}),
    };
    this.pool =
      o.checkerThread && !o.makeProbe
        ? new WorkerCheckerPool({
            ...pool,
            onFailure: (m) => o.log.error({ event: 'lb.checker_thread_failed' }, m),
          })
        : new CheckerPool(pool);
    this.haSuspend = new HaSuspend({ ...o, pool: this.pool, vss: () => this.vss });
    this.conntrack = new ConntrackReader(o.log, o.conntrack);
  }

  get active(): boolean {
    return this.vss.length > 0;
  }

  /**
   * Start or reload: checks that stay keep their state; only what differs reaches the kernel.
   * The file is the truth: real servers added or removed through the API are dropped. Drains
   * are the operator's and stay.
   */
  async configure(vss: VirtualServerConfig[]): Promise<void> {
    if (!overlayEmpty(this.overlay))
      this.o.log.warn(
        { event: 'lb.runtime_dropped' },
        'load balancer: real servers added or removed through the API are dropped; the file says what runs',
      );
    this.overlay = emptyOverlay();
    this.file = vss;
    const keys = new Set(vss.map((v) => v.key));
    for (const k of this.states.keys()) if (!keys.has(k)) this.states.delete(k);
    this.refresh(true);
    for (const [rs, d] of this.drains) {
      const fresh = startDrain(this.listed, rs, d.sinceUs, d.timeoutUs);
      for (const [k, x] of d.vs) if (fresh.vs.has(k)) fresh.vs.set(k, x);
      if (fresh.vs.size) this.drains.set(rs, fresh);
      else this.drains.delete(rs);
    }
    this.refresh();
    if (vss.length)
      this.o.log.info(
        { event: 'lb.configure', virtualServers: vss.length, checks: this.pool.size, backend: this.backend.name },
        `load balancer: ${vss.length} virtual server(s), ${this.pool.size} distinct check(s)`,
      );
    this.haSuspend.poll();
    this.scheduleDrainPoll();
    await this.recompute();
  }

  /** Membership from the file, the runtime changes and the drains; the checks follow it. */
  private refresh(listOnly = false): void {
    this.listed = effectiveVss(this.file, this.overlay);
    if (listOnly) return;
    const out = drainedPairs(this.drains);
    this.vss = this.listed.map((v) => {
      const gone = out.get(v.key);
      return gone?.size ? { ...v, realServers: v.realServers.filter((r) => !gone.has(rsKey(r))) } : v;
    });
    const wanted = new Map<string, { ch: LvsCheckConfig; target: Target }>();
    for (const v of this.vss)
      for (const r of v.realServers) for (const ch of r.checks) wanted.set(checkKey(ch, r), { ch, target: r });
    this.pool.sync(wanted);
    this.haSuspend.apply();
  }

  /** A running virtual server by key (or key without /PROTO when that names one). */
  findVs(key: string): VirtualServerConfig | Refusal {
    return findVs(this.listed, key);
  }

  /** Adds a real server to a virtual server now (not kept across a reload or restart). */
  async add(req: AddRequest): Promise<LbVerbResult> {
    const r = addRealServer(this.file, this.overlay, req);
    if (!r.ok) return r;
    this.overlay = r.overlay;
    this.o.log.info(
      { event: 'lb.rs_added', vs: r.vs.key, rs: rsKey(r.rs), weight: r.rs.weight, checks: r.rs.checks.length },
      `${r.vs.key}: real server ${rsKey(r.rs)} added through the API ` +
        `(weight ${r.rs.weight}, ${r.rs.checks.length} check(s))`,
    );
    return this.changedBy(`${rsKey(r.rs)} added to ${r.vs.key}`);
  }

  /** Removes a real server from a virtual server now; its open connections finish through conntrack. */
  async remove(vs: string, rs: string): Promise<LbVerbResult> {
    const r = removeRealServer(this.file, this.overlay, vs, rs);
    if (!r.ok) return r;
    this.overlay = r.overlay;
    const d = this.drains.get(rs);
    if (d?.vs.delete(r.vs.key) && !d.vs.size) this.drains.delete(rs);
    this.o.log.info(
      { event: 'lb.rs_removed', vs: r.vs.key, rs },
      `${r.vs.key}: real server ${rs} removed through the API`,
    );
    return this.changedBy(`${rs} removed from ${r.vs.key}`);
  }

  private async changedBy(what: string): Promise<LbVerbResult> {
    this.refresh();
    await this.recompute();
    const ok = this.lastApply?.ok ?? false;
    return ok
      ? { ok, message: `${what}; a runtime change: lost on reload or restart unless the file has it` }
      : { ok, code: 'LB_APPLY_FAILED', message: `${what}, not applied: ${this.lastApply?.error ?? 'no apply'}` };
  }
  async stop(): Promise<void> {
    this.stopped = true;
    this.pool.stop();
    if (this.drainTimer !== undefined) this.o.clock.cancel(this.drainTimer);
    this.haSuspend.stop();
    for (const v of this.vss) {
      const st = this.states.get(v.key);
      if (st) this.run(v, stopEvents(v, st));
    }
    await this.applying;
    if (this.vss.length)
      await this.backend
        .clear()
        .catch((e: unknown) =>
          this.o.log.error(
            { event: 'lb.clear_failed', code: 'LB_CLEAR_FAILED', err: String(e) },
            withCode('LB_CLEAR_FAILED', `load balancer: ${String(e)}`),
          ),
        );
  }

  /**
   * Drain: the server gets weight 0 in every virtual server (new connections go elsewhere, open
   * ones finish through conntrack); it leaves each service when it holds no open connection
   * there, or after `timeoutS`. Undrain brings it back. Not kept across a restart.
   */
  async drain(rs: string, on: boolean, timeoutS = DEFAULT_DRAIN_TIMEOUT_S): Promise<LbVerbResult> {
    if (!this.listed.some((v) => v.realServers.some((r) => rsKey(r) === rs)))
      return { ok: false, code: 'LB_NO_SUCH_REAL_SERVER', message: `no real server ${rs}` };
    if (on && !this.drains.has(rs))
      this.drains.set(rs, startDrain(this.listed, rs, this.o.clock.nowUs(), Math.round(timeoutS * US_PER_S)));
    else if (!on) this.drains.delete(rs);
    this.o.log.info(
      { event: on ? 'lb.drain' : 'lb.undrain', rs, ...(on ? { timeoutS } : {}) },
      on
        ? `real server ${rs} draining: no new connections, out when idle or after ${timeoutS} s`
        : `real server ${rs} back from drain`,
    );
    this.refresh();
    this.scheduleDrainPoll();
    await this.recompute();
    const ok = this.lastApply?.ok ?? false;
    return {
      ok,
      message: `${rs} ${on ? 'draining' : 'undrained'}${ok ? '' : `: ${this.lastApply?.error ?? 'not applied'}`}`,
      ...(ok ? {} : { code: 'LB_APPLY_FAILED' as const }),
    };
  }

  isDrained(rs: string): boolean {
    return this.drains.has(rs);
  }

  private scheduleDrainPoll(): void {
    if (this.drainTimer !== undefined || this.stopped || !anyDraining(this.drains)) return;
    const poll = (): void => {
      this.drainTimer = undefined;
      void this.pollDrains();
    };
    this.drainTimer = afterUs(this.o.clock, DRAIN_POLL_US, poll, { weak: true });
  }

  /** Counts each draining server's open connections; idle or timed out: out of that service. */
  private async pollDrains(): Promise<void> {
    if (this.stopped) return;
    const open = await this.conntrack.open(this.vss);
    const r = drainStep(this.drains, (vs, rs) => open?.get(`${vs} ${rs}`), this.o.clock.nowUs());
    this.drains = r.drains;
    for (const d of r.done)
      this.o.log.info(
        { event: 'lb.drained', vs: d.vs, rs: d.rs, why: d.why, open: d.open },
        `${d.vs}: real server ${d.rs} drained, out of the service (` +
          (d.why === 'idle' ? 'no open connection)' : `timeout; ${d.open ?? 'unknown'} connection(s) still open)`),
      );
    if (r.done.length) {
      this.refresh();
      await this.recompute();
    }
    this.scheduleDrainPoll();
  }

  status(): LbStatus {
    return lbStatus(
      this.listed,
      this.states,
      this.rotations,
      (ch, r) => this.pool.state(checkKey(ch, r)),
      this.backend.name,
      this.lastApply,
      {
        drain: (vs, rs) => {
          const d = this.drains.get(rs);
          const x = d?.vs.get(vs);
          return d && x ? { d, x } : undefined;
        },
        runtimeAdded: (vs, rs) => isRuntimeAdded(this.overlay, vs, rs),
        removedAtRuntime: (vs) => [...(this.overlay.removed.get(vs) ?? [])],
        suspendedVs: this.haSuspend.suspended,
        checkSuspended: (ch, r) => this.pool.isSuspended(checkKey(ch, r)),
      },
    );
  }

  /** Repairs of tables changed from outside (healing-backend.ts). */
  get repairs(): number {
    return this.backend instanceof HealingBackend ? this.backend.repairs : 0;
  }

  counters(): ReturnType<LbBackend['counters']> {
    return this.backend.counters(this.vss);
  }

  private changed(): void {
    if (!this.stopped) void this.recompute();
  }

  private rsStates(v: VirtualServerConfig): Map<string, ReturnType<typeof rsState>> {
    return new Map(
      v.realServers.map((r) => [
        rsKey(r),
        rsState(
          r,
          r.checks.map((ch) => this.pool.verdict(checkKey(ch, r))),
        ),
      ]),
    );
  }

  private async recompute(): Promise<void> {
    for (const v of this.vss) {
      const { state, events } = stepVs(v, this.states.get(v.key), this.rsStates(v));
      this.states.set(v.key, state);
      this.run(v, events);
      this.rotations.set(
        v.key,
        rotation(v, state).map((r) =>
          this.drains.get(rsKey(r))?.vs.get(v.key)?.phase === 'draining' && !r.sorry ? { ...r, weight: 0 } : r,
        ),
      );
    }
    for (const k of this.rotations.keys()) if (!this.states.has(k)) this.rotations.delete(k);
    await this.apply();
  }

  /** One apply in flight; changes meanwhile cause exactly one more. */
  private apply(): Promise<void> {
    if (this.applying) {
      this.dirty = true;
      return this.applying;
    }
    const p = (async () => {
      do {
        this.dirty = false;
        try {
          const r = await this.backend.apply(this.vss, new Map(this.rotations));
          this.lastApply = { ok: true, atMs: Math.round(this.o.clock.nowUs() / US_PER_MS) };
          if (r.changed)
            this.o.log.debug(
              { event: 'lb.applied', lines: r.script.split('\n').length - 1 },
              'load balancer rules updated',
            );
        } catch (e) {
          this.lastApply = { ok: false, atMs: Math.round(this.o.clock.nowUs() / US_PER_MS), error: String(e) };
          this.o.log.error(
            { event: 'lb.apply_failed', code: 'LB_APPLY_FAILED', err: String(e) },
            withCode('LB_APPLY_FAILED', `load balancer: ${String(e)}`),
          );
        }
      } while (this.dirty && !this.stopped);
      this.applying = undefined;
    })();
    this.applying = p;
    return p;
  }

  private run(v: VirtualServerConfig, events: LbEvent[]): void {
    runEvents(this.o, v, events);
  }
}
