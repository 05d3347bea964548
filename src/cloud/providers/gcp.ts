/**
 * Google Compute Engine: an alias IP range (`mode alias`, the default) or a static route
 * (`mode route`) moved between VMs, with plain REST calls (no Google SDK).
 *   whoAmI:  metadata GET /computeMetadata/v1/instance/name (or instance_id from the config);
 *            the project (project/project-id) and our zone (instance/zone = projects/N/zones/Z)
 *            come from the metadata server too unless `project` / `zone` are set.
 *   token:   token_file / token_env (an OAuth2 access token); when empty, metadata GET
 *            instance/service-accounts/default/token, kept until shortly before expires_in.
 * mode alias (the guest agent puts alias IPs on the OS; needsLocalAddress false):
 *   holder:  GET …/zones/{z}/instances/{the VM last seen holding it} (one call while it stays
 *            there), else GET …/aggregated/instances?maxResults=500 (at most 10 pages, every zone,
 *            so a pair across zones works) → the VM with the range in a NIC's aliasIpRanges.
 *   assign:  GET …/zones/{z}/instances/{self} (fingerprint); on the holder PATCH
 *            …/instances/{h}/updateNetworkInterface?networkInterface=nicN {"aliasIpRanges":[…
 *            without it],"fingerprint"} → GET …/zones/{zh}/operations/{op} until DONE; then the
 *            same PATCH on ourselves with the range appended (subnetworkRangeName from
 *            alias_range) and polls until DONE. A range is on one VM at a time: remove, then add.
 * mode route (the OS must carry the address; needsLocalAddress true):
 *   holder:  GET …/global/routes/{name} → nextHopInstance (404: nobody).
 *   assign:  DELETE …/global/routes/{name} → GET …/global/operations/{op} until DONE; POST
 *            …/global/routes {"name","network","destRange","nextHopInstance","priority"} → polls
 *            until DONE. Routes cannot be edited in place, hence delete then insert.
 * Errors are {"error":{"code","message","errors":[{"reason"}]}}: a stale fingerprint (412
 * conditionNotMet), another operation on the VM (400 resourceNotReady) and 409 are 'busy';
 * 403 with reason rateLimitExceeded / userRateLimitExceeded is 'rate_limited', any other 403
 * is 'auth' (a missing IAM permission).
 */
import { isIP } from 'node:net';
import { CloudError, type CloudProvider, type ProviderFactory, type ProviderSettings } from '../types.js';
import { bodyDetail, checkedId, httpRequest, optionMs, trimBase, type HttpRequest, type HttpResponse, type ProviderDialect } from '../http.js';
import { realClock } from '../../util/clock.js';
import { ipBytes } from '../../util/ip.js';
import { followAction, type ActionState } from '../action-poll.js';

export const GCP_API_URL = 'https://compute.googleapis.com';
/** The metadata server by its link-local address: no DNS needed (metadata.google.internal is the same server). */
export const GCP_METADATA_URL = 'http://169.254.169.254';
/** How resource URLs are written in request bodies (full URLs are accepted everywhere; partial ones not always). */
const RESOURCE_BASE = 'https://www.googleapis.com/compute/v1';
/** Pages of 500 instances looked through to find the holder: 5,000 VMs. */
const MAX_PAGES = 10;
/**
 * Compute's quota 429s (and the older 403 rateLimitExceeded) carry no Retry-After: Google's
 * quota service gives none. Rate quotas are counted per minute, so wait a few seconds rather
 * than the reconciler's first quarter-second backoff; its backoff grows if the limit persists.
 */
