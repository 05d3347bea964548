/**
 * The one interface every cloud driver implements (one file per provider under
 * src/cloud/providers/). Drivers are thin: they translate the four questions the reconciler
 * asks into the provider's HTTP calls and classify every failure into a CloudError. Retries,
 * backoff, verification and "no call when already the holder" live in the reconciler
 * (src/cloud/reconciler.ts), never in a driver, so the call budget is counted in one place.
 */
import type { Clock } from '../util/clock.js';
import type { CloudErrorCode } from '../errors.js';

export type CloudErrorKind =
  /** 401/403: bad or under-scoped token. Not retried until the token file changes. */
  | 'auth'
  /** 404: the address (or instance) does not exist in this account/project. Not retried fast. */
  | 'not_found'
  /** 429 or the provider's throttling code. retryAfterUs says when, if the provider said. */
  | 'rate_limited'
  /** The resource is busy with another action (DO 422 pending event, Hetzner 423 locked). Retry. */
  | 'busy'
  /** 5xx or an action that ended in error. Retry with backoff. */
  | 'server'
  /** No answer within the timeout. Retry with backoff. */
  | 'timeout'
  /** Connection refused/reset, DNS. Retry with backoff. */
  | 'network'
  /** 400/422 that is not "busy": the request itself is wrong (bad id, wrong region). Not retried fast. */
  | 'invalid'
  /** The quorum's fencing check (mayAssign) refused: this node must not move the address now. */
  | 'fenced';

/** Each kind's stable code (docs/errors.md, Cloud). */
export const CLOUD_ERROR_CODES = {
  auth: 'CLOUD_AUTH',
  not_found: 'CLOUD_NOT_FOUND',
  rate_limited: 'CLOUD_RATE_LIMITED',
  busy: 'CLOUD_BUSY',
  server: 'CLOUD_PROVIDER_ERROR',
  timeout: 'CLOUD_TIMEOUT',
  network: 'CLOUD_NETWORK',
  invalid: 'CLOUD_INVALID',
  fenced: 'CLOUD_FENCED',
} as const satisfies Record<CloudErrorKind, CloudErrorCode>;

export class CloudError extends Error {
  readonly kind: CloudErrorKind;
  readonly status: number | undefined;
  /** The provider's wait before asking again, µs. */
  readonly retryAfterUs: number | undefined;
  constructor(kind: CloudErrorKind, message: string, opts: { status?: number; retryAfterUs?: number } = {}) {
    super(message);
    this.name = 'CloudError';
    this.kind = kind;
    this.status = opts.status;
    this.retryAfterUs = opts.retryAfterUs;
  }
  get code(): CloudErrorCode {
    return CLOUD_ERROR_CODES[this.kind];
  }
  /** Worth retrying soon with the same input. */
  get retryable(): boolean {
    return (
      this.kind === 'rate_limited' ||
      this.kind === 'busy' ||
      this.kind === 'server' ||
      this.kind === 'timeout' ||
      this.kind === 'network'
    );
  }
}

/** Everything a driver is built from: the floating_ip block, with the secret already read. */
export interface ProviderSettings {
  /** The floating address as written in the config (IPv4/IPv6 text), or the provider's id for it. */
  address: string;
  /** API token / key. Never logged; drivers must not put it in error messages. */
  token: string;
  /** API base URL (tests point it at the emulator). Driver default: the provider's public URL. */
  apiUrl?: string;
  /** Metadata base URL (tests point it at the emulator). Driver default: the link-local service. */
  metadataUrl?: string;
  /** Skip the metadata service: this node's id in the provider's terms. */
  instanceId?: string;
  /** Per-request timeout, µs (the floating_ip block's `timeout` seconds). */
  timeoutUs: number;
  /** Provider-specific keys from the floating_ip block (region, zone, project, network_interface, …). */
  options: Record<string, string>;
  /** Abort every in-flight request when the daemon stops. */
  signal?: AbortSignal;
  /** Counts every HTTP request the driver makes (metrics and the per-failover call budget). */
  onCall?: (call: { method: string; path: string; status: number | 'timeout' | 'network'; ms: number }) => void;
  /** The daemon's clock (src/util/clock.ts); default: the real one. */
  clock?: Clock;
}

export interface CloudProvider {
  /** 'digitalocean', 'hetzner', … as in the config. */
  readonly name: string;
  /** This node's id in the provider's terms (droplet id, server id, instance id, …). */
  whoAmI(): Promise<string>;
  /** Who holds the address now per the provider's API: an instance id, or null when unassigned. */
  holder(): Promise<string | null>;
  /**
   * Make `self` the holder and wait for the provider's asynchronous action, if any, to finish
   * (bounded by the driver's own poll limit). Resolves when the provider reports completion;
   * throws CloudError otherwise. The reconciler calls holder() afterwards to verify.
   */
  assign(self: string): Promise<void>;
  /**
   * Optional: what the OS must do on the new holder besides the API call (Hetzner, Linode, AWS
   * secondary IPs, Scaleway EM need the address on an interface). The runtime adds it as a
   * VIP on the instance's interface when true.
   */
  readonly needsLocalAddress: boolean;
  /**
   * Optional: holder() refuses (busy) while an action of anyone's is pending on the address
   * (DigitalOcean's `locked`). Then a clean read proves no earlier assign is still on its way,
   * and the partition rule's claim window shrinks to one request timeout (contest.ts).
   */
  readonly reportsPending?: boolean;
}

export type ProviderFactory = (s: ProviderSettings) => CloudProvider;
