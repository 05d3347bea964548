/**
 * How `floatd run` starts the load balancer: after the VRRP side is up (it is not on the
 * failover path), reconfigured after each accepted reload, stopped (rules removed, omega's
 * scripts run) on the way out. Nothing loads when the configuration has no virtual_server.
 */
import type { FloatdConfig } from '../config/model.js';
import { trackClockFrom } from '../track/clock.js';
import { realClock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { LbService } from './service.js';
import type { DaemonStatus } from '../daemon/status-types.js';

let current: LbService | undefined;
/** The running service, for status and metrics (undefined: no load balancer). */
export const runningLb = (): LbService | undefined => current;

/** Adds the load balancer's part to a status snapshot (unchanged without one). */
export function withLb(s: DaemonStatus): DaemonStatus {
  return current?.active ? { ...s, lb: current.status() } : s;
}

export interface LbHooks { onReady(): Promise<void>; onReloaded(): Promise<void>; onStopping(): Promise<void> }

export function lbHooks(first: FloatdConfig, log: Logger, reloadConfig: () => Promise<FloatdConfig | null>): LbHooks {
  const start = async (cfg: FloatdConfig): Promise<void> => {
    const vss = cfg.virtualServers ?? [];
    if (!vss.length && !current) return;
    if (!current) {
      const { LbService } = await import('./service.js');
      current = new LbService({ log, clock: trackClockFrom(realClock) });
    }
    await current.configure(vss);
  };
  return {
    onReady: () => start(first),
    async onReloaded() { const cfg = await reloadConfig(); if (cfg) await start(cfg); },
    async onStopping() { await current?.stop(); current = undefined; },
  };
}
