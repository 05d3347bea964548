/**
 * The metrics that are one sample per object, as tables (name, help, value): keepalived_exporter's
 * per-instance counters, and floatd's per floating IP and per quorum key. metrics.ts registers
 * them; a new one is a row here (and a line in docs/observability.md).
 */
import type { DaemonStatus, InstanceStatus } from '../model/status-types.js';

/** keepalived_exporter's per-instance counters and the drop reasons (src/vrrp/drop-reasons.ts) behind each. */
export const KA_COUNTERS: [name: string, help: string, value: (i: InstanceStatus) => number][] = [
  ['keepalived_advertisements_received_total', 'Advertisements received', (i) => i.counters.advertsReceived],
  ['keepalived_advertisements_sent_total', 'Advertisements sent', (i) => i.counters.advertsSent],
  ['keepalived_become_master_total', 'Became master', (i) => i.counters.becameMaster],
  ['keepalived_release_master_total', 'Released master', (i) => i.counters.releasedMaster],
  ['keepalived_packet_length_errors_total', 'Packet length errors', (i) => drops(i, 'packet_len_err', 'truncated')],
  [
    'keepalived_advertisements_interval_errors_total',
    'Advertisement interval errors',
    (i) => drops(i, 'interval_mismatch'),
  ],
  ['keepalived_ip_ttl_errors_total', 'TTL errors', (i) => drops(i, 'ip_ttl_err')],
  ['keepalived_invalid_type_received_total', 'Invalid type errors', (i) => drops(i, 'invalid_type')],
  ['keepalived_address_list_errors_total', 'Address list errors', (i) => drops(i, 'addr_list_err')],
  ['keepalived_authentication_invalid_total', 'Authentication invalid', (i) => drops(i, 'invalid_authtype')],
  ['keepalived_authentication_mismatch_total', 'Authentication mismatch', (i) => drops(i, 'authtype_mismatch')],
  ['keepalived_authentication_failure_total', 'Authentication failure', (i) => drops(i, 'auth_failure')],
  ['keepalived_priority_zero_received_total', 'Priority zero received', (i) => i.counters.priorityZeroReceived],
  ['keepalived_priority_zero_sent_total', 'Priority zero sent', (i) => i.counters.priorityZeroSent],
  ['floatd_gratuitous_arps_sent_total', 'Gratuitous ARPs / unsolicited NAs sent', (i) => i.counters.garpsSent],
];

type Fip = DaemonStatus['floatingIps'][number];
type Quorum = NonNullable<DaemonStatus['quorum']>[number];
const toSeconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

/** A metric with one sample per object; the value undefined: no sample for that object. */
type Row<T> = [name: string, help: string, value: (x: T) => number | undefined];

/** One sample per floating IP (labels name, provider, address). */
export const FIP_METRICS: [kind: 'gauge' | 'counter', ...Row<Fip>][] = [
  [
    'gauge',
    'floatd_cloud_contested',
    'Whether this MASTER leaves the floating IP to a peer it cannot hear (1 contested, 0 not; issue 13)',
    (f) => (f.contested !== undefined ? 1 : 0),
  ],
  [
    'counter',
    'floatd_cloud_api_calls_total',
    'Cloud provider HTTP requests since start (API and metadata, action polls included)',
    (f) => f.calls,
  ],
  [
    'counter',
    'floatd_cloud_api_errors_total',
    'Cloud provider HTTP requests that failed (4xx, 5xx, timeout, network)',
    (f) => f.errors,
  ],
  [
    'gauge',
    'floatd_cloud_api_last_latency_seconds',
    'Duration of the last cloud provider API call',
    (f) => toSeconds(f.lastLatencyMs),
  ],
  [
    'gauge',
    'floatd_cloud_converge_seconds',
    'Last failover: from becoming MASTER to the floating IP assigned and verified',
    (f) => toSeconds(f.lastConvergeMs),
  ],
  [
    'gauge',
    'floatd_cloud_ip_held',
    'Whether the provider says this node holds the floating IP (1 yes, 0 no or unknown)',
    (f) => (f.holder !== undefined && f.self !== undefined && f.holder === f.self ? 1 : 0),
  ],
];

/** One sample per quorum key (labels holder, key). */
export const QUORUM_GAUGES: Row<Quorum>[] = [
  [
    'floatd_quorum_holding',
    'Quorum mode: whether this node holds the lease key (1) and may hold the VIPs',
    (q) => (q.epoch !== undefined && q.phase === 'holding' ? 1 : 0),
  ],
  [
    'floatd_quorum_epoch',
    'Quorum mode: the epoch (creation revision of the lease key) this node holds',
    (q) => q.epoch,
  ],
  [
    'floatd_quorum_deadline_seconds',
    'Quorum mode: time left before this holder fences itself without a renewal',
    (q) => toSeconds(q.deadlineInMs),
  ],
  [
    'floatd_quorum_failsafe',
    'Quorum mode, on_quorum_loss failsafe: 1 while this holder keeps its VIPs on every peer promise alone',
    (q) => (q.failsafe ? 1 : 0),
  ],
];

function drops(i: InstanceStatus, ...reasons: string[]): number {
  return reasons.reduce((n, r) => n + (i.counters.dropped[r] ?? 0), 0);
}

export const FIP = ['name', 'provider', 'address'] as const;
export const fipLabels = (f: Fip): Record<(typeof FIP)[number], string> => ({
  name: f.name,
  provider: f.provider,
  address: f.address,
});
