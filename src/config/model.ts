import type { VirtualServerConfig } from './lvs-model.js';
/** The configuration as floatd runs it: plain data, keepalived's defaults resolved. */
export interface Pos {
  file: string;
  line: number;
  col: number;
}

export interface VipConfig {
  address: string;
  prefix: number;
  dev?: string;
  label?: string;
  scope?: string;
  brd?: string;
  noTrack: boolean;
}
export interface NotifyScript {
  argv: string[];
  user?: string;
  group?: string;
}
export interface NotifyConfig {
  master?: NotifyScript;
  backup?: NotifyScript;
  fault?: NotifyScript;
  stop?: NotifyScript;
  generic?: NotifyScript;
  masterRxLowerPri?: NotifyScript;
}
export interface TrackEntry {
  name: string;
  weight: number;
  reverse: boolean;
}

export interface InstanceConfig {
  name: string;
  interface: string;
  vrid: number;
  version: 2 | 3;
  family: 4 | 6;
  priority: number;
  initialState: 'MASTER' | 'BACKUP';
  advertIntervalCs: number;
  preempt: boolean;
  preemptDelayMs: number;
  downTimerAdverts: number;
  auth: { type: 'NONE' | 'PASS' | 'AH'; pass: string };
  unicastSrcIp?: string;
  unicastPeers: { address: string; minTtl?: number; maxTtl?: number }[];
  unicastTtl?: number;
  mcastGroup?: string;
  checkUnicastSrc: boolean;
  vips: VipConfig[];
  excludedVips: VipConfig[];
  routes: string[][];
  trackScripts: TrackEntry[];
  trackInterfaces: TrackEntry[];
  trackFiles: TrackEntry[];
  trackProcesses: TrackEntry[];
  notify: NotifyConfig;
  garp: {
    masterDelayMs: number;
    masterRepeat: number;
    masterRefreshMs: number;
    masterRefreshRepeat: number;
    lowerPrioDelayMs: number;
    lowerPrioRepeat: number;
  };
  accept: boolean;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  dontTrackPrimary: boolean;
  floatingIps: string[];
  /** `quorum NAME` (floatd): the floatd_quorum lease this instance must hold to hold its VIPs. */
  quorum?: string;
  quorumPos?: Pos;
  /** `garp_extra_if [all] SECS` (0 = off; default: global vrrp_garp_extra_if). Parsed, not acted on yet. */
  garpExtraIf?: GarpExtraIf;
  pos: Pos;
}

/** Periodic GARP/NA on a VIP's interface other than the instance's (keepalived: VMACs only unless `all`). */
export interface GarpExtraIf {
  intervalS: number;
  allIf: boolean;
}

export interface VrrpScript {
  name: string;
  kind: 'script' | 'http' | 'tcp';
  argv?: string[];
  url?: string;
  expectStatus?: [number, number][];
  expectBody?: string;
  tlsVerify?: boolean;
  host?: string;
  port?: number;
  intervalMs: number;
  timeoutMs: number;
  weight: number;
  reverse: boolean;
  rise: number;
  fall: number;
  initFail: boolean;
  user?: string;
  group?: string;
  pos: Pos;
}

/** `vrrp_track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }` */
export interface TrackFileConfig {
  name: string;
  path: string;
  weight: number;
  reverse: boolean;
  initFile?: {
    value: number;
    overwrite: boolean;
  };
  pos: Pos;
}

/** `vrrp_track_process NAME { process NAME [ARGS…]; weight N [reverse]; quorum N; quorum_max N; … }` */
export interface TrackProcessConfig {
  name: string;
  process: string;
  params?: string[];
  paramMatch?: 'exact' | 'initial' | 'partial';
  fullCommand: boolean;
  weight: number;
  reverse: boolean;
  quorum: number;
  quorumMax?: number;
  forkDelayMs?: number;
  terminateDelayMs?: number;
  pos: Pos;
}

export interface SyncGroupConfig {
  name: string;
  members: string[];
  notify?: NotifyConfig;
  floatingIps?: string[];
  /** `quorum NAME` (floatd): one lease for the whole group. */
  quorum?: string;
  quorumPos?: Pos;
  /** Group-level tracking (keepalived applies it to every member). Parsed, not acted on yet. */
  trackScripts?: TrackEntry[];
  trackInterfaces?: TrackEntry[];
  trackFiles?: TrackEntry[];
  trackProcesses?: TrackEntry[];
  pos: Pos;
}

export interface FloatingIpConfig {
  name: string;
  provider: string;
  address: string;
  tokenFile?: string;
  tokenEnv?: string;
  apiUrl?: string;
  metadataUrl?: string;
  instanceId?: string;
  /** `peers ID…`: the provider ids of every node that may hold the address (issue 13; docs/cloud.md). */
  peers?: string[];
  options: Record<string, string>;
  pos: Pos;
}

