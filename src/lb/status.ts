/** The load balancer's part of `floatd status` and the API (plain data, built from the service's state). */
import type { LvsCheckConfig, RealServerConfig, VirtualServerConfig } from '../config/lvs-model.js';
import type { CheckState } from './checker-pool.js';
import { rsKey, type RotationEntry, type VsState } from './membership.js';
import type { Drain, DrainVs } from './drain.js';
import type { LbCheckStatus, LbRealServerStatus, LbStatus, LbVirtualServerStatus } from '../model/status-types.js';
import { US_PER_MS, US_PER_S } from '../util/clock.js';

export type { LbStatus };

/** What the service adds to the plain membership: runtime changes, drains, ha_suspend. */
export interface LbStatusExtras {
  drain?: (vs: string, rs: string) => { d: Drain; x: DrainVs } | undefined;
  runtimeAdded?: (vs: string, rs: string) => boolean;
  removedAtRuntime?: (vs: string) => string[];
  suspendedVs?: ReadonlySet<string>;
  checkSuspended?: (ch: LvsCheckConfig, rs: RealServerConfig) => boolean;
}

export function lbStatus(
  vss: VirtualServerConfig[],
  states: Map<string, VsState>,
  rotations: Map<string, RotationEntry[]>,
  check: (ch: LvsCheckConfig, rs: RealServerConfig) => CheckState | undefined,
  backend: string,
  lastApply: LbStatus['lastApply'],
  x: LbStatusExtras = {},
): LbStatus {
  return {
    backend,
    virtualServers: vss.map((v) => {
      const st = states.get(v.key);
      const rot = rotations.get(v.key) ?? [];
      const rss = v.realServers.map((r): LbRealServerStatus => {
        const s = st?.rs.get(rsKey(r));
        const inRot = rot.find((x) => !x.sorry && x.address === r.address && x.port === r.port);
        const dr = x.drain?.(v.key, rsKey(r));
        return {
          address: r.address,
          port: r.port,
          alive: s?.alive ?? false,
          configuredWeight: r.weight,
          weight: inRot ? inRot.weight : null,
          drained: dr !== undefined,
          ...(dr
            ? {
                drain: {
                  phase: dr.x.phase,
                  ...(dr.x.why ? { why: dr.x.why } : {}),
                  ...(dr.x.open !== undefined ? { open: dr.x.open } : {}),
                  sinceMs: Math.round(dr.d.sinceUs / US_PER_MS),
                  timeoutS: dr.d.timeoutUs / US_PER_S,
                },
              }
            : {}),
          origin: x.runtimeAdded?.(v.key, rsKey(r)) ? 'api' : 'file',
          checks: r.checks.map((ch) => {
            const c = check(ch, r);
            return {
              kind: ch.kind,
              up: c?.up ?? false,
              failures: c?.failures ?? 0,
              runs: c?.runs ?? 0,
              detail: c?.detail ?? (dr?.x.phase === 'drained' ? 'not checked: drained out of the service' : ''),
              ...(x.checkSuspended?.(ch, r) ? { suspended: true } : {}),
            };
          }),
        };
      });
      return {
        key: v.key,
        sched: v.sched,
        method: v.method,
        protocol: v.protocol,
        quorum: v.quorum,
        hysteresis: v.hysteresis,
        quorumUp: st?.quorumUp ?? false,
        liveWeight: [...(st?.rs.values() ?? [])].reduce((a, r) => a + (r.alive ? r.weight : 0), 0),
        sorryActive: rot.some((x) => x.sorry && x.weight > 0),
        ...(v.sorry ? { sorry: { address: v.sorry.address, port: v.sorry.port } } : {}),
        suspended: x.suspendedVs?.has(v.key) ?? false,
        removedAtRuntime: x.removedAtRuntime?.(v.key) ?? [],
        realServers: rss,
      };
    }),
    ...(lastApply ? { lastApply } : {}),
  };
}

/** Lines for `floatd check` and `floatd status`. */
export function describeVirtualServers(vss: VirtualServerConfig[]): string[] {
  const lines: string[] = [];
  for (const v of vss) {
    const extra = [
      v.persistenceTimeoutS ? `persistence ${v.persistenceTimeoutS} s` : '',
      v.quorum > 1 || v.hysteresis ? `quorum ${v.quorum}±${v.hysteresis}` : '',
      v.sorry ? `sorry ${v.sorry.address}:${v.sorry.port}` : '',
      v.alpha ? 'alpha' : '',
      v.omega ? 'omega' : '',
    ].filter(Boolean);
    const more = extra.length ? `, ${extra.join(', ')}` : '';
    lines.push(
      `virtual_server ${v.key}: ${v.method} ${v.sched}, checks every ${v.delayLoopMs / 1000} s${more} (nftables)`,
    );
    for (const r of v.realServers) {
      const checks = r.checks.map((c) => c.kind).join(', ') || 'no checker (always up)';
      lines.push(
        `  real_server ${rsKey(r)} weight ${r.weight}${r.inhibitOnFailure ? ' inhibit_on_failure' : ''}: ${checks}`,
      );
    }
  }
  return lines;
}
