/**
 * The typed model of keepalived's LVS half: `virtual_server` (IP PORT, fwmark, group),
 * `real_server` and the health checkers, with keepalived 2.2.7's defaults resolved
 * (keepalived.conf(5); digest §8). What floatd's nftables backend cannot honour never gets
 * here silently: the parser says so with a position (src/config/lvs-block.ts, lvs-group.ts, lvs-rs-block.ts).
 */
import type { NotifyScript, Pos } from './model.js';

/** Schedulers the nftables backend builds (src/lb/slots.ts); the rest are refused with a reason. */
export type LvsSched = 'rr' | 'wrr' | 'sh' | 'dh' | 'mh' | 'fo';
export type LvsMethod = 'NAT' | 'DR';
export type LvsProtocol = 'TCP' | 'UDP';

export interface HttpUrl {
  path: string;
  /** Inclusive ranges; absent: 200-299 (keepalived's default). */
  statusCodes?: [number, number][];
  /** md5 of the body, lower-case hex (keepalived's genhash). */
  digest?: string;
  virtualhost?: string;
}

interface CheckBase {
  /** Where the probe connects (default: the real server's address and port). */
  connectIp?: string;
  connectPort?: number;
  bindTo?: string;
  bindPort?: number;
  connectTimeoutMs: number;
  /** Failures needed before the checker goes down = retry + 1 (the first try and `retry` more). */
  retry: number;
  delayBeforeRetryMs: number;
  delayLoopMs: number;
  /** First check after a random delay up to this (0: at once). */
  warmupMs: number;
  /** Starts down (keepalived `alpha`): the server enters rotation only after a success. */
  alpha: boolean;
  pos: Pos;
}

export interface TcpCheckConfig extends CheckBase {
  kind: 'TCP_CHECK';
}
export interface HttpCheckConfig extends CheckBase {
  kind: 'HTTP_GET' | 'SSL_GET';
  urls: HttpUrl[];
  virtualhost?: string;
  /** SSL_GET: send SNI (keepalived `enable_sni`); the name is virtualhost or connect_ip. */
  sni: boolean;
  httpVersion: '1.0' | '1.1';
}
export interface MiscCheckConfig extends CheckBase {
  kind: 'MISC_CHECK';
  argv: string[];
  timeoutMs: number;
  /** Exit 2..255 sets the weight to status − 2 (keepalived `misc_dynamic`). */
  dynamic: boolean;
  user?: string;
}
export interface SmtpCheckConfig extends CheckBase {
  kind: 'SMTP_CHECK';
  heloName: string;
  /** `host { connect_ip … }` blocks: every one must pass (none: the real server itself). */
  hosts: { connectIp?: string; connectPort?: number; bindTo?: string }[];
}
export interface UdpCheckConfig extends CheckBase {
  kind: 'UDP_CHECK';
  /** Hex bytes sent; absent: 16 random bytes (keepalived sends a random payload). */
  payload?: string;
  /**
   * A reply is needed (hex, "x" = any nibble: it must match up to the shorter of the two); absent:
   * no ICMP error is enough.
   */
  requireReply?: string | true;
  minReplyLength?: number;
  /** Default 255, as keepalived. */
  maxReplyLength: number;
}
export interface DnsCheckConfig extends CheckBase {
  kind: 'DNS_CHECK';
  type: 'A' | 'NS' | 'CNAME' | 'SOA' | 'MX' | 'TXT' | 'AAAA';
  name: string;
}
export interface PingCheckConfig extends CheckBase {
  kind: 'PING_CHECK';
}
/**
 * `FILE_CHECK { track_file NAME; weight N [reverse] }`: the integer in a `track_file`'s file,
 * watched (no probing, no timing options). weight 0: a non-zero value is down (reverse: zero is);
 * otherwise value × weight (negated with reverse) is added to the server's weight, and a product
 * at or below −2^31 is down (keepalived 2.2.7 check_file.c / track_file.c).
 */
export interface FileCheckConfig extends CheckBase {
  kind: 'FILE_CHECK';
  trackFile: string;
  path: string;
  weight: number;
  reverse: boolean;
  initFile?: { value: number; overwrite: boolean };
}
export type LvsCheckConfig =
  | FileCheckConfig
  | PingCheckConfig
  | TcpCheckConfig
  | HttpCheckConfig
  | MiscCheckConfig
  | SmtpCheckConfig
  | UdpCheckConfig
  | DnsCheckConfig;

export interface RealServerConfig {
  address: string;
  port: number;
  weight: number;
  /** A failed server stays listed with weight 0 instead of leaving (keepalived semantics). */
  inhibitOnFailure: boolean;
  notifyUp?: NotifyScript;
  notifyDown?: NotifyScript;
  checks: LvsCheckConfig[];
  pos: Pos;
}

/** What a virtual service matches: addresses with ports (ranges expanded), or fwmarks. */
export interface VsEndpoint {
  address: string;
  port: number;
}

export interface VirtualServerConfig {
  /** Stable identity across reloads: "192.0.2.100:80/TCP", "fwmark 1/TCP", "group WEB/TCP". */
  key: string;
  family: 4 | 6;
  endpoints: VsEndpoint[];
  fwmarks: number[];
  protocol: LvsProtocol;
  sched: LvsSched;
  /** sh/mh hash the source port too (`sh-port` / `mh-port`). */
  hashPort: boolean;
  method: LvsMethod;
  /** Seconds a client stays on its real server (nft map with timeouts); absent: off. */
  persistenceTimeoutS?: number;
  delayLoopMs: number;
  quorum: number;
  hysteresis: number;
  quorumUp?: NotifyScript;
  quorumDown?: NotifyScript;
  sorry?: { address: string; port: number; inhibit: boolean };
  alpha: boolean;
  omega: boolean;
  /** keepalived `ha_suspend`: checks pause while none of the service's addresses is local. */
  haSuspend?: boolean;
  virtualhost?: string;
  realServers: RealServerConfig[];
  pos: Pos;
  /** Line of the block's closing brace (in pos.file): its diagnostics are the ones inside. */
  endLine?: number;
}
