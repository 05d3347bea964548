/**
 * Hetzner Cloud API + server metadata emulator (floating IPs). Shapes follow Hetzner's
 * OpenAPI spec and hcloud-go's schema (shared/reference/cloud-apis.md §2.1-2.2): assign and
 * unassign return 201 with a `running` action that ends `success` (or `error`, by fault) after
 * `actionDelayMs`; meanwhile the floating IP and the target server are locked and a new action
 * gets 423 `locked`. Reassigning to another server is allowed (what every keepalived script
 * relies on); assigning to the server that already holds it is 422 `floating_ip_assigned`, and
 * `refuseReassign` makes that answer cover any assigned IP (the stricter reading of the spec).
 * Rate limit headers RateLimit-Limit/Remaining/Reset; no Retry-After on the limiter's 429.
 */
import { isIP } from 'node:net';
import { Faults } from './faults.js';
import {
  EmuError,
  commonHandle,
  listenOf,
  Timers,
  startApiServer,
  startMetadataServers,
  type EmuRequest,
  type EmulatorHandle,
  type ListenOptions,
  type RateLimit,
  type Reply,
  type Route,
} from './kit.js';

export interface HetznerEmulatorOptions extends ListenOptions {
  token: string;
  servers: { id: number; name?: string; location?: string }[];
  floatingIps: { ip: string; server?: number | null; id?: number; location?: string }[];
  /** How long an action stays running. Default 200 ms. */
  actionDelayMs?: number;
  /** 422 floating_ip_assigned whenever the IP is assigned at all (unassign first). */
  refuseReassign?: boolean;
  /** Default 3600 per hour (Hetzner's per-project limit). */
  rateLimit?: RateLimit;
  onChange?: () => void;
}

interface Fip {
  id: number;
  ip: string;
  type: 'ipv4' | 'ipv6';
  server: number | null;
  location: string;
  locked: number | undefined;
}
interface HAction {
  id: number;
  command: string;
  status: 'running' | 'success' | 'error';
  progress: number;
  started: string;
  finished: string | null;
  resources: { id: number; type: string }[];
  error: { code: string; message: string } | null;
}

export interface HetznerState {
  servers: Map<number, { id: number; name: string; location: string; locked: number | undefined }>;
  fips: Map<number, Fip>;
  actions: Map<number, HAction>;
}

export interface HetznerEmulator extends EmulatorHandle {
  state: HetznerState;
}

const CODES: Partial<Record<number, string>> = {
  400: 'json_error',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  422: 'invalid_input',
  423: 'locked',
  429: 'rate_limit_exceeded',
  500: 'server_error',
  503: 'unavailable',
  504: 'timeout',
};
const MESSAGES: Partial<Record<number, string>> = {
  401: 'unable to authenticate',
  403: 'insufficient permissions',
  404: 'not found',
  423: 'resource is locked',
  429: 'limit of 3600 requests per hour reached',
  500: 'internal server error',
  503: 'service unavailable',
};

const location = (name: string): unknown => ({
  id: 1,
  name,
  description: `${name} location`,
  country: 'DE',
  city: 'Falkenstein',
  latitude: 50.47612,
  longitude: 12.370071,
  network_zone: 'eu-central',
});

