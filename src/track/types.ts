/**
 * What the tracking layer needs from the configuration, as plain data. The integrator maps the
 * parsed keepalived.conf (src/config) onto these; names follow keepalived's keywords. Weights
 * and reverse flags on TrackRef are already resolved (the instance's `track_script { X weight N }`
 * if given, else the vrrp_script's own default).
 */

/** Fields shared by every polled check (vrrp_script and floatd's native checks). */
export interface CheckCommon {
  name: string;
  /** Time between starts of two runs, µs; sub-second values allowed (floatd). */
  intervalUs: number;
  /** A run still going after this (µs) is a failure (scripts are killed). Default: intervalUs. */
  timeoutUs?: number;
  /** The vrrp_script's default weight (instances usually carry their own on TrackRef). */
  weight: number;
  reverse: boolean;
  rise: number;
  fall: number;
  /** keepalived's init_fail: start as failed instead of waiting for the first result. */
  initFail: boolean;
}

export interface ScriptCheckSpec extends CheckCommon {
  kind: 'script';
  /** The command as written, split into words; argv[0] is looked up in PATH, never resolved. */
  argv: string[];
  /** `user USER [GROUP]`; numeric ids accepted. Default: the global script_user, else ours. */
  user?: string;
  group?: string;
}

export interface HttpCheckSpec extends CheckCommon {
  kind: 'http';
  url: string;
  /** Inclusive status ranges that count as success; default [[200, 299]]. */
  expectStatus?: Array<[number, number]>;
  /** Success also needs this substring in the first 64 KiB of the body. */
  expectBody?: string;
  /** Verify the server certificate (https); default true. */
  tlsVerify?: boolean;
  /** Host header (and TLS server name) to send instead of the URL's host. */
  host?: string;
  method?: 'GET' | 'HEAD';
}

export interface TcpCheckSpec extends CheckCommon {
  kind: 'tcp';
  host: string;
  port: number;
}

export type CheckSpec = ScriptCheckSpec | HttpCheckSpec | TcpCheckSpec;

/** `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`. */
export interface TrackFileSpec {
  name: string;
  path: string;
  /** Default weight 1 (keepalived). */
  weight: number;
  reverse: boolean;
  /** init_file: create the file with this value at start (only if missing unless overwrite). */
  initFile?: { value: number; overwrite: boolean };
  /** Safety-net re-read period besides fs.watch, µs; default 2 s. */
  pollUs?: number;
}

/** `vrrp_track_process NAME { process NAME [ARGS…]; param_match …; quorum …; … }`. */
export interface TrackProcessSpec {
  name: string;
  /** Process name (matched against /proc/PID/comm) or, with fullCommand, argv[0] exactly. */
  process: string;
  /** Arguments after the process name; giving some implies fullCommand. */
  params?: string[];
  /** exact (default when params are given), initial (last param may be a prefix), partial. */
  paramMatch?: 'exact' | 'initial' | 'partial';
  fullCommand?: boolean;
  /** Default weight 0: quorum lost is FAULT, as keepalived 2.2.7 does (test/lab/track-process-parity.test.ts). */
  weight: number;
  reverse: boolean;
  /** Quorum holds while quorum ≤ count ≤ quorumMax; defaults 1 and unlimited. */
  quorum?: number;
  quorumMax?: number;
  /** Wait this long (µs) after quorum is gained (fork_delay) / lost (terminate_delay) before acting. */
  forkDelayUs?: number;
  terminateDelayUs?: number;
}

export type TrackKind = 'script' | 'interface' | 'file' | 'process';

/** One tracking line of an instance (track_script / track_interface / track_file / track_process). */
export interface TrackRef {
  kind: TrackKind;
  /** vrrp_script / track_file / vrrp_track_process name, or the interface name. */
  name: string;
  weight: number;
  reverse: boolean;
}

export interface InstanceTrackingSpec {
  name: string;
  /** Configured priority; 255 (address owner) ignores weighted trackers. */
  basePriority: number;
  /** Member of a vrrp_sync_group: weights are ignored unless syncGroupTrackingWeight. */
  inSyncGroup?: boolean;
  syncGroupTrackingWeight?: boolean;
  /**
   * Everything this instance tracks, including its implicit interface (unless dont_track_primary)
   * and the sync group's own track_* lines (keepalived applies a group's trackers to each member).
   */
  tracks: TrackRef[];
}

export interface ScriptIdentity {
  uid: number;
  gid: number;
}

export interface TrackingConfig {
  checks: CheckSpec[];
  files: TrackFileSpec[];
  processes: TrackProcessSpec[];
  instances: InstanceTrackingSpec[];
  /** enable_script_security: refuse to run root scripts any non-root user could modify. */
  scriptSecurity?: boolean;
  /** global script_user/group, already resolved; default: floatd's own identity. */
  scriptUser?: ScriptIdentity;
  /** How often /proc is scanned for track_process, µs (floatd polls instead of the proc connector). */
  processPollUs?: number;
}
