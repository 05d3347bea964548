/**
 * DigitalOcean API + droplet metadata emulator (reserved IPs, the legacy floating_ips mirror,
 * reserved IPv6). Shapes follow DO's OpenAPI spec (see shared/reference/cloud-apis.md §1):
 * actions start "in-progress" and complete after `actionDelayMs`; meanwhile the IP is
 * `locked` and a new action is refused with 422 "…already has a pending event". A droplet
 * holds at most one reserved IP per family, and assigning the IP it already holds is refused
 * with 422 too (DO's flipop notes both). Every response carries ratelimit-* headers (the hourly
 * limit); a 429 from the per-minute burst limit adds retry-after, one from the hourly limit
 * does not (ratelimit-reset says when the oldest request expires). Metadata: one server per
 * droplet, `reserved_ip/ipv4/active` follows the shared state as actions complete.
 */
import { isIP } from 'node:net';
import { Faults } from './faults.js';
import {
  EmuError,
  commonHandle,
  listenOf,
  Timers,
  serveTree,
  startApiServer,
  startMetadataServers,
  type EmuRequest,
  type EmulatorHandle,
  type ListenOptions,
  type MetaTree,
  type RateLimit,
  type Reply,
  type Route,
} from './kit.js';

export interface DoDropletSpec {
  id: number;
  name?: string;
  region?: string;
}
export interface DoReservedIpSpec {
  ip: string;
  dropletId?: number | null;
  region?: string;
  /**
   * A BYOIP address: its actions never show on the actions endpoints (404), as DO's Terraform
   * provider found (terraform-provider-digitalocean#1557/#1558); only the IP itself tells.
   */
  byoip?: boolean;
}

export interface DigitalOceanEmulatorOptions extends ListenOptions {
  token: string;
  droplets: DoDropletSpec[];
  reservedIps: DoReservedIpSpec[];
  /** How long an assign/unassign action stays in-progress. Default 200 ms. */
  actionDelayMs?: number;
  /** Default 5,000 requests per hour (DO's per-token limit; its 429 has no Retry-After). */
  rateLimit?: RateLimit;
  /** Default 250 requests per minute (DO's burst limit; its 429 carries Retry-After). */
  burstLimit?: RateLimit;
  /** Called after every holder change (serve.ts writes its state file). */
  onChange?: () => void;
  /**
   * The token's scopes (a custom-scoped token). Without `droplet:read` a reserved IP is answered
   * without its `droplet` field (item 20 of issue 15); absent: a full-access token.
   */
  scopes?: string[];
}

export interface DoActionRecord {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: 'assign_ip' | 'unassign_ip';
  started_at: string;
  completed_at: string | null;
  resource_id: number;
  resource_type: 'reserved_ip' | 'floating_ip' | 'reserved_ipv6';
  region_slug: string;
  ip: string;
  dropletId: number | null;
}

export interface DoState {
  /** `busyUntil`: a droplet event (resize, snapshot, another IP action) runs until then (ms). */
  droplets: Map<number, Required<DoDropletSpec> & { busyUntil: number }>;
  ips: Map<
    string,
    { ip: string; region: string; dropletId: number | null; pending: number | undefined; byoip: boolean }
  >;
  actions: Map<number, DoActionRecord>;
}

export interface DigitalOceanEmulator extends EmulatorHandle {
  state: DoState;
  /** Starts some other event on a droplet for `ms` (a resize, a snapshot): assigns to it get 422. */
  dropletEvent(id: number, ms: number): void;
}

const MESSAGES: Partial<Record<number, string>> = {
  400: 'The request was malformed.',
  401: 'Unable to authenticate you.',
  403: 'You do not have access for the attempted action.',
  404: 'The resource you requested could not be found.',
  422: 'The request could not be processed.',
  429: 'API Rate limit exceeded.',
  500: 'Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};
const CODES: Partial<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
};

function macFor(id: number): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `02:00:00:00:${hex((id >> 8) & 255)}:${hex(id & 255)}`;
}

/** DO's action resource_id for an IPv4 is the address as a 32-bit integer (doctl#493). */
function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

const NOUN = { reserved_ip: 'reserved IP', floating_ip: 'floating IP', reserved_ipv6: 'reserved IPv6' } as const;