export async function startHetznerEmulator(o: HetznerEmulatorOptions): Promise<HetznerEmulator> {
  const faults = new Faults();
  const metadataFaults = new Faults();
  const timers = new Timers();
  const delay = o.actionDelayMs ?? 200;
  const state: HetznerState = { servers: new Map(), fips: new Map(), actions: new Map() };
  for (const s of o.servers)
    state.servers.set(s.id, {
      id: s.id,
      name: s.name ?? `server-${s.id}`,
      location: s.location ?? 'fsn1',
      locked: undefined,
    });
  o.floatingIps.forEach((f, i) => {
    const id = f.id ?? 4711 + i;
    const v6 = isIP(f.ip) === 6;
    state.fips.set(id, {
      id,
      ip: v6 ? `${f.ip.replace(/\/\d+$/, '')}/64` : f.ip,
      type: v6 ? 'ipv6' : 'ipv4',
      server: f.server ?? null,
      location: f.location ?? 'fsn1',
      locked: undefined,
    });
  });
  let nextAction = 13;

  const fipJson = (f: Fip): unknown => ({
    id: f.id,
    name: `fip-${f.id}`,
    description: '',
    ip: f.ip,
    type: f.type,
    server: f.server,
    dns_ptr: [],
    home_location: location(f.location),
    blocked: false,
    protection: { delete: false },
    labels: {},
    created: '2026-01-01T00:00:00+00:00',
  });
  const actionJson = (a: HAction): unknown => ({ ...a });
  const fipOf = (id: string): Fip => {
    const f = state.fips.get(Number(id));
    if (!f) throw new EmuError(404, 'Floating IP not found');
    return f;
  };

  const act = (r: EmuRequest, command: 'assign' | 'unassign'): Reply => {
    const f = fipOf(r.params[0]!);
    let target: number | null = null;
    if (command === 'assign') {
      const srv = (r.body as { server?: unknown } | undefined)?.server;
      if (typeof srv !== 'number' || !Number.isInteger(srv))
        throw new EmuError(422, 'invalid input in field "server"', 'invalid_input');
      const s = state.servers.get(srv);
      if (!s) throw new EmuError(404, `server with ID '${srv}' not found`);
      if (f.locked !== undefined || s.locked !== undefined)
        throw new EmuError(423, 'resource is locked by another action', 'locked');
      if (f.server === srv || (o.refuseReassign && f.server !== null))
        throw new EmuError(422, 'floating ip is already assigned', 'floating_ip_assigned');
      target = srv;
    } else if (f.locked !== undefined) throw new EmuError(423, 'resource is locked by another action', 'locked');
    const fails = faults.take(r.method, r.path, ['action_error']) !== undefined;
    const a: HAction = {
      id: nextAction++,
      command: `${command}_floating_ip`,
      status: 'running',
      progress: 0,
      started: new Date().toISOString(),
      finished: null,
      resources: [...(target !== null ? [{ id: target, type: 'server' }] : []), { id: f.id, type: 'floating_ip' }],
      error: null,
    };
    state.actions.set(a.id, a);
    const srv = target !== null ? state.servers.get(target) : undefined;
    f.locked = a.id;
    if (srv) srv.locked = a.id;
    timers.after(delay, () => {
      f.locked = undefined;
      if (srv) srv.locked = undefined;
      a.finished = new Date().toISOString();
      a.progress = 100;
      if (fails) {
        a.status = 'error';
        a.error = { code: 'action_failed', message: 'Action failed' };
        return;
      }
      a.status = 'success';
      f.server = target;
      o.onChange?.();
    });
    return { status: 201, body: { action: actionJson(a) } };
  };
  const getAction = (id: string): Reply => {
    const a = state.actions.get(Number(id));
    if (!a) throw new EmuError(404, 'action not found');
    return { status: 200, body: { action: actionJson(a) } };
  };

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/v1\/floating_ips\/?$/,
      handle: (r) => {
        const name = r.query.get('name');
        const all = [...state.fips.values()].filter((f) => name === null || `fip-${f.id}` === name);
        const perPage = Math.min(50, Number(r.query.get('per_page') ?? 25) || 25);
        const page = Math.max(1, Number(r.query.get('page') ?? 1) || 1);
        const last = Math.max(1, Math.ceil(all.length / perPage));
        return {
          status: 200,
          body: {
            floating_ips: all.slice((page - 1) * perPage, page * perPage).map(fipJson),
            meta: {
              pagination: {
                page,
                per_page: perPage,
                previous_page: page > 1 ? page - 1 : null,
                next_page: page < last ? page + 1 : null,
                last_page: last,
                total_entries: all.length,
              },
            },
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/floating_ips\/(\d+)$/,
      handle: (r) => ({ status: 200, body: { floating_ip: fipJson(fipOf(r.params[0]!)) } }),
    },
    { method: 'POST', pattern: /^\/v1\/floating_ips\/(\d+)\/actions\/assign$/, handle: (r) => act(r, 'assign') },
    { method: 'POST', pattern: /^\/v1\/floating_ips\/(\d+)\/actions\/unassign$/, handle: (r) => act(r, 'unassign') },
    {
      method: 'GET',
      pattern: /^\/v1\/floating_ips\/(\d+)\/actions\/(\d+)$/,
      handle: (r) => {
        fipOf(r.params[0]!);
        return getAction(r.params[1]!);
      },
    },
    { method: 'GET', pattern: /^\/v1\/actions\/(\d+)$/, handle: (r) => getAction(r.params[0]!) },
    {
      method: 'GET',
      pattern: /^\/v1\/servers\/?$/,
      handle: (r) => {
        const name = r.query.get('name');
        const list = [...state.servers.values()]
          .filter((s) => name === null || s.name === name)
          .map((s) => ({ id: s.id, name: s.name, status: 'running', datacenter: { location: location(s.location) } }));
        return {
          status: 200,
          body: {
            servers: list,
            meta: {
              pagination: {
                page: 1,
                per_page: 25,
                previous_page: null,
                next_page: null,
                last_page: 1,
                total_entries: list.length,
              },
            },
          },
        };
      },
    },
  ];

  let handle: HetznerEmulator | undefined;
  const api = await startApiServer({
    provider: 'hetzner',
    token: o.token,
    faults,
    routes,
    rateLimit: o.rateLimit ?? { limit: 3600, windowMs: 3_600_000 },
    style: {
      error: (status, message, code) => ({
        error: {
          code: code ?? CODES[status] ?? (status >= 500 ? 'server_error' : 'invalid_input'),
          message,
          details: null,
        },
      }),
      rateLimitPrefix: 'RateLimit-',
      retryAfterOn429: false,
      messages: MESSAGES,
    },
    control: () => handle!,
    ...listenOf(o),
  });

  const metadata = (id: number): Record<string, string> => {
    const s = state.servers.get(id)!;
    return {
      'instance-id': String(id),
      hostname: s.name,
      'public-ipv4': `198.51.100.${(id % 250) + 1}`,
      region: 'eu-central',
      'availability-zone': `${s.location}-dc14`,
      'private-networks': '[]',
    };
  };
  const meta = await startMetadataServers(
    [...state.servers.keys()].map(String),
    metadataFaults,
    (inst, r) => {
      if (r.method !== 'GET') return { status: 405, text: 'method not allowed' };
      const m = metadata(Number(inst));
      const base = '/hetzner/v1/metadata';
      if (r.path === base || r.path === `${base}/`)
        return {
          status: 200,
          text:
            Object.entries(m)
              .map(([k, v]) => `${k}: ${v}`)
              .join('\n') + '\n',
        };
      const leaf = r.path.startsWith(`${base}/`) ? m[r.path.slice(base.length + 1)] : undefined;
      return leaf === undefined ? { status: 404, text: 'not found' } : { status: 200, text: leaf };
    },
    o.host !== undefined ? { host: o.host } : {},
  );

  const byIp = (ip: string): Fip => {
    const f = [...state.fips.values()].find((x) => x.ip === ip || x.ip === `${ip}/64`);
    if (!f) throw new Error(`emulator has no floating IP ${ip}`);
    return f;
  };
  handle = {
    ...commonHandle('hetzner', {
      api,
      meta,
      faults,
      metadataFaults,
      timers,
      holders: () =>
        Object.fromEntries([...state.fips.values()].map((f) => [f.ip, f.server === null ? null : String(f.server)])),
    }),
    holder: (ip) => {
      const s = byIp(ip).server;
      return s === null ? null : String(s);
    },
    setHolder(ip, inst) {
      byIp(ip).server = inst === null ? null : Number(inst);
      o.onChange?.();
    },
    state,
  };
  return handle;
}