/** `floatd_quorum NAME { … }` (docs/quorum.md): times in ms unless named otherwise. */
export interface QuorumConfig {
  name: string;
  backend: 'etcd';
  endpoints: string[];
  /** Key prefix; each instance or group holds `${key}/${name}`. */
  key: string;
  ttlMs: number;
  renewMs: number;
  marginMs: number;
  /** valid_lft on every VIP, refreshed on each acknowledged renewal; 0 = off. */
  kernelLifetimeS: number;
  onQuorumLoss: 'fence' | 'failsafe';
  /** `fence_guard on|off` (default on): a separate process removes the VIPs at the deadline if the daemon cannot. */
  fenceGuard: boolean;
  /**
   * `on_quorum_loss failsafe` (docs/quorum.md): every peer is asked over UDP, HMAC-signed with the
   * secret in `secretFile`. `peers` empty: the unicast_peer addresses of what the block guards.
   */
  failsafe?: { peers: string[]; port: number; secretFile?: string; pos: Pos };
  dialTimeoutMs: number;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  auth?: { username: string; passwordFile?: string; passwordEnv?: string };
  pos: Pos;
}

export interface GlobalDefs {
  routerId?: string;
  /** `vrrp_priority`: nice for the daemon, -20..19. */
  vrrpPriority?: number;
  /** `vrrp_rt_priority`: SCHED_RR priority for the event-loop thread, 1..99. */
  vrrpRtPriority?: number;
  vrrpVersion: 2 | 3;
  scriptUser?: string;
  scriptGroup?: string;
  enableScriptSecurity: boolean;
  vrrpStrict: boolean;
  checkUnicastSrc: boolean;
  notifyFifo?: string;
  vrrpStartupDelayMs: number;
  /** floatd: `notify_script_timeout SECS`, each notify script's timeout (default 30 s). */
  notifyScriptTimeoutMs?: number;
  /** floatd: `notify_supersede_delay SECS`, how long a newer state waits for running notify scripts (default 1 s). */
  notifySupersedeMs?: number;
  garpMasterDelayMs: number;
  garpMasterRepeat: number;
  garpMasterRefreshMs: number;
  garpMasterRefreshRepeat: number;
  mcastGroup4: string;
  mcastGroup6: string;
  // The parser always fills these (keepalived's defaults); optional only so other code that builds
  // a GlobalDefs by hand keeps compiling.
  /** vrrp_garp_lower_prio_delay: default vrrp_garp_master_delay. Instances inherit it. */
  garpLowerPrioDelayMs?: number;
  /** vrrp_garp_lower_prio_repeat: default vrrp_garp_master_repeat. Instances inherit it. */
  garpLowerPrioRepeat?: number;
  /** vrrp_min_garp: one GARP/NA per burst and no delayed second burst, unless set explicitly. */
  minGarp?: boolean;
  /** vrrp_garp_interval / vrrp_gna_interval: pause between messages on an interface,
    µs (default 0). Not acted on yet. */
  garpIntervalUs?: number;
  gnaIntervalUs?: number;
  /** vrrp_garp_extra_if [all] SECS (absent = off). Not acted on yet. */
  garpExtraIf?: GarpExtraIf;
  /** vrrp_down_timer_adverts 1..100 (default 3): the instances' down_timer_adverts default. */
  downTimerAdverts?: number;
  /** vrrp_lower_prio_no_advert / vrrp_higher_prio_send_advert [BOOL] (default false): instance defaults. */
  lowerPrioNoAdvert?: boolean;
  higherPrioSendAdvert?: boolean;
}

/** `floatd_api { … }`: the local API, metrics and dashboard (docs/observability.md). */
export interface ApiConfig {
  enabled: boolean;
  /** TCP addresses; loopback unless written otherwise. Empty: unix socket only. */
  listen: { host: string; port: number }[];
  /** Unix socket path; absent = no socket. */
  socket?: string;
  /** Group that may connect to the socket (mode 0660); absent = floatd's own group (root's). */
  socketGroup?: string;
  /** Connections each listener holds at most (default 64); at the cap the oldest idle goes. */
  maxConnections?: number;
  /** Where the bearer token for actions comes from; neither = read-only API. */
  tokenFile?: string;
  tokenEnv?: string;
  dashboard: boolean;
  pos?: Pos;
}

/** `notify_webhook NAME { … }`: state changes POSTed as JSON (docs/tracking.md). */
export interface WebhookDef {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** File whose content is the Authorization header value (e.g. "Bearer …"). */
  authorizationFile?: string;
  /** File whose content is the HMAC-SHA256 key for X-Floatd-Signature. */
  secretFile?: string;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  tlsVerify?: boolean;
  /** Only these instances/groups; absent = all. */
  instances?: string[];
  pos: Pos;
}

export interface FloatdConfig {
  global: GlobalDefs;
  scripts: VrrpScript[];
  trackFiles: TrackFileConfig[];
  trackProcesses: TrackProcessConfig[];
  syncGroups: SyncGroupConfig[];
  instances: InstanceConfig[];
  floatingIps: FloatingIpConfig[];
  webhooks: WebhookDef[];
  /** floatd_quorum blocks (docs/quorum.md). */
  quorums: QuorumConfig[];
  /** Absent: the API runs with its defaults (socket + 127.0.0.1:9610, read-only). */
  api?: ApiConfig;
  /** keepalived's LVS half (src/config/lvs-model.ts); absent or empty: no load balancer. */
  virtualServers?: VirtualServerConfig[];
  files: string[];
}
