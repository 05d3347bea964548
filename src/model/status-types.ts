/**
 * The daemon's observable state as plain data: what `floatd status`, the HTTP API, the
 * dashboard, /metrics and the SIGUSR1 dump all read. The daemon builds a fresh snapshot on
 * demand; consumers never reach into live objects.
 */
import type { CloudErrorCode, QuorumErrorCode } from '../errors.js';

/** A quorum lease's phase (src/quorum/lease.ts is the machine that moves through them). */
export type LeasePhase = 'idle' | 'acquiring' | 'denied' | 'unreachable' | 'holding';

export interface QuorumStatus {
  holder: string;
  quorum: string;
  key: string;
  phase: LeasePhase;
  epoch?: number;
  /** ms left before this node fences itself (holding only). */
  deadlineInMs?: number;
  /** Who holds the key while this node is denied. */
  heldBy?: { name: string; epoch: number };
  error?: string;
  /** QUORUM_DENIED while denied, QUORUM_UNREACHABLE while etcd does not answer (docs/errors.md, Quorum). */
  errorCode?: QuorumErrorCode;
  /** Holding on every peer's confirmation alone (on_quorum_loss failsafe; etcd unreachable). */
  failsafe?: boolean;
}

export interface LbCheckStatus {
  kind: string;
  up: boolean;
  failures: number;
  runs: number;
  detail: string;
  /** ha_suspend: not probing while this node holds none of the service's addresses. */
  suspended?: boolean;
}
export interface LbRealServerStatus {
  address: string;
  port: number;
  alive: boolean;
  configuredWeight: number;
  /** Weight in the kernel's rotation; 0 = listed without new connections; null = not listed. */
  weight: number | null;
  /** Drained by the operator (weight 0, then out of the service; until undrained). */
  drained: boolean;
  /** The drain in this virtual server: draining (weight 0) until idle or the timeout, then drained (out). */
  drain?: { phase: 'draining' | 'drained'; why?: 'idle' | 'timeout'; open?: number; sinceMs: number; timeoutS: number };
  /** 'api': added through the API at runtime (lost on reload or restart unless the file has it). */
  origin: 'file' | 'api';
  checks: LbCheckStatus[];
}
export interface LbVirtualServerStatus {
  key: string;
  sched: string;
  method: string;
  protocol: string;
  quorum: number;
  hysteresis: number;
  quorumUp: boolean;
  liveWeight: number;
  sorryActive: boolean;
  /** The sorry server, when there is one. */
  sorry?: { address: string; port: number };
  /** ha_suspend in effect: none of the service's addresses is local, its checks pause. */
  suspended: boolean;
  /** The file's real servers removed through the API (back at the next reload or restart). */
  removedAtRuntime: string[];
  realServers: LbRealServerStatus[];
}
export interface LbStatus {
  backend: string;
  virtualServers: LbVirtualServerStatus[];
  lastApply?: { ok: boolean; atMs: number; error?: string };
}

export type VrrpStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export interface TransitionRecord {
  /** Wall-clock time, ISO 8601. */
  time: string;
  instance: string;
  /** 'INSTANCE' for a vrrp_instance, 'GROUP' for a vrrp_sync_group. */
  kind: 'INSTANCE' | 'GROUP';
  from: VrrpStateName;
  to: VrrpStateName;
  /** Stable machine-readable cause, e.g. 'advert_timeout', 'higher_priority_advert', 'fault'. */
  reasonKind: string;
  /** Human sentence: which advert, which check, which signal. */
  reason: string;
  priority: number;
}

export interface VipStatus {
  address: string; // with prefix, e.g. "192.0.2.100/24"
  dev: string;
  present: boolean; // is it on the interface right now (as last seen by floatd)
}

export interface PeerStatus {
  address: string;
  lastHeard?: string; // ISO time of the last valid advert from it
  priority?: number;
  advertIntervalCs?: number;
}

export interface TrackerStatus {
  name: string;
  type: 'script' | 'http' | 'tcp' | 'interface' | 'file' | 'process';
  /** 'up' | 'down' | 'init' (no result yet). */
  status: 'up' | 'down' | 'init';
  weight: number;
  reverse?: boolean;
  lastResult?: string; // e.g. "exit 1", "HTTP 503", "connect ECONNREFUSED"
  lastDurationMs?: number;
  lastRun?: string;
}

