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
 * This file is the driver; the metadata server, token, REST calls and operations are in
 * gcp-session.ts, the answer shapes, error dialect and pure helpers in gcp-compute.ts.
 */
import { CloudError, type CloudProvider, type ProviderFactory, type ProviderSettings } from '../types.js';
import { optionMs, trimBase } from '../http.js';
import {
  bodyRanges,
  instanceName,
  NAME,
  NIC,
  nicsOf,
  normRange,
  PROJECT,
  rangesOf,
  segment,
  ZONE,
  type AliasRange,
  type Held,
  type Instance,
  type Nic,
  type Route,
  type Where,
} from './gcp-compute.js';
import { GcpSession } from './gcp-session.js';

export { normRange } from './gcp-compute.js';

export const GCP_API_URL = 'https://compute.googleapis.com';
/** The metadata server by its link-local address: no DNS needed (metadata.google.internal is the same server). */
export const GCP_METADATA_URL = 'http://169.254.169.254';
/** How resource URLs are written in request bodies (full URLs are accepted everywhere; partial ones not always). */
const RESOURCE_BASE = 'https://www.googleapis.com/compute/v1';
/** Pages of 500 instances looked through to find the holder: 5,000 VMs. */
const MAX_PAGES = 10;

class Gcp implements CloudProvider {
  readonly name = 'gcp';
  readonly needsLocalAddress: boolean;
  private readonly mode: 'alias' | 'route';
  private readonly gce: GcpSession;
  private readonly problems: string[] = [];
  private readonly range: string = '';
  private readonly nic: string;
  private readonly routeName: string;
  private network: string | undefined;
  /** Where the range was last seen (alias mode): asked first, so a steady holder costs one call. */
  private last: Where | undefined;

  constructor(private readonly s: ProviderSettings) {
    const o = s.options;
    this.gce = new GcpSession(s, {
      api: trimBase(s.apiUrl ?? GCP_API_URL).replace(/\/compute\/v1$/, ''),
      meta: trimBase(s.metadataUrl ?? GCP_METADATA_URL).replace(/\/computeMetadata\/v1$/, ''),
      pollMs: optionMs(o, 'poll_interval', 1000, this.problems),
      limitMs: optionMs(o, 'action_timeout', 60_000, this.problems),
      project: o.project,
      zone: o.zone,
    });
    const mode = o.mode ?? 'alias';
    if (mode !== 'alias' && mode !== 'route') this.problems.push(`option mode must be alias or route (got "${mode}")`);
    this.mode = mode === 'route' ? 'route' : 'alias';
    this.needsLocalAddress = this.mode === 'route';
    const r = normRange(s.address, this.mode === 'alias');
    if ('error' in r) this.problems.push(`address ${r.error}`);
    else this.range = r.range;
    this.nic = o.network_interface ?? 'nic0';
    if (!NIC.test(this.nic)) this.problems.push(`option network_interface must be nic0, nic1, … (got "${this.nic}")`);
    if (o.project !== undefined && !PROJECT.test(o.project))
      this.problems.push(`option project must be a project id (got "${o.project}")`);
    if (o.zone !== undefined && !ZONE.test(o.zone))
      this.problems.push(`option zone must be a zone name such as europe-west1-b (got "${o.zone}")`);
    if (o.alias_range !== undefined && !NAME.test(o.alias_range))
      this.problems.push(`option alias_range must be a subnet secondary range name (got "${o.alias_range}")`);
    this.routeName = o.ip_id ?? `floatd-${this.range.replace(/[.:/]/g, '-')}`;
    if (!NAME.test(this.routeName))
      this.problems.push(`option ip_id must be a route name (lowercase letters, digits, '-'; got "${this.routeName}")`);
    if (o.network !== undefined) {
      if (NAME.test(o.network)) this.network = `global/networks/${o.network}`;
      else if (/(^|\/)networks\/[a-z]([-a-z0-9]*[a-z0-9])?$/.test(o.network)) this.network = o.network;
      else this.problems.push(`option network must be a VPC network name or URL (got "${o.network}")`);
    }
    if (this.mode === 'alias') {
      // Route-only options in alias mode are a sign the block means something else: say so.
      for (const k of ['ip_id', 'network'] as const)
        if (o[k] !== undefined) this.problems.push(`option ${k} applies to mode route only`);
    } else if (o.alias_range !== undefined) this.problems.push('option alias_range applies to mode alias only');
  }

