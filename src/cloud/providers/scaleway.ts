/**
 * Scaleway flexible IPs, on Instances (`mode instance`, the default) or Elastic Metal servers
 * (`mode elastic_metal`). Every request carries `X-Auth-Token: <secret key>`.
 *   whoAmI:  metadata GET /conf?format=json → id (or instance_id from the config); the same
 *            answer's location.zone_id is the zone unless the `zone` option is set.
 *   instance (Instance API v1):
 *     holder: GET /instance/v1/zones/{zone}/ips/{address|id} → ip.server.id | null
 *     assign: PATCH /instance/v1/zones/{zone}/ips/{address|id} {"server":"<uuid>"} → ip; done when
 *             it shows this server `attached`, otherwise GET the IP until it does (`error` → failed).
 *   elastic_metal (Flexible IP API v1alpha1):
 *     holder: GET /flexible-ip/v1alpha1/zones/{zone}/fips/{id} → server_id | null
 *     assign: POST /flexible-ip/v1alpha1/zones/{zone}/fips/attach {"fips_ids":[id],"server_id":…}
 *             → status `updating`; GET /fips/{id} until `attached` to this server (`error` → failed).
 * An IPv4 flexible IP on Instances is named by its address in the path (the API takes "IP ID or
 * address"); a routed IPv6 is a /64 prefix with no address, and Elastic Metal takes ids only, so
 * there the id comes from `ip_id`, a UUID `address`, or — once — the list of the zone's IPs.
 * Both APIs move an attached IP by naming the new server; no detach first: the Instances
 * console's "Switch Instance" and terraform-provider-scaleway's server and flexible IP updates
 * do just that (`ResourceInstanceServerUpdateIPs`, `ResourceFlexibleIPUpdate`).
 * The OS must carry the address (needsLocalAddress): an Elastic Metal flexible IP by Scaleway's
 * docs; a routed Instance IP arrives addressed to itself (no NAT) and Scaleway provisions only
 * what is attached at boot (metadata public_ips_v4, DHCP for the first) — a live move is not
 * configured for the OS (unverified; adding an address that is already there is harmless).
 */
import { isIP } from 'node:net';
import { inSubnet } from '../ip.js';
import {
  CloudError,
  type CloudErrorKind,
  type CloudProvider,
  type ProviderFactory,
  type ProviderSettings,
} from '../types.js';
import {
  bodyDetail,
  checkedId,
  httpRequest,
  optionMs,
  parseRetryAfter,
  resetEpochToMs,
  trimBase,
  type HttpRequest,
  type HttpResponse,
  type ProviderDialect,
} from '../http.js';
import { followAction, type ActionState } from '../action-poll.js';

export const SCALEWAY_API_URL = 'https://api.scaleway.com';
export const SCALEWAY_METADATA_URL = 'http://169.254.42.42';
/** Pages of 100 IPs looked through to find the address: 1,000 IPs. */
const MAX_PAGES = 10;
const PER_PAGE = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ZONE = /^[a-z]{2}-[a-z]{3}-[1-9]$/;

export type ScalewayMode = 'instance' | 'elastic_metal';

/**
 * Error `type`s whose kind is not the status default: scaleway-sdk-go's scw/errors.go
 * (unmarshalStandardError) lists invalid_arguments, quotas_exceeded, transient_state, not_found,
 * locked, permissions_denied, out_of_stock, resource_expired, denied_authentication,
 * precondition_failed. Only transient_state (a change still pending) passes by waiting:
 * `locked` is a resource Scaleway itself has locked and precondition_failed a precondition
 * (resource_still_in_use, attribute_must_be_set) that no retry meets, so both are invalid.
 */
const KINDS: Record<string, CloudErrorKind> = {
  denied_authentication: 'auth',
  permissions_denied: 'auth',
  // Older answers for an expired key (`resource: account_token`): a credential problem.
  expired: 'auth',
  // 403 by status, but a quota is no credential problem: retrying will not help either.
  quotas_exceeded: 'invalid',
  too_many_requests: 'rate_limited',
  not_found: 'not_found',
  transient_state: 'busy',
  locked: 'invalid',
  precondition_failed: 'invalid',
  invalid_arguments: 'invalid',
  out_of_stock: 'server',
};

/** resource_expired (resource, resource_id, expired_since): the key when refused as 401/403, else the resource. */
function expiredKind(status: number): CloudErrorKind {
  return status === 401 || status === 403 ? 'auth' : 'invalid';
}

/**
 * {"type":"transient_state","message":"…","resource":"instance_ip","resource_id":…,"current_state":…};
 * 429s carry help_message and reset_seconds / reset_at instead of a message.
 */