const COLLECTIONS = [
  { path: 'reserved_ips', key: 'reserved_ip', resource: 'reserved_ip', family: 4 },
  { path: 'floating_ips', key: 'floating_ip', resource: 'floating_ip', family: 4 },
  { path: 'reserved_ipv6', key: 'reserved_ipv6', resource: 'reserved_ipv6', family: 6 },
] as const;
type Collection = (typeof COLLECTIONS)[number];

export async function startDigitalOceanEmulator(o: DigitalOceanEmulatorOptions): Promise<DigitalOceanEmulator> {
  const faults = new Faults();
  const metadataFaults = new Faults();
  const timers = new Timers();
  const delay = o.actionDelayMs ?? 200;
  const state: DoState = { droplets: new Map(), ips: new Map(), actions: new Map() };
  for (const d of o.droplets)
    state.droplets.set(d.id, { id: d.id, name: d.name ?? `droplet-${d.id}`, region: d.region ?? 'nyc3', busyUntil: 0 });
  for (const r of o.reservedIps)
    state.ips.set(r.ip, {
      ip: r.ip,
      region: r.region ?? 'nyc3',
      dropletId: r.dropletId ?? null,
      pending: undefined,
      byoip: r.byoip ?? false,
    });
  let nextAction = 1_000_001;

  const region = (slug: string): unknown => ({
    name: slug,
    slug,
    features: ['metadata'],
    available: true,
    sizes: ['s-1vcpu-1gb'],
  });
  const dropletJson = (id: number): unknown => {
    const d = state.droplets.get(id);
    if (!d) return null;
    return {
      id: d.id,
      name: d.name,
      memory: 1024,
      vcpus: 1,
      disk: 25,
      locked: false,
      status: 'active',
      region: region(d.region),
      tags: [],
      networks: { v4: [], v6: [] },
    };
  };
  const ipJson = (c: Collection, ip: string): unknown => {
    const r = state.ips.get(ip)!;
    const droplet =
      o.scopes && !o.scopes.includes('droplet:read')
        ? {}
        : { droplet: r.dropletId === null ? null : dropletJson(r.dropletId) };
    if (c.family === 6) return { ip: r.ip, region_slug: r.region, ...droplet, reserved_at: '2026-01-01T00:00:00Z' };
    return {
      ip: r.ip,
      region: region(r.region),
      ...droplet,
      locked: r.pending !== undefined,
      project_id: '746c6152-2fa2-11ed-92d3-27aaa54e4988',
    };
  };
  const actionJson = (a: DoActionRecord): unknown => ({
    id: a.id,
    status: a.status,
    type: a.type,
    started_at: a.started_at,
    completed_at: a.completed_at,
    resource_id: a.resource_id,
    resource_type: a.resource_type,
    region: region(a.region_slug),
    region_slug: a.region_slug,
    project_id: '746c6152-2fa2-11ed-92d3-27aaa54e4988',
  });
  const find = (c: Collection, ip: string): NonNullable<ReturnType<DoState['ips']['get']>> => {
    const r = state.ips.get(ip);
    if (!r || isIP(ip) !== c.family) throw new EmuError(404, MESSAGES[404]!);
    return r;
  };

  const startAction = (c: Collection, ip: string, body: unknown, req: EmuRequest): Reply => {
    const r = find(c, ip);
    const b = (body ?? {}) as { type?: unknown; droplet_id?: unknown };
    if (b.type !== 'assign' && b.type !== 'unassign') throw new EmuError(422, 'type must be one of assign, unassign');
    let target: number | null = null;
    if (b.type === 'assign') {
      // assign-ip (DO's own tutorial script) sends droplet_id as a string; accept both.
      const n =
        typeof b.droplet_id === 'number'
          ? b.droplet_id
          : typeof b.droplet_id === 'string' && /^\d+$/.test(b.droplet_id)
            ? Number(b.droplet_id)
            : NaN;
      if (!Number.isInteger(n)) throw new EmuError(422, 'droplet_id is required for assign and must be an integer');
      const d = state.droplets.get(n);
      if (!d) throw new EmuError(422, 'Droplet not found.');
      if (d.region !== r.region)
        throw new EmuError(422, `The droplet is in ${d.region}, the reserved IP in ${r.region}.`);
      target = n;
    }
    if (r.pending !== undefined) throw new EmuError(422, `The ${NOUN[c.resource]} already has a pending event.`);
    // terraform-provider-digitalocean#1034/#1565: a droplet busy with any event refuses too.
    if (target !== null && state.droplets.get(target)!.busyUntil > Date.now())
      throw new EmuError(422, 'Droplet already has a pending event.');
    if (target !== null) {
      const has = [...state.ips.values()].find((x) => x.dropletId === target && isIP(x.ip) === c.family);
      if (has) throw new EmuError(422, 'The droplet already has a reserved IP assigned.');
    } else if (r.dropletId === null) throw new EmuError(422, `The ${NOUN[c.resource]} is not assigned.`);
    const fails = faults.take(req.method, req.path, ['action_error']) !== undefined;
    const a: DoActionRecord = {
      id: nextAction++,
      status: 'in-progress',
      type: b.type === 'assign' ? 'assign_ip' : 'unassign_ip',
      started_at: new Date().toISOString(),
      completed_at: null,
      resource_id: c.family === 4 ? ipv4ToInt(ip) : 0,
      resource_type: c.resource,
      region_slug: r.region,
      ip,
      dropletId: target,
    };
    state.actions.set(a.id, a);
    r.pending = a.id;
    if (target !== null) {
      const d = state.droplets.get(target)!;
      d.busyUntil = Math.max(d.busyUntil, Date.now() + delay);
    }
    timers.after(delay, () => {
      r.pending = undefined;
      a.completed_at = new Date().toISOString();
      if (fails) {
        a.status = 'errored';
        return;
      }
      a.status = 'completed';
      r.dropletId = target;
      o.onChange?.();
    });
    return { status: 201, body: { action: actionJson(a) } };
  };

  const getAction = (id: string, ip?: string): Reply => {
    const a = state.actions.get(Number(id));
    if (!a || (ip !== undefined && a.ip !== ip) || state.ips.get(a.ip)?.byoip) throw new EmuError(404, MESSAGES[404]!);
    return { status: 200, body: { action: actionJson(a) } };
  };

  const routes: Route[] = [];
  for (const c of COLLECTIONS) {
    const base = `^/v2/${c.path}`;
    routes.push(
      {
        method: 'GET',
        pattern: new RegExp(`${base}/?$`),
        handle: (r) => {
          const all = [...state.ips.keys()].filter((ip) => isIP(ip) === c.family);
          const perPage = Math.min(200, Number(r.query.get('per_page') ?? 20) || 20);
          const page = Math.max(1, Number(r.query.get('page') ?? 1) || 1);
          const items = all.slice((page - 1) * perPage, page * perPage).map((ip) => ipJson(c, ip));
          return { status: 200, body: { [`${c.key}s`]: items, links: {}, meta: { total: all.length } } };
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`${base}/([^/]+)$`),
        handle: (r) => {
          find(c, r.params[0]!);
          return { status: 200, body: { [c.key]: ipJson(c, r.params[0]!) } };
        },
      },
      {
        method: 'POST',
        pattern: new RegExp(`${base}/([^/]+)/actions$`),
        handle: (r) => startAction(c, r.params[0]!, r.body, r),
      },
      {
        method: 'GET',
        pattern: new RegExp(`${base}/([^/]+)/actions$`),
        handle: (r) => {
          find(c, r.params[0]!);
          const list = [...state.actions.values()]
            .filter((a) => a.ip === r.params[0] && !state.ips.get(a.ip)?.byoip)
            .map(actionJson);
          return { status: 200, body: { actions: list, links: {}, meta: { total: list.length } } };
        },
      },
      {
        method: 'GET',
        pattern: new RegExp(`${base}/([^/]+)/actions/(\\d+)$`),
        handle: (r) => {
          find(c, r.params[0]!);
          return getAction(r.params[1]!, r.params[0]!);
        },
      },
    );
  }
  routes.push({ method: 'GET', pattern: /^\/v2\/actions\/(\d+)$/, handle: (r) => getAction(r.params[0]!) });

  let handle: DigitalOceanEmulator | undefined;
  const api = await startApiServer({
    provider: 'digitalocean',
    token: o.token,
    faults,
    routes,
    rateLimit: o.rateLimit ?? { limit: 5000, windowMs: 3_600_000 },
    burstLimit: o.burstLimit ?? { limit: 250, windowMs: 60_000 },
    style: {
      error: (status, message, code) => ({
        id: code ?? CODES[status] ?? (status >= 500 ? 'server_error' : 'error'),
        message,
        request_id: `req-${Date.now()}`,
      }),
      rateLimitPrefix: 'ratelimit-',
      retryAfterOn429: false,
      messages: MESSAGES,
    },
    control: () => handle!,
    ...listenOf(o),
  });

  const metaTree = (id: number): MetaTree => {
    const d = state.droplets.get(id)!;
    const held = (family: number): string | undefined =>
      [...state.ips.values()].find((x) => x.dropletId === id && isIP(x.ip) === family)?.ip;
    const ripDir = (): MetaTree => {
      const v4 = held(4);
      const v6 = held(6);
      return {
        ipv4: { active: v4 ? 'true' : 'false', ip_address: v4 },
        ipv6: { active: v6 ? 'true' : 'false', ip_address: v6 },
      };
    };
    const anchor = `10.17.${Math.floor(id / 256) % 256}.${id % 256}`;
    return {
      metadata: {
        v1: {
          id: String(id),
          hostname: d.name,
          region: d.region,
          'user-data': '',
          'vendor-data': '',
          'public-keys': '',
          tags: '',
          interfaces: {
            public: {
              '0': {
                mac: macFor(id),
                type: 'public',
                anchor_ipv4: { address: anchor, netmask: '255.255.0.0', gateway: '10.17.0.1' },
              },
            },
          },
          reserved_ip: ripDir(),
          floating_ip: { ipv4: ripDir().ipv4 as MetaTree },
        },
      },
    };
  };
  const metadataJson = (id: number): unknown => {
    const d = state.droplets.get(id)!;
    const v4 = [...state.ips.values()].find((x) => x.dropletId === id && isIP(x.ip) === 4)?.ip;
    const fip = v4 ? { ipv4: { active: true, ip_address: v4 } } : { ipv4: { active: false } };
    return {
      droplet_id: id,
      hostname: d.name,
      region: d.region,
      public_keys: [],
      vendor_data: '',
      interfaces: { public: [], private: [] },
      floating_ip: fip,
      reserved_ip: fip,
      dns: { nameservers: [] },
      features: { dhcp_enabled: false },
    };
  };
  const meta = await startMetadataServers(
    [...state.droplets.keys()].map(String),
    metadataFaults,
    (inst, r) => {
      if (r.method !== 'GET') return { status: 405, text: 'method not allowed' };
      if (r.path === '/metadata/v1.json') return { status: 200, body: metadataJson(Number(inst)) };
      return serveTree(metaTree(Number(inst)), r.path);
    },
    o.host !== undefined ? { host: o.host } : {},
  );

  const holderOf = (ip: string): string | null => {
    const r = state.ips.get(ip);
    if (!r) throw new Error(`emulator has no reserved IP ${ip}`);
    return r.dropletId === null ? null : String(r.dropletId);
  };
  handle = {
    ...commonHandle('digitalocean', {
      api,
      meta,
      faults,
      metadataFaults,
      timers,
      holders: () => Object.fromEntries([...state.ips.keys()].map((ip) => [ip, holderOf(ip)])),
    }),
    holder: holderOf,
    setHolder(ip, inst) {
      const r = state.ips.get(ip);
      if (!r) throw new Error(`emulator has no reserved IP ${ip}`);
      // A drift moves the address outright, as the control panel would (no action, no lock).
      for (const other of state.ips.values())
        if (inst !== null && other !== r && other.dropletId === Number(inst) && isIP(other.ip) === isIP(ip))
          other.dropletId = null;
      r.dropletId = inst === null ? null : Number(inst);
      o.onChange?.();
    },
    state,
    dropletEvent(id, ms) {
      const d = state.droplets.get(id);
      if (!d) throw new Error(`emulator has no droplet ${id}`);
      d.busyUntil = Math.max(d.busyUntil, Date.now() + ms);
    },
  };
  return handle;
}
