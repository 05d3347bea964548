/**
 * The load balancer as a daemon component (shell): checkers (checker-pool.ts) feed the pure
 * membership step (membership.ts); the rotations go to the backend, one apply at a time
 * (a change during an apply triggers one more). Notify scripts run detached from that path.
 * It runs the same on MASTER and BACKUP: the rules match the virtual addresses, which only
 * the MASTER holds, so a takeover serves at once (docs/lb.md).
 */
import { withCode } from '../errors.js';
import type { RealServerConfig, VirtualServerConfig } from '../config/lvs-model.js';
import type { NotifyScript } from '../config/model.js';
import type { TrackClock } from '../track/clock.js';
import { runScript, type ScriptRunner } from '../util/run-script.js';
import type { Logger } from '../util/log.js';
import { NftBackend, type LbBackend } from './backend.js';
import { HealingBackend } from './healing-backend.js';
import { CheckerPool, checkKey } from './checker-pool.js';
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

export interface LbServiceOptions {
  log: Logger;
  clock: TrackClock;
  backend?: LbBackend;
  /** How long after an apply the kernel's tables are checked again and repaired (default 30 s). */
  reconcileMs?: number;
  runner?: ScriptRunner;
  random?: () => number;
  makeProbe?: (ch: LvsCheckConfig, t: Target, clock: TrackClock) => LbProbe;
}

export class LbService {
  private vss: VirtualServerConfig[] = [];
  private readonly states = new Map<string, VsState>();
  private readonly pool: CheckerPool;
  private readonly backend: LbBackend;
  private applying: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private lastApply: LbStatus['lastApply'];
  private readonly rotations = new Map<string, RotationEntry[]>();
  /** Real servers ("address:port") drained by the operator: weight 0, no new connections. */
  private readonly drained = new Set<string>();

  constructor(private readonly o: LbServiceOptions) {
    this.backend =
      o.backend ??
      new HealingBackend(new NftBackend(), {
        clock: o.clock,
        log: o.log,
        policy: { intervalMs: o.reconcileMs ?? 30_000 },
      });
    this.pool = new CheckerPool({
      clock: o.clock,
      onChange: () => this.changed(),
      onWarn: (m) => o.log.warn({ event: 'lb.check_warning' }, m),
      ...(o.random ? { random: o.random } : {}),
      ...(o.makeProbe ? { makeProbe: o.makeProbe } : {}),
    });
  }

  get active(): boolean {
    return this.vss.length > 0;
  }

  /** Start or reload: checks that stay keep their state; only what differs reaches the kernel. */
  async configure(vss: VirtualServerConfig[]): Promise<void> {
    const keys = new Set(vss.map((v) => v.key));
    for (const k of this.states.keys()) if (!keys.has(k)) this.states.delete(k);
    this.vss = vss;
    const wanted = new Map<string, { ch: LvsCheckConfig; target: Target }>();
    for (const v of vss)
      for (const r of v.realServers) for (const ch of r.checks) wanted.set(checkKey(ch, r), { ch, target: r });
    this.pool.sync(wanted);
    if (vss.length)
      this.o.log.info(
        { event: 'lb.configure', virtualServers: vss.length, checks: this.pool.size, backend: this.backend.name },
        `load balancer: ${vss.length} virtual server(s), ${this.pool.size} distinct check(s)`,
      );
    await this.recompute();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pool.stop();
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
   * ones finish through conntrack) until undrained. Not kept across a restart.
   */
  async drain(rs: string, on: boolean): Promise<{ ok: boolean; message: string }> {
    if (!this.vss.some((v) => v.realServers.some((r) => rsKey(r) === rs)))
      return { ok: false, message: `no real server ${rs}` };
    if (on) this.drained.add(rs);
    else this.drained.delete(rs);
    this.o.log.info(
      { event: on ? 'lb.drain' : 'lb.undrain', rs },
      `real server ${rs} ${on ? 'drained: no new connections' : 'back from drain'}`,
    );
    await this.recompute();
    const failed = this.lastApply?.ok ? '' : `: ${this.lastApply?.error ?? 'not applied'}`;
    return { ok: this.lastApply?.ok ?? false, message: `${rs} ${on ? 'drained' : 'undrained'}${failed}` };
  }

  isDrained(rs: string): boolean {
    return this.drained.has(rs);
  }

  status(): LbStatus {
    return lbStatus(
      this.vss,
      this.states,
      this.rotations,
      (ch, r) => this.pool.state(checkKey(ch, r)),
      this.backend.name,
      this.lastApply,
      this.drained,
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
        rotation(v, state).map((r) => (this.drained.has(rsKey(r)) && !r.sorry ? { ...r, weight: 0 } : r)),
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
          this.lastApply = { ok: true, atMs: Math.round(this.o.clock.now()) };
          if (r.changed)
            this.o.log.debug(
              { event: 'lb.applied', lines: r.script.split('\n').length - 1 },
              'load balancer rules updated',
            );
        } catch (e) {
          this.lastApply = { ok: false, atMs: Math.round(this.o.clock.now()), error: String(e) };
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
    for (const e of events) {
      if ('weight' in e) {
        const up = e.type === 'quorum_up';
        this.o.log[up ? 'info' : 'warn'](
          { event: `lb.${e.type}`, vs: v.key, weight: e.weight },
          `${v.key}: quorum ${up ? 'gained' : 'lost'} (live weight ${e.weight}, quorum ${v.quorum} ± ` +
            `${v.hysteresis})${!up && v.sorry ? ', sorry server in' : ''}`,
        );
        this.script(up ? v.quorumUp : v.quorumDown, e.type);
        continue;
      }
      const rs: RealServerConfig | undefined = v.realServers.find((r) => rsKey(r) === e.rs);
      const up = e.type === 'rs_up';
      this.o.log[up ? 'info' : 'warn'](
        { event: `lb.${e.type}`, vs: v.key, rs: e.rs },
        `${v.key}: real server ${e.rs} ${up ? 'up, in rotation' : 'down, out of rotation'}`,
      );
      this.script(up ? rs?.notifyUp : rs?.notifyDown, e.type);
    }
  }

  private script(s: NotifyScript | undefined, why: string): void {
    if (!s) return;
    const runner = this.o.runner ?? runScript;
    void runner({ argv: s.argv, timeoutMs: 30_000, clock: this.o.clock }).then((r) => {
      if (!r.ok)
        this.o.log.warn(
          { event: 'lb.notify_failed', code: 'LB_NOTIFY_FAILED', why, argv: s.argv.join(' ') },
          withCode('LB_NOTIFY_FAILED', `${why} script ${s.argv[0] ?? ''}: ${r.detail}`),
        );
    });
  }
}