function detail(b: Record<string, unknown>): { code?: unknown; message?: unknown } {
  const words = [b.message, b.help_message].find((x) => typeof x === 'string' && x !== '') as string | undefined;
  const extra: string[] = [];
  if (typeof b.resource === 'string')
    extra.push(typeof b.resource_id === 'string' ? `${b.resource} ${b.resource_id}` : b.resource);
  if (typeof b.current_state === 'string') extra.push(`state ${b.current_state}`);
  if (Array.isArray(b.details)) {
    for (const d of b.details as Record<string, unknown>[])
      if (typeof d?.argument_name === 'string') extra.push(`${d.argument_name}: ${String(d.reason ?? 'invalid')}`);
  }
  const message = [words, extra.length ? `(${extra.join(', ')})` : undefined].filter(Boolean).join(' ');
  return { code: b.type, ...(message ? { message } : {}) };
}

/** A 429 body's own hint: reset_seconds, or reset_at (RFC 3339). */
function bodyResetMs(body: unknown, now: number): number | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as { reset_seconds?: unknown; reset_at?: unknown };
  if (typeof b.reset_seconds === 'number' && b.reset_seconds >= 0) return Math.round(b.reset_seconds * 1000);
  return typeof b.reset_at === 'string' ? parseRetryAfter(b.reset_at, now) : undefined;
}

/**
 * X-RateLimit-Reset: read as seconds from now, as scaleway-sdk-go did in scw/rate_limit.go at
 * commit 15bff6fd (since replaced by scw/rate_limit_transport.go, a client-side token bucket, and
 * scw/retry.go, which honours Retry-After on 429). A value that can only be a Unix time is read as one.
 */