const RATE_LIMIT_WAIT_MS = 5000;
const RATE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'RATE_LIMIT_EXCEEDED']);
/** RFC 1035 names: instances, routes, subnetwork ranges. */
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Project ids, optionally domain-scoped ("example.com:my-project"). */
const PROJECT = /^([a-z0-9][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const ZONE = /^[a-z]+(-[a-z]+)*[0-9]+-[a-z]$/;
const NIC = /^nic[0-9]+$/;
const OPERATION = /^[A-Za-z0-9_-]{1,128}$/;

const dialect: ProviderDialect = {
  name: 'gcp',
  errorDetail: (body) => bodyDetail(body, (b) => {
    const e = b.error as { message?: unknown; status?: unknown; errors?: { reason?: unknown }[] } | undefined;
    if (!e || typeof e !== 'object') return undefined;
    const reason = Array.isArray(e.errors) ? e.errors[0]?.reason : undefined;
    return { code: typeof reason === 'string' ? reason : e.status, message: e.message };
  }),
  classify(status, code) {
    if (status === 403 && code !== undefined && RATE_REASONS.has(code)) return 'rate_limited';
    // A resource quota (routes per network, …): retrying soon cannot help, and it is no auth problem.
    if (status === 403 && code === 'quotaExceeded') return 'invalid';
    if (status === 412 || status === 409) return 'busy';
    if (status === 400 && code === 'resourceNotReady') return 'busy';
    return undefined;
  },
  retryAfterMs: () => RATE_LIMIT_WAIT_MS,
};
const metaDialect: ProviderDialect = { ...dialect, name: 'gcp metadata' };

interface AliasRange { ipCidrRange?: unknown; subnetworkRangeName?: unknown }
interface Nic { name?: unknown; network?: unknown; fingerprint?: unknown; aliasIpRanges?: unknown }
interface Instance { name?: unknown; zone?: unknown; networkInterfaces?: unknown }
interface Operation { name?: unknown; status?: unknown; error?: { errors?: { code?: unknown; message?: unknown }[] } }
interface Route { destRange?: unknown; network?: unknown; nextHopInstance?: unknown; nextHopIp?: unknown; nextHopGateway?: unknown; nextHopIlb?: unknown }
interface Where { name: string; zone: string }
interface Held { where: Where; inst: Instance; nic: Nic }

/** "203.0.113.10" → "203.0.113.10/32"; a range must start on its prefix boundary. Error text when not. */
export function normRange(text: string, v4only: boolean): { range: string } | { error: string } {
  const parts = text.trim().toLowerCase().split('/');
  const ip = parts[0] ?? '';
  const fam = isIP(ip);
  if (fam === 0 || parts.length > 2) return { error: `"${text}" is not an IP address or range` };
  if (v4only && fam === 6) return { error: `alias IP ranges are IPv4 ("${text}"); use mode route for IPv6` };
  const max = fam === 4 ? 32 : 128;
  const len = parts[1] === undefined ? max : /^\d{1,3}$/.test(parts[1]) ? Number(parts[1]) : NaN;
  if (!(len >= 0 && len <= max)) return { error: `"${text}" has no valid prefix length (0..${max})` };
  if (fam === 4 && len < 32) {
    const n = ipBytes(ip, 4)?.readUInt32BE(0) ?? 0;
    if (n % 2 ** (32 - len) !== 0) return { error: `"${text}" does not start on a /${len} boundary` };
  }
  return { range: `${ip}/${len}` };
}

/** The last path segment after `key/` in a resource URL (zones/Z, instances/N, networks/N). */
function segment(url: unknown, key: string): string | undefined {
  if (typeof url !== 'string') return undefined;
  const m = new RegExp(`(?:^|/)${key}/([^/]+)$`).exec(url) ?? new RegExp(`(?:^|/)${key}/([^/]+)/`).exec(url);
  return m?.[1];
}

function nicsOf(i: Instance): Nic[] {
  return Array.isArray(i.networkInterfaces) ? (i.networkInterfaces as Nic[]) : [];
}

function rangesOf(n: Nic): AliasRange[] {
  return Array.isArray(n.aliasIpRanges) ? (n.aliasIpRanges as AliasRange[]) : [];
}

/** The alias ranges as they go back into a PATCH body (only the two fields the API takes). */
function bodyRanges(rs: AliasRange[]): { ipCidrRange: string; subnetworkRangeName?: string }[] {
  return rs.filter((r) => typeof r.ipCidrRange === 'string').map((r) => ({
    ipCidrRange: r.ipCidrRange as string,
    ...(typeof r.subnetworkRangeName === 'string' ? { subnetworkRangeName: r.subnetworkRangeName } : {}),
  }));
}

function opState(op: Operation | undefined): ActionState {
  if (op?.status !== 'DONE') return { state: 'running' };
  const errs = op.error?.errors;
  if (!Array.isArray(errs) || errs.length === 0) return { state: 'done' };
  const why = errs.map((e) => [e.code, e.message].filter((x): x is string => typeof x === 'string').join(': ')).join('; ');
  return { state: 'failed', why: why || 'error' };
}

const instanceName = (v: string, from: string): string => checkedId('gcp', 'an instance name', NAME, v, from);

class Gcp implements CloudProvider {
  readonly name = 'gcp';
  readonly needsLocalAddress: boolean;
  private readonly mode: 'alias' | 'route';
  private readonly api: string;
  private readonly meta: string;
  private readonly pollMs: number;
  private readonly limitMs: number;
  private readonly problems: string[] = [];
  private readonly range: string = '';
  private readonly nic: string;
  private readonly routeName: string;
  private project: string | undefined;
  private zone: string | undefined;
  private network: string | undefined;
  /** Where the range was last seen (alias mode): asked first, so a steady holder costs one call. */
  private last: Where | undefined;
  /** An access token from the metadata server, and until when it is used. */
  private access: { token: string; until: number } | undefined;

  private wallMs(): number { return (this.s.clock ?? realClock).wallMs(); }

  constructor(private readonly s: ProviderSettings) {
    const o = s.options;
    this.api = trimBase(s.apiUrl ?? GCP_API_URL).replace(/\/compute\/v1$/, '');
    this.meta = trimBase(s.metadataUrl ?? GCP_METADATA_URL).replace(/\/computeMetadata\/v1$/, '');
    this.pollMs = optionMs(o, 'poll_interval', 1000, this.problems);
    this.limitMs = optionMs(o, 'action_timeout', 60_000, this.problems);
    const mode = o.mode ?? 'alias';
    if (mode !== 'alias' && mode !== 'route') this.problems.push(`option mode must be alias or route (got "${mode}")`);
    this.mode = mode === 'route' ? 'route' : 'alias';
    this.needsLocalAddress = this.mode === 'route';
    const r = normRange(s.address, this.mode === 'alias');
    if ('error' in r) this.problems.push(`address ${r.error}`);
    else this.range = r.range;
    this.nic = o.network_interface ?? 'nic0';
    if (!NIC.test(this.nic)) this.problems.push(`option network_interface must be nic0, nic1, … (got "${this.nic}")`);
    this.project = o.project;
    if (this.project !== undefined && !PROJECT.test(this.project)) this.problems.push(`option project must be a project id (got "${this.project}")`);
    this.zone = o.zone;
    if (this.zone !== undefined && !ZONE.test(this.zone)) this.problems.push(`option zone must be a zone name such as europe-west1-b (got "${this.zone}")`);
    if (o.alias_range !== undefined && !NAME.test(o.alias_range)) this.problems.push(`option alias_range must be a subnet secondary range name (got "${o.alias_range}")`);
    this.routeName = o.ip_id ?? `floatd-${this.range.replace(/[.:/]/g, '-')}`;
    if (!NAME.test(this.routeName)) this.problems.push(`option ip_id must be a route name (lowercase letters, digits, '-'; got "${this.routeName}")`);
    if (o.network !== undefined) {
      if (NAME.test(o.network)) this.network = `global/networks/${o.network}`;
      else if (/(^|\/)networks\/[a-z]([-a-z0-9]*[a-z0-9])?$/.test(o.network)) this.network = o.network;
      else this.problems.push(`option network must be a VPC network name or URL (got "${o.network}")`);
    }
    if (this.mode === 'alias') {
      // Route-only options in alias mode are a sign the block means something else: say so.
      for (const k of ['ip_id', 'network'] as const) if (o[k] !== undefined) this.problems.push(`option ${k} applies to mode route only`);
    } else if (o.alias_range !== undefined) this.problems.push('option alias_range applies to mode alias only');
  }

  async whoAmI(): Promise<string> {
    this.check();
    if (this.s.instanceId !== undefined) return instanceName(this.s.instanceId, 'instance_id');
    return instanceName((await this.metaGet('instance/name')).text.trim(), 'the metadata server instance/name');
  }

  async holder(): Promise<string | null> {
    this.check();
    if (this.mode === 'route') return this.routeHolder(await this.getRoute());
    return (await this.findHolder())?.where.name ?? null;
  }

  async assign(self: string): Promise<void> {
    this.check();
    instanceName(self, 'the instance to assign to');
    if (this.mode === 'route') await this.assignRoute(self);
    else await this.assignAlias(self);
  }

  // ---- alias mode ----

  private async assignAlias(self: string): Promise<void> {
    const zone = await this.selfZone();
    const me = await this.instance({ name: self, zone });
    if (this.nicWith(me)) { this.last = { name: self, zone }; return; }
    const mine = nicsOf(me).find((n) => n.name === this.nic);
    if (!mine) throw new CloudError('invalid', `gcp: instance ${self} has no network interface ${this.nic}`);
    const h = await this.findHolder(self);
    if (h) {
      const left = rangesOf(h.nic).filter((x) => !this.isOurs(x));
      await this.updateNic(h.where, h.nic, left, `remove ${this.range} from ${h.where.name}`);
    }
    const add = { ipCidrRange: this.range, ...(this.s.options.alias_range ? { subnetworkRangeName: this.s.options.alias_range } : {}) };
    try {
      // Our own fingerprint is still current: changing another VM's NIC does not touch it.
      await this.updateNic({ name: self, zone }, mine, [...rangesOf(mine), add], `add ${this.range} to ${self}`);
    } catch (e) {
      // Refused because another VM took the range after we freed it: a race, not a wrong request.
      if (e instanceof CloudError && e.kind === 'invalid') {
        const now = await this.findHolder(self).catch(() => null);
        if (now && now.where.name !== self) throw new CloudError('busy', `${e.message} (${this.range} is now on ${now.where.name})`, { status: 400 });
      }
      throw e;
    }
    this.last = { name: self, zone };
  }

  /** The VM holding the range: the one last seen first, else a look through every zone. */
  private async findHolder(skip?: string): Promise<Held | null> {
    const last = this.last;
    if (last && last.name !== skip) {
      try {
        const inst = await this.instance(last);
        const nic = this.nicWith(inst);
        if (nic) return { where: last, inst, nic };
      } catch (e) {
        if (!(e instanceof CloudError) || e.kind !== 'not_found') throw e; // deleted since: look everywhere
      }
    }
    const found = await this.scan();
    this.last = found?.where;
    return found;
  }

  private async scan(): Promise<Held | null> {
    const base = await this.base();
    let pageToken = '';
    for (let page = 0; page < MAX_PAGES; page++) {
      const path = `${base}/aggregated/instances?maxResults=500${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`;
      const j = (await this.call({ method: 'GET', path })).json as { items?: Record<string, { instances?: unknown }>; nextPageToken?: unknown } | undefined;
      for (const scope of Object.values(j?.items ?? {})) {
        for (const inst of Array.isArray(scope.instances) ? (scope.instances as Instance[]) : []) {
          const nic = this.nicWith(inst);
          if (nic) return { where: this.whereOf(inst, path), inst, nic };
        }
      }
      if (typeof j?.nextPageToken !== 'string' || j.nextPageToken === '') return null;
      pageToken = j.nextPageToken;
    }
    // Not found in the pages looked at is not "nobody": adding it could collide with a VM further on.
    throw new CloudError('invalid', `gcp: ${this.range} not found in the first ${MAX_PAGES * 500} instances of the project (GET ${base}/aggregated/instances)`);
  }

  private async updateNic(w: Where, nic: Nic, ranges: AliasRange[], what: string): Promise<void> {
    const nicName = typeof nic.name === 'string' && NIC.test(nic.name) ? nic.name : undefined;
    if (!nicName || typeof nic.fingerprint !== 'string') throw new CloudError('server', `gcp: instance ${w.name}'s network interface has no name or fingerprint`);
    const base = await this.base();
    const path = `${base}/zones/${w.zone}/instances/${w.name}/updateNetworkInterface?networkInterface=${nicName}`;
    const r = await this.call({ method: 'PATCH', path, body: { aliasIpRanges: bodyRanges(ranges), fingerprint: nic.fingerprint } });
    await this.waitOp(r.json, `PATCH ${path}`, what, `${base}/zones/${w.zone}/operations/`);
  }

  private async instance(w: Where): Promise<Instance> {
    const path = `${await this.base()}/zones/${w.zone}/instances/${w.name}`;
    const j = (await this.call({ method: 'GET', path })).json as Instance | undefined;
    if (!j || !Array.isArray(j.networkInterfaces)) throw new CloudError('server', `gcp GET ${path}: answer has no "networkInterfaces"`);
    return j;
  }

  private nicWith(i: Instance): Nic | undefined {
    return nicsOf(i).find((n) => rangesOf(n).some((r) => this.isOurs(r)));
  }

  private isOurs(r: AliasRange): boolean {
    if (typeof r.ipCidrRange !== 'string') return false;
    const n = normRange(r.ipCidrRange, false);
    return 'range' in n && n.range === this.range;
  }

  /** Name and zone of an instance from a list answer, checked before they go into a path. */
  private whereOf(i: Instance, path: string): Where {
    const zone = segment(i.zone, 'zones');
    if (typeof i.name !== 'string' || !NAME.test(i.name) || !zone || !ZONE.test(zone)) throw new CloudError('server', `gcp GET ${path}: an instance without a usable name or zone`);
    return { name: i.name, zone };
  }

  // ---- route mode ----

  private async getRoute(): Promise<Route | null> {
    const path = `${await this.base()}/global/routes/${this.routeName}`;
    let j: Route | undefined;
    try {
      j = (await this.call({ method: 'GET', path })).json as Route | undefined;
    } catch (e) {
      if (e instanceof CloudError && e.kind === 'not_found') return null;
      throw e;
    }
    if (!j || typeof j.destRange !== 'string') throw new CloudError('server', `gcp GET ${path}: answer has no "destRange"`);
    const dest = normRange(j.destRange, false);
    if (!('range' in dest) || dest.range !== this.range) {
      throw new CloudError('invalid', `gcp: route ${this.routeName} is for ${j.destRange}, not ${this.range}; name another route with ip_id`);
    }
    return j;
  }

  /** The next hop's instance name; another kind of next hop is named by its kind (someone else). */
  private routeHolder(r: Route | null): string | null {
    if (!r) return null;
    const inst = segment(r.nextHopInstance, 'instances');
    if (inst) return inst;
    for (const k of ['nextHopIp', 'nextHopIlb', 'nextHopGateway'] as const) {
      const v = r[k];
      if (typeof v === 'string') return `${k} ${v.split('/').pop() ?? v}`;
    }
    return 'another next hop';
  }

  private async assignRoute(self: string): Promise<void> {
    const zone = await this.selfZone();
    const project = await this.projectId();
    const base = await this.base();
    const route = await this.getRoute();
    if (this.routeHolder(route) === self) return;
    let network = this.network ?? (route && typeof route.network === 'string' ? route.network : undefined);
    const path = `${base}/global/routes/${this.routeName}`;
    if (route) {
      try {
        const r = await this.call({ method: 'DELETE', path });
        await this.waitOp(r.json, `DELETE ${path}`, `delete route ${this.routeName}`, `${base}/global/operations/`);
      } catch (e) {
        if (!(e instanceof CloudError) || e.kind !== 'not_found') throw e; // already gone: insert ours
      }
    }
    network ??= await this.selfNetwork({ name: self, zone });
    const body = {
      name: this.routeName,
      network: network.startsWith('https://') ? network : `${RESOURCE_BASE}/${network.startsWith('projects/') ? '' : `projects/${project}/`}${network}`,
      destRange: this.range,
      nextHopInstance: `${RESOURCE_BASE}/projects/${project}/zones/${zone}/instances/${self}`,
      priority: 1000,
      description: `floatd floating address ${this.range}`,
    };
    const r = await this.call({ method: 'POST', path: `${base}/global/routes`, body });
    await this.waitOp(r.json, `POST ${base}/global/routes`, `insert route ${this.routeName} via ${self}`, `${base}/global/operations/`);
  }

  /** The VPC network of our interface, for the route (once; `network` overrides). */
  private async selfNetwork(w: Where): Promise<string> {
    const nic = nicsOf(await this.instance(w)).find((n) => n.name === this.nic);
    if (!nic || typeof nic.network !== 'string') throw new CloudError('invalid', `gcp: instance ${w.name} has no network interface ${this.nic}; set option network`);
    return (this.network = nic.network);
  }

  // ---- shared ----

  /** Follows a zone or global operation until DONE, from the answer that started it. */
  private async waitOp(json: unknown, where: string, what: string, opsPath: string): Promise<void> {
    const op = json as Operation | undefined;
    if (!op || typeof op.name !== 'string' || !OPERATION.test(op.name)) throw new CloudError('server', `gcp ${where}: answer is not an operation`);
    const label = `gcp operation ${op.name} (${what})`;
    const first = opState(op);
    if (first.state === 'failed') throw new CloudError('server', `${label} ended in error: ${first.why}`);
    if (first.state === 'done') return;
    const path = opsPath + op.name;
    await followAction(
      { what: label, intervalMs: this.pollMs, limitMs: this.limitMs, ...(this.s.signal ? { signal: this.s.signal } : {}) },
      async () => opState((await this.call({ method: 'GET', path })).json as Operation | undefined),
    );
  }

  private async base(): Promise<string> {
    return `/compute/v1/projects/${await this.projectId()}`;
  }

  private async projectId(): Promise<string> {
    if (this.project === undefined) {
      const v = (await this.metaGet('project/project-id')).text.trim();
      if (!PROJECT.test(v)) throw new CloudError('invalid', `gcp: the metadata server project/project-id gave "${v.slice(0, 64)}", not a project id`);
      this.project = v;
    }
    return this.project;
  }

  private async selfZone(): Promise<string> {
    if (this.zone === undefined) {
      const v = (await this.metaGet('instance/zone')).text.trim();
      const z = segment(v, 'zones') ?? '';
      if (!ZONE.test(z)) throw new CloudError('invalid', `gcp: the metadata server instance/zone gave "${v.slice(0, 64)}", not projects/N/zones/ZONE`);
      this.zone = z;
    }
    return this.zone;
  }

  /** One metadata request; an answer without the Metadata-Flavor header is not Google's server. */
  private async metaGet(path: string): Promise<HttpResponse> {
    const full = `/computeMetadata/v1/${path}`;
    const r = await httpRequest({ ...this.s, token: '' }, metaDialect, { method: 'GET', base: this.meta, path: full, headers: { 'metadata-flavor': 'Google', accept: 'text/plain, application/json' } });
    if (r.headers.get('metadata-flavor') !== 'Google') {
      throw new CloudError('invalid', `gcp metadata GET ${full}: the answer has no "Metadata-Flavor: Google", so it is not a Compute Engine metadata server (set project, zone and instance_id, or metadata_url)`);
    }
    return r;
  }

  /** The configured token, or the VM's service-account token from the metadata server. */
  private async accessToken(): Promise<string> {
    if (this.s.token !== '') return this.s.token;
    const now = this.wallMs();
    if (this.access && now < this.access.until) return this.access.token;
    let r: HttpResponse;
    try {
      r = await this.metaGet('instance/service-accounts/default/token');
    } catch (e) {
      if (e instanceof CloudError && e.kind === 'not_found') {
        throw new CloudError('auth', 'gcp: this VM has no service account (metadata instance/service-accounts/default/token → 404); attach one or set token_file', { status: 404 });
      }
      throw e;
    }
    const j = r.json as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof j?.access_token !== 'string' || j.access_token === '') throw new CloudError('server', 'gcp metadata GET /computeMetadata/v1/instance/service-accounts/default/token: answer has no access_token');
    const ttl = typeof j.expires_in === 'number' && j.expires_in > 0 ? j.expires_in : 0;
    // Renewed a minute early (half the lifetime if shorter), so it never expires mid-failover.
    this.access = { token: j.access_token, until: now + (ttl - Math.min(60, ttl / 2)) * 1000 };
    return j.access_token;
  }

  private async call(req: Omit<HttpRequest, 'base'>): Promise<HttpResponse> {
    const token = await this.accessToken();
    try {
      return await httpRequest({ ...this.s, token }, dialect, { ...req, base: this.api, headers: { authorization: `Bearer ${token}`, ...req.headers } });
    } catch (e) {
      // A metadata token refused (revoked, or expired early): fetch a new one next time.
      if (e instanceof CloudError && e.status === 401 && this.s.token === '') this.access = undefined;
      throw e;
    }
  }

  private check(): void {
    if (this.problems.length) throw new CloudError('invalid', `gcp: ${this.problems.join('; ')}`);
  }
}

export const gcp: ProviderFactory = (s) => new Gcp(s);
