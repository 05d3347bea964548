/**
 * /metrics in the Prometheus text format (prom-client), derived from the DaemonStatus snapshot
 * at scrape time, so the runtime makes no metric calls of its own. Metrics that
 * keepalived_exporter also has keep its names and labels (existing dashboards and alerts keep
 * working); the rest are `floatd_*`. Every metric is listed in docs/observability.md.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { registerLbMetrics } from '../lb/metrics.js';
import type { DaemonStatus, InstanceStatus, VrrpStateName } from '../model/status-types.js';
import { FIP, FIP_METRICS, fipLabels, KA_COUNTERS, QUORUM_GAUGES } from './metric-tables.js';
import { realClock } from '../util/clock.js';

/** keepalived's own state numbers (vrrp.h), which keepalived_exporter exports as they are. */
export const STATE_NUMBER: Record<VrrpStateName, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 98 };

const INST = ['iname', 'intf', 'vrid'] as const;
const instLabels = (i: InstanceStatus): Record<(typeof INST)[number], string> => ({
  iname: i.name,
  intf: i.interface,
  vrid: String(i.vrid),
});
const seconds = (iso: string | undefined, now: number): number | undefined => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? Math.max(0, (now - t) / 1000) : undefined;
};

export interface Metrics {
  registry: Registry;
  contentType: string;
  /** One scrape: one status snapshot shared by every metric. */
  render(): Promise<string>;
}

/** What each API listener holds and has shed (conn-limit.ts), for the floatd_api_* metrics. */
export interface ListenerCounts {
  what: string;
  open: number;
  evicted: number;
  refused: number;
  idle: number;
}