function resetHeaderMs(value: string | null, now: number): number | undefined {
  if (value === null || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  const n = Number(value);
  return n > 1e9 ? resetEpochToMs(value, now) : Math.round(n * 1000);
}

/**
 * The dialect of one request: it keeps the error body it parses so that a 429's hint in the body
 * (after Retry-After, before the reset header) can be read when the helper asks for one.
 */
function dialectFor(name: string): ProviderDialect {
  let last: unknown;
  return {
    name,
    errorDetail: (body) => {
      last = body;
      return bodyDetail(body, detail);
    },
    classify: (status, code) => {
      if (code === 'resource_expired') return expiredKind(status);
      const k = code !== undefined ? KINDS[code] : undefined;
      if (k) return k;
      // scaleway-sdk-go's RetryPolicy (scw/retry.go) also retries 408 and 409.
      if (status === 429) return 'rate_limited';
      if (status === 408) return 'timeout';
      if (status === 409) return 'busy';
      return undefined;
    },
    retryAfterMs: (h, now) => bodyResetMs(last, now) ?? resetHeaderMs(h.get('x-ratelimit-reset'), now),
  };
}

interface InstanceIp {
  id?: unknown;
  address?: unknown;
  prefix?: unknown;
  server?: { id?: unknown } | null;
  state?: unknown;
}
interface FlexibleIp {
  id?: unknown;
  ip_address?: unknown;
  server_id?: unknown;
  status?: unknown;
}

class Scaleway implements CloudProvider {
  readonly name = 'scaleway';
  readonly needsLocalAddress = true;
  private readonly mode: ScalewayMode;
  private readonly api: string;
  private readonly meta: string;
  private readonly pollMs: number;
  private readonly limitMs: number;
  private readonly problems: string[] = [];
  private zone: string | undefined;
  /** The IP's id, configured or found once; undefined for an IPv4 Instance IP named by address. */
  private id: string | undefined;

  constructor(private readonly s: ProviderSettings) {
    this.api = trimBase(s.apiUrl ?? SCALEWAY_API_URL);
    this.meta = trimBase(s.metadataUrl ?? SCALEWAY_METADATA_URL);
    this.pollMs = optionMs(s.options, 'poll_interval', 1000, this.problems);
    this.limitMs = optionMs(s.options, 'action_timeout', 60_000, this.problems);
    const mode = s.options.mode ?? 'instance';
    if (mode !== 'instance' && mode !== 'elastic_metal')
      this.problems.push(`mode must be instance or elastic_metal (got "${mode}")`);
    this.mode = mode === 'elastic_metal' ? 'elastic_metal' : 'instance';
    const zone = s.options.zone;
    if (zone !== undefined && !ZONE.test(zone))
      this.problems.push(`zone must be a Scaleway zone such as fr-par-1 (got "${zone}")`);
    else this.zone = zone;
    const given = s.options.ip_id ?? (UUID.test(s.address) ? s.address : undefined);
    if (given !== undefined && !UUID.test(given))
      this.problems.push(`ip_id must be the flexible IP's UUID (got "${given.slice(0, 40)}")`);
    else this.id = given?.toLowerCase();
    if (given === undefined && isIP(s.address) === 0)
      this.problems.push(`address "${s.address.slice(0, 60)}" is neither an IP address nor a flexible IP id`);
  }

  async whoAmI(): Promise<string> {
    this.check();
    if (this.s.instanceId !== undefined) return serverId(this.s.instanceId, 'instance_id');
    const conf = await this.conf();
    return serverId(typeof conf.id === 'string' ? conf.id : '', 'the metadata service /conf id');
  }

  async holder(): Promise<string | null> {
    this.check();
    if (this.mode === 'elastic_metal') {
      const who = (await this.fip()).server_id;
      return typeof who === 'string' && who !== '' ? who : null;
    }
    const who = (await this.instanceIp()).server?.id;
    return typeof who === 'string' && who !== '' ? who : null;
  }

  async assign(self: string): Promise<void> {
    this.check();
    serverId(self, 'the server to assign to');
    if (this.mode === 'elastic_metal') {
      const id = await this.fipId();
      const path = `${await this.fipBase()}/attach`;
      const r = await this.call({ method: 'POST', base: this.api, path, body: { fips_ids: [id], server_id: self } });
      const first = (r.json as { flexible_ips?: FlexibleIp[] } | undefined)?.flexible_ips?.find((f) => f.id === id);
      if (!first) throw new CloudError('server', `scaleway POST ${path}: answer does not list flexible IP ${id}`);
      await this.settle(`attach of flexible IP ${id} to ${self}`, fipState(first, self, true), async () =>
        fipState(await this.fip(), self, false),
      );
      return;
    }
    const path = await this.ipPath();
    const r = await this.call({ method: 'PATCH', base: this.api, path, body: { server: self } });
    await this.settle(`move of flexible IP ${this.ipRef()} to ${self}`, ipState(ipOf(r, path), self, true), async () =>
      ipState(await this.instanceIp(), self, false),
    );
  }

  /** The change is done, failed, or followed by polls of the IP. */
  private async settle(what: string, first: ActionState, poll: () => Promise<ActionState>): Promise<void> {
    if (first.state === 'done') return;
    if (first.state === 'failed') throw new CloudError('server', `scaleway ${what} ended in error: ${first.why}`);
    await followAction(
      {
        what: `scaleway ${what}`,
        intervalMs: this.pollMs,
        limitMs: this.limitMs,
        ...(this.s.signal ? { signal: this.s.signal } : {}),
      },
      poll,
    );
  }

  private async instanceIp(): Promise<InstanceIp> {
    const path = await this.ipPath();
    return ipOf(await this.call({ method: 'GET', base: this.api, path }), path);
  }

  private async fip(): Promise<FlexibleIp> {
    const path = `${await this.fipBase()}/${await this.fipId()}`;
    const f = (await this.call({ method: 'GET', base: this.api, path })).json as FlexibleIp | undefined;
    if (!f || typeof f !== 'object' || f.id === undefined)
      throw new CloudError('server', `scaleway GET ${path}: answer is not a flexible IP`);
    return f;
  }

  private async ipPath(): Promise<string> {
    const base = `/instance/v1/zones/${await this.zoneOf()}/ips`;
    if (this.id === undefined && isIP(this.s.address) === 6) {
      this.id = await this.lookup(
        base,
        'ips',
        (page) => `${base}?per_page=${PER_PAGE}&page=${page}`,
        (ip: InstanceIp) =>
          ip.address === this.s.address || (typeof ip.prefix === 'string' && covers(ip.prefix, this.s.address)),
      );
    }
    return `${base}/${this.ipRef()}`;
  }

  private ipRef(): string {
    return this.id ?? this.s.address;
  }

  private async fipBase(): Promise<string> {
    return `/flexible-ip/v1alpha1/zones/${await this.zoneOf()}/fips`;
  }

  private async fipId(): Promise<string> {
    if (this.id !== undefined) return this.id;
    const base = await this.fipBase();
    return (this.id = await this.lookup(
      base,
      'flexible_ips',
      (page) => `${base}?page=${page}&page_size=${PER_PAGE}`,
      (f: FlexibleIp) => typeof f.ip_address === 'string' && covers(f.ip_address, this.s.address),
    ));
  }

  /** Pages through a list (bounded) for the configured address; the hit's id. */
  private async lookup<T extends { id?: unknown }>(
    base: string,
    key: string,
    pagePath: (page: number) => string,
    hit: (x: T) => boolean,
  ): Promise<string> {
    for (let page = 1; page <= MAX_PAGES; page++) {
      const list =
        (
          (await this.call({ method: 'GET', base: this.api, path: pagePath(page) })).json as
            Record<string, T[] | undefined> | undefined
        )?.[key] ?? [];
      const found = list.find(hit);
      if (found && typeof found.id === 'string') return found.id;
      if (list.length < PER_PAGE) break;
    }
    throw new CloudError(
      'not_found',
      `scaleway: no flexible IP ${this.s.address} in zone ${await this.zoneOf()} (looked through GET ${base})`,
    );
  }

  private async zoneOf(): Promise<string> {
    if (this.zone !== undefined) return this.zone;
    await this.conf();
    return this.zone!;
  }

  /** The metadata document; it also gives the zone when none is configured. */
  private async conf(): Promise<{ id?: unknown }> {
    const r = await httpRequest(this.s, dialectFor('scaleway metadata'), {
      method: 'GET',
      base: this.meta,
      path: '/conf?format=json',
    });
    const conf = r.json as { id?: unknown; location?: { zone_id?: unknown } } | undefined;
    if (!conf || typeof conf !== 'object')
      throw new CloudError('server', 'scaleway metadata GET /conf?format=json: answer is not JSON');
    if (this.zone === undefined) {
      const z = conf.location?.zone_id;
      if (typeof z !== 'string' || !ZONE.test(z))
        throw new CloudError(
          'invalid',
          `scaleway: the metadata service gave no zone (location.zone_id "${String(z).slice(0, 40)}"); ` +
            'set the zone option',
        );
      this.zone = z;
    }
    return conf;
  }

  private call(req: HttpRequest): Promise<HttpResponse> {
    return httpRequest(this.s, dialectFor('scaleway'), {
      ...req,
      headers: { 'x-auth-token': this.s.token, ...req.headers },
    });
  }

  private check(): void {
    if (this.problems.length) throw new CloudError('invalid', `scaleway: ${this.problems.join('; ')}`);
  }
}

function ipOf(r: HttpResponse, path: string): InstanceIp {
  const ip = (r.json as { ip?: InstanceIp } | undefined)?.ip;
  if (!ip || typeof ip !== 'object') throw new CloudError('server', `scaleway ${path}: answer has no "ip" object`);
  return ip;
}

/**
 * An Instance IP after a PATCH: `pending` while Scaleway applies it, then `attached` to whom it
 * names. The PATCH's own answer may still show the old server (`first`: keep polling); a poll
 * that finds it settled elsewhere means another node moved it meanwhile: fail now, not at the
 * poll limit.
 */
function ipState(ip: InstanceIp, self: string, first: boolean): ActionState {
  if (ip.state === 'error') return { state: 'failed', why: 'the IP is in state error' };
  const who = ip.server?.id;
  if (ip.state !== 'pending' && who === self) return { state: 'done' };
  if (ip.state === 'pending' || first) return { state: 'running' };
  return { state: 'failed', why: `the IP settled ${typeof who === 'string' ? `on ${who}` : 'detached'}` };
}

/** An Elastic Metal flexible IP: `updating`/`detaching` are transient (the SDK's waitForFlexibleIP). */
function fipState(f: FlexibleIp, self: string, first: boolean): ActionState {
  if (f.status === 'error' || f.status === 'locked') return { state: 'failed', why: `status ${f.status}` };
  if (f.status === 'attached' && f.server_id === self) return { state: 'done' };
  if (f.status === 'updating' || f.status === 'detaching' || first) return { state: 'running' };
  const where = typeof f.server_id === 'string' && f.server_id !== '' ? `attached to ${f.server_id}` : 'detached';
  return { state: 'failed', why: `status ${String(f.status)}, ${where}` };
}

/** A flexible IPv6 is a /64 ("2001:db8::/64"); the configured address is one inside it. */
function covers(ipOrCidr: string, address: string): boolean {
  const slash = ipOrCidr.indexOf('/');
  if (slash < 0) return ipOrCidr === address;
  return inSubnet(address, ipOrCidr.slice(0, slash), Number(ipOrCidr.slice(slash + 1)));
}

const serverId = (v: string, from: string): string => checkedId('scaleway', 'a server UUID', UUID, v, from);

export const scaleway: ProviderFactory = (s) => new Scaleway(s);