export interface InstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  version: 2 | 3;
  family: 4 | 6;
  state: VrrpStateName;
  since: string; // ISO time of the last transition
  lastReason: string;
  /** Machine-readable reason of the current state: the last transition's kind, or `quorum_denied` while denied. */
  reasonKind?: string;
  /** Quorum mode: the lease epoch (fencing token) while this node holds it. */
  epoch?: number;
  /** Quorum mode: why this BACKUP is not MASTER although its down timer fired (`quorum_denied: …`). */
  quorumReason?: string;
  basePriority: number;
  effectivePriority: number;
  advertIntervalCs: number;
  unicast: boolean;
  master?: { address: string; priority: number }; // the current master as this node sees it
  vips: VipStatus[];
  peers: PeerStatus[];
  trackers: TrackerStatus[];
  syncGroup?: string;
  /** In maintenance (`floatd maintenance on`): held at the lowest priority until turned off. */
  maintenance?: boolean;
  floatingIps: string[];
  counters: {
    advertsSent: number;
    advertsReceived: number;
    becameMaster: number;
    releasedMaster: number;
    priorityZeroSent: number;
    priorityZeroReceived: number;
    garpsSent: number;
    /** Dropped adverts by reason (names from src/vrrp/drop-reasons.ts). */
    dropped: Record<string, number>;
  };
}

export interface FloatingIpStatus {
  name: string;
  provider: string;
  address: string;
  /** Instance id this node has in the provider's view, if known. */
  self?: string;
  /** Who the provider says holds the address, if known. */
  holder?: string;
  desired: 'hold' | 'release' | 'idle';
  /** Reconciler phase: idle, resolving, checking, assigning, verifying, held, backoff, failed, contested, released. */
  phase: string;
  /**
   * Set while a configured peer holds the address and this node, MASTER, does not fight for it
   * (issue 13): "contested: the provider shows 102 as holder; this node cannot hear its peer …".
   */
  contested?: string;
  /** Fencing token (quorum epoch) of the last assign the quorum allowed. */
  epoch?: string;
  lastResult?: string;
  lastError?: string;
  /** The stable code (docs/errors.md, Cloud) of lastError, or CLOUD_CONTESTED while contested. */
  errorCode?: CloudErrorCode;
  lastChange?: string;
  /** HTTP requests to the provider (API and metadata, action polls included) since start. */
  calls: number;
  /** Reconciler steps (whoami / holder / assign) since start, and since the last failover began. */
  steps?: number;
  callsThisFailover: number;
  /** Reconciler steps the last completed failover took (callsThisFailover restarts at every periodic re-read). */
  lastFailoverCalls?: number;
  /** Of those, reads that found a provider action pending (waited for; not counted against max_calls). */
  busyWaits?: number;
  /** From becoming MASTER to "assigned and verified", for the last failover. */
  lastConvergeMs?: number;
  /** API calls that failed since start (metrics: floatd_cloud_api_errors_total). */
  errors?: number;
  /** Duration of the last API call. */
  lastLatencyMs?: number;
}

export interface DaemonStatus {
  version: string;
  hostname: string;
  routerId: string;
  pid: number;
  startedAt: string;
  configFile: string;
  configLoadedAt: string;
  instances: InstanceStatus[];
  syncGroups: { name: string; state: VrrpStateName; members: string[] }[];
  floatingIps: FloatingIpStatus[];
  /** The last N transitions, newest last. */
  transitions: TransitionRecord[];
  notify: { runs: number; failures: number };
  /** Quorum mode (docs/quorum.md): one entry per lease key (instance or sync group). */
  quorum?: QuorumStatus[];
  /** Transitions since start by (instance, kind, new state, reason): monotonic, unlike the ring buffer. */
  transitionCounts?: {
    instance: string;
    kind: 'INSTANCE' | 'GROUP';
    to: VrrpStateName;
    reasonKind: string;
    count: number;
  }[];
  /** The load balancer (src/lb): virtual and real servers with their check results; absent without one. */
  lb?: LbStatus;
}