export function createMetrics(
  getStatus: () => DaemonStatus,
  opts: { processMetrics?: boolean; connections?: () => ListenerCounts[] } = {},
): Metrics {
  const registry = new Registry();
  // The event-loop-lag histogram samples on a timer: every 10 ms by default, 100 wake-ups a
  // second that were the largest part of an idle daemon's CPU. Once a second is enough to see lag.
  if (opts.processMetrics !== false) {
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
    // prom-client names three gauges *_total, which `promtool check metrics` refuses; the same
    // counts stay in nodejs_active_handles / _requests / _resources (by type).
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      registry.removeSingleMetric(n);
  }
  let snap: DaemonStatus | undefined;
  const status = (): DaemonStatus => (snap ??= getStatus());
  const registers = [registry];

  // A gauge / counter whose every sample is set from the snapshot at scrape time.
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Record<L, string>, v: number) => void, s: DaemonStatus) => void,
  ): void => {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        fill((l, v) => this.set(l, v), status());
      },
    });
  };
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Record<L, string>, v: number) => void, s: DaemonStatus) => void,
  ): void => {
    new Counter<L>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        fill((l, v) => this.inc(l, v), status());
      },
    });
  };

  registerLbMetrics(registers);
  // ---- keepalived_exporter's names ----
  gauge('keepalived_up', 'Status (1: the daemon answers)', [], (set) => set({}, 1));
  gauge(
    'keepalived_vrrp_state',
    'State of vrrp (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 98 STOP), one sample per VIP',
    ['iname', 'intf', 'vrid', 'ip_address'],
    (set, s) => {
      for (const i of s.instances) {
        const v = STATE_NUMBER[i.state];
        if (i.vips.length === 0) set({ ...instLabels(i), ip_address: '' }, v);
        for (const vip of i.vips)
          set({ iname: i.name, intf: vip.dev, vrid: String(i.vrid), ip_address: vip.address.split('/')[0]! }, v);
      }
    },
  );
  for (const [name, help, value] of KA_COUNTERS) {
    counter(name, help, INST, (set, s) => {
      for (const i of s.instances) set(instLabels(i), value(i));
    });
  }
  gauge('keepalived_script_status', 'Tracker script status (1 GOOD, 0 BAD)', ['name'], (set, s) => {
    for (const t of uniqueTrackers(s))
      if (t.type === 'script' || t.type === 'http' || t.type === 'tcp')
        set({ name: t.name }, t.status === 'up' ? 1 : 0);
  });

  // ---- floatd's own ----
  const conns = opts.connections;
  if (conns) {
    new Gauge({
      name: 'floatd_api_connections',
      help: 'Connections each API listener holds now',
      labelNames: ['listener'],
      registers,
      collect() {
        this.reset();
        for (const c of conns()) this.set({ listener: c.what }, c.open);
      },
    });
    new Counter({
      name: 'floatd_api_connections_closed_total',
      labelNames: ['listener', 'why'],
      registers,
      help:
        'API connections closed by the bound (evicted: oldest ' +
        'idle at the cap; refused: all busy; idle: sent nothing)',
      collect() {
        this.reset();
        for (const c of conns())
          for (const why of ['evicted', 'refused', 'idle'] as const) this.inc({ listener: c.what, why }, c[why]);
      },
    });
  }
  gauge('floatd_info', 'Build and identity (always 1)', ['version', 'router_id', 'hostname'], (set, s) =>
    set({ version: s.version, router_id: s.routerId, hostname: s.hostname }, 1),
  );
  gauge(
    'floatd_vrrp_instance_state',
    'One sample per instance and state, 1 for the current state',
    ['iname', 'state'],
    (set, s) => {
      for (const i of s.instances)
        for (const st of Object.keys(STATE_NUMBER) as VrrpStateName[])
          set({ iname: i.name, state: st }, i.state === st ? 1 : 0);
    },
  );
  gauge(
    'floatd_vrrp_priority',
    'Priority: base (configured) and effective (after tracking weights)',
    ['iname', 'intf', 'vrid', 'kind'],
    (set, s) => {
      for (const i of s.instances) {
        set({ ...instLabels(i), kind: 'base' }, i.basePriority);
        set({ ...instLabels(i), kind: 'effective' }, i.effectivePriority);
      }
    },
  );
  gauge(
    'floatd_maintenance',
    'Whether the instance is in maintenance (floatd maintenance on): 1 yes, 0 no',
    INST,
    (set, s) => {
      for (const i of s.instances) set(instLabels(i), i.maintenance === true ? 1 : 0);
    },
  );
  gauge('floatd_vrrp_state_since_seconds', 'Seconds since the instance entered its current state', INST, (set, s) => {
    const now = realClock.wallMs();
    for (const i of s.instances) {
      const v = seconds(i.since, now);
      if (v !== undefined) set(instLabels(i), v);
    }
  });
  gauge(
    'floatd_vrrp_state_reason',
    'The reason of the current state (1), by reason kind: the last transition, or quorum_denied while denied',
    ['iname', 'intf', 'vrid', 'reason'],
    (set, s) => {
      for (const i of s.instances) if (i.reasonKind) set({ ...instLabels(i), reason: i.reasonKind }, 1);
    },
  );
  counter(
    'floatd_adverts_dropped_total',
    'Received adverts dropped, by reason (names from src/vrrp/drop-reasons.ts)',
    ['iname', 'intf', 'vrid', 'reason'],
    (set, s) => {
      for (const i of s.instances)
        for (const [reason, n] of Object.entries(i.counters.dropped)) set({ ...instLabels(i), reason }, n);
    },
  );
  gauge(
    'floatd_peer_last_heard_seconds',
    'Seconds since the last valid advert from each peer',
    ['iname', 'peer'],
    (set, s) => {
      const now = realClock.wallMs();
      for (const i of s.instances)
        for (const p of i.peers) {
          const v = seconds(p.lastHeard, now);
          if (v !== undefined) set({ iname: i.name, peer: p.address }, v);
        }
    },
  );
  counter(
    'floatd_transitions_total',
    'State transitions since start, by instance (or sync group), new state and reason',
    ['iname', 'kind', 'to', 'reason'],
    (set, s) => {
      for (const t of transitionCounts(s))
        set({ iname: t.instance, kind: t.kind, to: t.to, reason: t.reasonKind }, t.count);
    },
  );
  gauge(
    'floatd_tracker_up',
    'Tracked object status (1 up, 0 down or no result yet), per instance that tracks it',
    ['iname', 'tracker', 'type'],
    (set, s) => {
      for (const i of s.instances)
        for (const t of i.trackers) set({ iname: i.name, tracker: t.name, type: t.type }, t.status === 'up' ? 1 : 0);
    },
  );
  gauge(
    'floatd_check_last_duration_seconds',
    'How long the last run of each check took',
    ['tracker', 'type'],
    (set, s) => {
      for (const t of uniqueTrackers(s))
        if (t.lastDurationMs !== undefined) set({ tracker: t.name, type: t.type }, t.lastDurationMs / 1000);
    },
  );
  counter('floatd_notify_runs_total', 'Notify scripts, FIFO lines and webhooks run', [], (set, s) =>
    set({}, s.notify.runs),
  );
  counter('floatd_notify_failures_total', 'Notify runs that failed (exit status, timeout, HTTP error)', [], (set, s) =>
    set({}, s.notify.failures),
  );
  for (const [kind, name, help, value] of FIP_METRICS)
    (kind === 'gauge' ? gauge : counter)(name, help, FIP, (set, s) => {
      for (const f of s.floatingIps) {
        const v = value(f);
        if (v !== undefined) set(fipLabels(f), v);
      }
    });
  for (const [name, help, value] of QUORUM_GAUGES)
    gauge(name, help, ['holder', 'key'], (set, s) => {
      for (const q of s.quorum ?? []) {
        const v = value(q);
        if (v !== undefined) set({ holder: q.holder, key: q.key }, v);
      }
    });

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      snap = undefined;
      try {
        return await registry.metrics();
      } finally {
        snap = undefined;
      }
    },
  };
}

function uniqueTrackers(s: DaemonStatus): InstanceStatus['trackers'] {
  const seen = new Map<string, InstanceStatus['trackers'][number]>();
  for (const i of s.instances)
    for (const t of i.trackers) if (!seen.has(`${t.type} ${t.name}`)) seen.set(`${t.type} ${t.name}`, t);
  return [...seen.values()];
}

/** Counts kept by the runtime when it has them; else counted from the transition ring buffer. */
function transitionCounts(s: DaemonStatus): NonNullable<DaemonStatus['transitionCounts']> {
  if (s.transitionCounts) return s.transitionCounts;
  const m = new Map<string, NonNullable<DaemonStatus['transitionCounts']>[number]>();
  for (const t of s.transitions) {
    const k = JSON.stringify([t.instance, t.kind, t.to, t.reasonKind]);
    const e = m.get(k) ?? { instance: t.instance, kind: t.kind, to: t.to, reasonKind: t.reasonKind, count: 0 };
    e.count++;
    m.set(k, e);
  }
  return [...m.values()];
}
