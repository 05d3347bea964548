/**
 * How `floatd run` starts the load balancer: after the VRRP side is up (it is not on the
 * failover path), reconfigured after each accepted reload, stopped (rules removed, omega's
 * scripts run) on the way out. Nothing loads when the configuration has no virtual_server.
 */
import type { FloatdConfig } from '../config/model.js';
import { formatDiagnostic, type Diagnostic } from '../config/diagnostics.js';
import { US_PER_S, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { LbService } from './service.js';
import type { DaemonStatus } from '../model/status-types.js';

let current: LbService | undefined;
/** The running service, for status and metrics (undefined: no load balancer). */
export const runningLb = (): LbService | undefined => current;

/** Adds the load balancer's part to a status snapshot (unchanged without one). */
export function withLb(s: DaemonStatus): DaemonStatus {
  return current?.active ? { ...s, lb: current.status() } : s;
}

/** The warnings positioned inside a virtual_server block. */
export function lvsWarnings(cfg: FloatdConfig, diags: Diagnostic[]): Diagnostic[] {
  const spans = (cfg.virtualServers ?? []).map((v) => [v.pos.file, v.pos.line, v.endLine ?? v.pos.line] as const);
  return diags.filter(
    (d) => d.severity === 'warning' && spans.some(([f, a, b]) => d.file === f && d.line >= a && d.line <= b),
  );
}

/** `FLOATD_LB_RECONCILE_S` (0.1..3600): how often the tables are checked and repaired; default 30 s. */
function reconcileUs(log: Logger): number | undefined {
  const v = process.env.FLOATD_LB_RECONCILE_S;
  if (v === undefined || v === '') return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0.1 && s <= 3600) return Math.round(s * US_PER_S);
  log.warn({ event: 'lb.reconcile_setting' }, `FLOATD_LB_RECONCILE_S=${v} is not 0.1..3600 seconds; using 30 s`);
  return undefined;
}

export interface LbHooks {
  onReady(): Promise<void>;
  onReloaded(): Promise<void>;
  onStopping(): Promise<void>;
}

/**
 * `reloadConfig` reads the file again after an accepted reload. The warnings inside virtual_server
 * blocks are logged then (at start `floatd run` logs every diagnostic; a reload logs only errors).
 */
export function lbHooks(
  first: FloatdConfig,
  log: Logger,
  reloadConfig: () => Promise<{ config: FloatdConfig | null; diagnostics: Diagnostic[] }>,
  /** The daemon's one clock (the Runtime's). */
  clock: Clock,
): LbHooks {
  const start = async (cfg: FloatdConfig): Promise<void> => {
    const vss = cfg.virtualServers ?? [];
    if (!vss.length && !current) return;
    if (!current) {
      const { LbService } = await import('./service.js');
      current = new LbService({
        log,
        clock,
        reconcileUs: reconcileUs(log),
        checkerThread: true,
        nftMonitor: true,
      });
    }
    await current.configure(vss);
  };
  return {
    onReady: () => start(first),
    async onReloaded() {
      const r = await reloadConfig();
      if (!r.config) return;
      for (const d of lvsWarnings(r.config, r.diagnostics))
        log.warn({ event: 'config.diagnostic' }, formatDiagnostic(d));
      await start(r.config);
    },
    async onStopping() {
      await current?.stop();
      current = undefined;
    },
  };
}