  async whoAmI(): Promise<string> {
    this.check();
    if (this.s.instanceId !== undefined) return instanceName(this.s.instanceId, 'instance_id');
    return instanceName((await this.gce.metaGet('instance/name')).text.trim(), 'the metadata server instance/name');
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
    const zone = await this.gce.selfZone();
    const me = await this.instance({ name: self, zone });
    if (this.nicWith(me)) {
      this.last = { name: self, zone };
      return;
    }
    const mine = nicsOf(me).find((n) => n.name === this.nic);
    if (!mine) throw new CloudError('invalid', `gcp: instance ${self} has no network interface ${this.nic}`);
    const h = await this.findHolder(self);
    if (h) {
      const left = rangesOf(h.nic).filter((x) => !this.isOurs(x));
      await this.updateNic(h.where, h.nic, left, `remove ${this.range} from ${h.where.name}`);
    }
    const add = {
      ipCidrRange: this.range,
      ...(this.s.options.alias_range ? { subnetworkRangeName: this.s.options.alias_range } : {}),
    };
    try {
      // Our own fingerprint is still current: changing another VM's NIC does not touch it.
      await this.updateNic({ name: self, zone }, mine, [...rangesOf(mine), add], `add ${this.range} to ${self}`);
    } catch (e) {
      // Refused because another VM took the range after we freed it: a race, not a wrong request.
      if (e instanceof CloudError && e.kind === 'invalid') {
        const now = await this.findHolder(self).catch(() => null);
        if (now && now.where.name !== self)
          throw new CloudError('busy', `${e.message} (${this.range} is now on ${now.where.name})`, { status: 400 });
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
    const base = await this.gce.base();
    let pageToken = '';
    for (let page = 0; page < MAX_PAGES; page++) {
      const path =
        `${base}/aggregated/instances?maxResults=500` +
        `${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`;
      const j = (await this.gce.call({ method: 'GET', path })).json as
        { items?: Record<string, { instances?: unknown }>; nextPageToken?: unknown } | undefined;
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
    throw new CloudError(
      'invalid',
      `gcp: ${this.range} not found in the first ${MAX_PAGES * 500} instances of the project ` +
        `(GET ${base}/aggregated/instances)`,
    );
  }

  private async updateNic(w: Where, nic: Nic, ranges: AliasRange[], what: string): Promise<void> {
    const nicName = typeof nic.name === 'string' && NIC.test(nic.name) ? nic.name : undefined;
    if (!nicName || typeof nic.fingerprint !== 'string')
      throw new CloudError('server', `gcp: instance ${w.name}'s network interface has no name or fingerprint`);
    const base = await this.gce.base();
    const path = `${base}/zones/${w.zone}/instances/${w.name}/updateNetworkInterface?networkInterface=${nicName}`;
    const r = await this.gce.call({
      method: 'PATCH',
      path,
      body: { aliasIpRanges: bodyRanges(ranges), fingerprint: nic.fingerprint },
    });
    await this.gce.waitOp(r.json, `PATCH ${path}`, what, `${base}/zones/${w.zone}/operations/`);
  }

  private async instance(w: Where): Promise<Instance> {
    const path = `${await this.gce.base()}/zones/${w.zone}/instances/${w.name}`;
    const j = (await this.gce.call({ method: 'GET', path })).json as Instance | undefined;
    if (!j || !Array.isArray(j.networkInterfaces))
      throw new CloudError('server', `gcp GET ${path}: answer has no "networkInterfaces"`);
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
    if (typeof i.name !== 'string' || !NAME.test(i.name) || !zone || !ZONE.test(zone))
      throw new CloudError('server', `gcp GET ${path}: an instance without a usable name or zone`);
    return { name: i.name, zone };
  }

  // ---- route mode ----

  private async getRoute(): Promise<Route | null> {
    const path = `${await this.gce.base()}/global/routes/${this.routeName}`;
    let j: Route | undefined;
    try {
      j = (await this.gce.call({ method: 'GET', path })).json as Route | undefined;
    } catch (e) {
      if (e instanceof CloudError && e.kind === 'not_found') return null;
      throw e;
    }
    if (!j || typeof j.destRange !== 'string')
      throw new CloudError('server', `gcp GET ${path}: answer has no "destRange"`);
    const dest = normRange(j.destRange, false);
    if (!('range' in dest) || dest.range !== this.range) {
      throw new CloudError(
        'invalid',
        `gcp: route ${this.routeName} is for ${j.destRange}, not ${this.range}; name another route with ip_id`,
      );
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
    const zone = await this.gce.selfZone();
    const project = await this.gce.projectId();
    const base = await this.gce.base();
    const route = await this.getRoute();
    if (this.routeHolder(route) === self) return;
    let network = this.network ?? (route && typeof route.network === 'string' ? route.network : undefined);
    const path = `${base}/global/routes/${this.routeName}`;
    if (route) {
      try {
        const r = await this.gce.call({ method: 'DELETE', path });
        await this.gce.waitOp(r.json, `DELETE ${path}`, `delete route ${this.routeName}`, `${base}/global/operations/`);
      } catch (e) {
        if (!(e instanceof CloudError) || e.kind !== 'not_found') throw e; // already gone: insert ours
      }
    }
    network ??= await this.selfNetwork({ name: self, zone });
    const body = {
      name: this.routeName,
      network: network.startsWith('https://')
        ? network
        : `${RESOURCE_BASE}/${network.startsWith('projects/') ? '' : `projects/${project}/`}${network}`,
      destRange: this.range,
      nextHopInstance: `${RESOURCE_BASE}/projects/${project}/zones/${zone}/instances/${self}`,
      priority: 1000,
      description: `floatd floating address ${this.range}`,
    };
    const r = await this.gce.call({ method: 'POST', path: `${base}/global/routes`, body });
    await this.gce.waitOp(
      r.json,
      `POST ${base}/global/routes`,
      `insert route ${this.routeName} via ${self}`,
      `${base}/global/operations/`,
    );
  }

  /** The VPC network of our interface, for the route (once; `network` overrides). */
  private async selfNetwork(w: Where): Promise<string> {
    const nic = nicsOf(await this.instance(w)).find((n) => n.name === this.nic);
    if (!nic || typeof nic.network !== 'string')
      throw new CloudError(
        'invalid',
        `gcp: instance ${w.name} has no network interface ${this.nic}; set option network`,
      );
    return (this.network = nic.network);
  }

  private check(): void {
    if (this.problems.length) throw new CloudError('invalid', `gcp: ${this.problems.join('; ')}`);
  }
}

export const gcp: ProviderFactory = (s) => new Gcp(s);
