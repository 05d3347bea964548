/**
 * Scaleway emulator: the Instance API's flexible IPs (v1), the Elastic Metal Flexible IP API
 * (v1alpha1) and each server's metadata service (/conf). Shapes per the Scaleway SDKs and
 * terraform-provider-scaleway's recorded answers (shared/reference/cloud-apis.md §7):
 *   - auth is `X-Auth-Token`; a wrong or missing key is 401 `denied_authentication`;
 *   - errors are {"type","message",…} with resource/resource_id/current_state/details where
 *     Scaleway gives them;
 *   - Instances: PATCH /ips/{id|address} {"server":…} answers 200 with the IP `pending` (still
 *     showing the old server) and takes effect after `actionDelayMs` (`attached`; `error` by
 *     fault `action_error`); a change to a `pending` IP is 409 `transient_state`. Naming a new
 *     server moves an attached IP directly. `instantInstance` answers with the change applied
 *     (what terraform-provider-scaleway's recordings show for a quick move);
 *   - Elastic Metal: POST /fips/attach|detach answers 200 {"total_count","flexible_ips"} with
 *     status `updating`/`detaching`; then `attached`/`ready` (or `error`). An unknown flexible IP
 *     id is 403 `permissions_denied`, as Scaleway answers for a deleted one (terraform-provider-
 *     scaleway's flexible IP read treats 403 like 404);
 *   - throttling: 429 `too_many_requests` with Retry-After and X-RateLimit-Limit/Remaining/Reset,
 *     Reset in seconds from now as scaleway-sdk-go reads it. Scaleway publishes no API-wide limit;
 *     the default here is 50 requests a second.
 */
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Faults } from './faults.js';
import {
  Timers,
  commonHandle,
  listenOf,
  startApiServer,
  startMetadataServers,
  type EmuRequest,
  type EmulatorHandle,
  type ListenOptions,
  type RateLimit,
  type Reply,
  type Route,
} from './kit.js';

export type ScalewayProduct = 'instance' | 'elastic_metal';

export interface ScalewayEmulatorOptions extends ListenOptions {
  token: string;
  /** Servers (UUIDs); product defaults to instance, zone to fr-par-1. */
  servers: { id: string; name?: string; zone?: string; product?: ScalewayProduct }[];
  /** Flexible IPs: an IPv4 address, or an IPv6 prefix ("2001:db8::/64" or its first address). */
  ips: { address: string; server?: string | null; id?: string; zone?: string; product?: ScalewayProduct }[];
  /** Delay before a change takes effect. Default 200 ms. */
  actionDelayMs?: number;
  /** Instance PATCH applies the move before answering. */
  instantInstance?: boolean;
  /** Default 50 per second. */
  rateLimit?: RateLimit;
  onChange?: () => void;
}

interface Fip {
  id: string;
  /** IPv4 address, or the IPv6 /64 prefix. */
  ip: string;
  v6: boolean;
  zone: string;
  product: ScalewayProduct;
  server: string | null;
  /** The server a change in progress goes to (null: a detach); undefined when idle. */
  target: string | null | undefined;
  failed: boolean;
  updated: string;
}

interface Srv {
  id: string;
  name: string;
  zone: string;
  product: ScalewayProduct;
}

export interface ScalewayState {
  servers: Map<string, Srv>;
  ips: Map<string, Fip>;
}
export interface ScalewayEmulator extends EmulatorHandle {
  state: ScalewayState;
}

const ORG = '105bdce1-64c0-48ab-899d-868455867ecf';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const TYPES: Partial<Record<number, [string, string]>> = {
  400: ['invalid_arguments', 'invalid argument(s)'],
  401: ['denied_authentication', 'authentication is denied'],
  403: ['permissions_denied', 'insufficient permissions'],
  404: ['not_found', 'resource is not found'],
  409: ['transient_state', 'resource is in a transient state'],
  412: ['precondition_failed', 'precondition failed'],
  423: ['locked', 'resource is locked'],
  429: ['too_many_requests', 'too many requests'],
};

const MESSAGES: Partial<Record<number, string>> = {
  ...Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [k, v![1]])),
  500: 'internal server error',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'gateway timeout',
};

/** Scaleway's error body; 5xx come from the gateway with a message only. */
function errorBody(status: number, message: string, code?: string): Record<string, unknown> {
  const [type, text] = TYPES[status] ?? [undefined, undefined];
  const body: Record<string, unknown> = { message: message || text || `error ${status}` };
  if (code ?? type) body.type = code ?? type;
  if (status === 401) Object.assign(body, { method: 'api_key', reason: 'not_found' });
  if (status === 429) Object.assign(body, { help_message: 'Too many requests, slow down.' });
  return body;
}

/** A failure with the extra fields Scaleway puts beside type and message. */
class ScwError extends Error {
  constructor(
    readonly status: number,
    readonly extra: Record<string, unknown>,
    message = '',
  ) {
    super(message);
  }
}

const uuidFor = (n: number): string => `f1e00000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

export async function startScalewayEmulator(o: ScalewayEmulatorOptions): Promise<ScalewayEmulator> {
  const faults = new Faults();
  const metadataFaults = new Faults();
  const timers = new Timers();
  const delay = o.actionDelayMs ?? 200;
  const state: ScalewayState = { servers: new Map(), ips: new Map() };
  o.servers.forEach((s, n) =>
    state.servers.set(s.id, {
      id: s.id,
      name: s.name ?? `scw-node-${n + 1}`,
      zone: s.zone ?? 'fr-par-1',
      product: s.product ?? 'instance',
    }),
  );
  const now = (): string => new Date().toISOString();
  o.ips.forEach((f, n) => {
    const bare = f.address.replace(/\/\d+$/, '');
    const v6 = isIP(bare) === 6;
    const id = f.id ?? uuidFor(n + 1);
    state.ips.set(id, {
      id,
      ip: v6 ? `${bare}/64` : bare,
      v6,
      zone: f.zone ?? 'fr-par-1',
      product: f.product ?? 'instance',
      server: f.server ?? null,
      target: undefined,
      failed: false,
      updated: now(),
    });
  });

  const serverRef = (s: string | null): unknown => {
    if (s === null) return null;
    return { id: s, name: state.servers.get(s)?.name ?? 'unknown' };
  };
  const ipState = (f: Fip): string =>
    f.target !== undefined ? 'pending' : f.failed ? 'error' : f.server ? 'attached' : 'detached';
  const ipJson = (f: Fip): unknown => ({
    id: f.id,
    address: f.v6 ? null : f.ip,
    prefix: f.v6 ? f.ip : null,
    reverse: null,
    server: serverRef(f.server),
    organization: ORG,
    project: ORG,
    zone: f.zone,
    type: f.v6 ? 'routed_ipv6' : 'routed_ipv4',
    state: ipState(f),
    tags: [],
    ipam_id: f.id,
  });
  const fipStatus = (f: Fip): string =>
    f.target !== undefined
      ? f.target === null
        ? 'detaching'
        : 'updating'
      : f.failed
        ? 'error'
        : f.server
          ? 'attached'
          : 'ready';
  const fipJson = (f: Fip): unknown => ({
    id: f.id,
    organization_id: ORG,
    project_id: ORG,
    description: '',
    tags: [],
    updated_at: f.updated,
    created_at: '2024-08-28T11:35:04.469734Z',
    status: fipStatus(f),
    ip_address: f.ip,
    mac_address: null,
    server_id: f.server,
    reverse: `${f.ip.replace(/[.:/]/g, '-')}.rev.poneytelecom.eu.`,
    zone: f.zone,
  });

  const zoneOk = (zone: string): string => {
    if (!/^[a-z]{2}-[a-z]{3}-[1-9]$/.test(zone))
      throw new ScwError(400, {
        details: [{ argument_name: 'zone', reason: 'constraint', help_message: 'unknown zone' }],
      });
    return zone;
  };
  /** An Instance IP by id or address, in this zone. */
  const instanceIp = (zone: string, ref: string): Fip => {
    const f = [...state.ips.values()].find(
      (x) => x.product === 'instance' && x.zone === zone && (x.id === ref || (!x.v6 && x.ip === ref)),
    );
    if (!f) throw new ScwError(404, { resource: 'instance_ip', resource_id: ref });
    return f;
  };
  const flexibleIp = (zone: string, id: string): Fip => {
    const f = state.ips.get(id);
    if (!f || f.product !== 'elastic_metal' || f.zone !== zone)
      throw new ScwError(403, { details: [{ resource: 'flexible_ip', action: 'read' }] });
    return f;
  };
  const serverIn = (zone: string, id: unknown, product: ScalewayProduct, arg: string): Srv => {
    if (typeof id !== 'string' || !UUID.test(id))
      throw new ScwError(400, { details: [{ argument_name: arg, reason: 'format', help_message: 'must be a UUID' }] });
    const s = state.servers.get(id);
    if (!s || s.zone !== zone || s.product !== product)
      throw new ScwError(404, {
        resource: product === 'instance' ? 'instance_server' : 'baremetal_server',
        resource_id: id,
      });
    return s;
  };

  /** Starts a change of holder; it lands after the delay (or fails, by fault). */
  const change = (f: Fip, r: EmuRequest, to: string | null, instant = false): void => {
    const fails = faults.take(r.method, r.path, ['action_error']) !== undefined;
    f.failed = false;
    f.updated = now();
    const land = (): void => {
      f.target = undefined;
      f.updated = now();
      if (fails) {
        f.failed = true;
        return;
      }
      f.server = to;
      o.onChange?.();
    };
    if (instant) {
      land();
      return;
    }
    f.target = to;
    timers.after(delay, land);
  };
  const transient = (f: Fip, resource: string): void => {
    if (f.target !== undefined)
      throw new ScwError(409, {
        resource,
        resource_id: f.id,
        current_state: f.product === 'instance' ? 'pending' : fipStatus(f),
      });
  };

  const page = <T>(all: T[], r: EmuRequest, sizeKey: string, dflt: number): T[] => {
    const size = Number(r.query.get(sizeKey) ?? dflt);
    if (!Number.isInteger(size) || size < 1 || size > 100)
      throw new ScwError(400, {
        details: [{ argument_name: sizeKey, reason: 'constraint', help_message: 'must be between 1 and 100' }],
      });
    const p = Number(r.query.get('page') ?? 1);
    if (!Number.isInteger(p) || p < 1)
      throw new ScwError(400, {
        details: [{ argument_name: 'page', reason: 'constraint', help_message: 'must be a positive integer' }],
      });
    return all.slice((p - 1) * size, p * size);
  };

  const I = '/instance/v1/zones/([^/]+)';
  const F = '/flexible-ip/v1alpha1/zones/([^/]+)/fips';
  const raw: Route[] = [
    {
      method: 'GET',
      pattern: new RegExp(`^${I}/ips/?$`),
      handle: (r) => {
        const zone = zoneOk(r.params[0]!);
        const name = r.query.get('name');
        const type = r.query.get('type');
        const all = [...state.ips.values()].filter(
          (f) =>
            f.product === 'instance' &&
            f.zone === zone &&
            (name === null || f.ip.includes(name)) &&
            (type === null || type === (f.v6 ? 'routed_ipv6' : 'routed_ipv4')),
        );
        return {
          status: 200,
          headers: { 'x-total-count': String(all.length) },
          body: { ips: page(all, r, 'per_page', 50).map(ipJson) },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${I}/ips/([^/]+)$`),
      handle: (r) => ({ status: 200, body: { ip: ipJson(instanceIp(zoneOk(r.params[0]!), r.params[1]!)) } }),
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^${I}/ips/([^/]+)$`),
      handle: (r) => {
        const zone = zoneOk(r.params[0]!);
        const f = instanceIp(zone, r.params[1]!);
        const body = r.body;
        if (body === null || typeof body !== 'object' || Array.isArray(body))
          throw new ScwError(400, { details: [{ argument_name: 'body', reason: 'format' }] });
        if (!('server' in body)) return { status: 200, body: { ip: ipJson(f) } }; // reverse/tags only: nothing to move
        const to = (body as { server: unknown }).server;
        const target = to === null ? null : serverIn(zone, to, 'instance', 'server').id;
        transient(f, 'instance_ip');
        if (target === f.server && !f.failed) return { status: 200, body: { ip: ipJson(f) } };
        change(f, r, target, o.instantInstance === true);
        return { status: 200, body: { ip: ipJson(f) } };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${I}/servers/([^/]+)$`),
      handle: (r) => {
        const zone = zoneOk(r.params[0]!);
        const s = serverIn(zone, r.params[1], 'instance', 'server_id');
        const ips = [...state.ips.values()].filter((f) => f.product === 'instance' && f.server === s.id);
        return {
          status: 200,
          body: {
            server: {
              id: s.id,
              name: s.name,
              hostname: s.name,
              zone: s.zone,
              state: 'running',
              commercial_type: 'PRO2-XXS',
              routed_ip_enabled: true,
              organization: ORG,
              project: ORG,
              public_ips: ips.map((f) => ({
                id: f.id,
                address: f.v6 ? f.ip.replace(/\/64$/, '1') : f.ip,
                dynamic: false,
                family: f.v6 ? 'inet6' : 'inet',
                state: ipState(f),
              })),
            },
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${F}/?$`),
      handle: (r) => {
        const zone = zoneOk(r.params[0]!);
        const servers = r.query
          .getAll('server_ids')
          .flatMap((x) => x.split(','))
          .filter(Boolean);
        const all = [...state.ips.values()].filter(
          (f) =>
            f.product === 'elastic_metal' &&
            f.zone === zone &&
            (servers.length === 0 || (f.server !== null && servers.includes(f.server))),
        );
        return {
          status: 200,
          body: { total_count: all.length, flexible_ips: page(all, r, 'page_size', 20).map(fipJson) },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${F}/([^/]+)$`),
      handle: (r) => ({ status: 200, body: fipJson(flexibleIp(zoneOk(r.params[0]!), r.params[1]!)) }),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${F}/(attach|detach)$`),
      handle: (r) => {
        const zone = zoneOk(r.params[0]!);
        const b = (r.body ?? {}) as { fips_ids?: unknown; server_id?: unknown };
        if (
          !Array.isArray(b.fips_ids) ||
          b.fips_ids.length === 0 ||
          !b.fips_ids.every((x) => typeof x === 'string' && UUID.test(x))
        ) {
          throw new ScwError(400, {
            details: [{ argument_name: 'fips_ids', reason: 'required', help_message: 'a list of flexible IP UUIDs' }],
          });
        }
        const fips = (b.fips_ids as string[]).map((id) => flexibleIp(zone, id));
        const attach = r.params[1] === 'attach';
        const target = attach ? serverIn(zone, b.server_id, 'elastic_metal', 'server_id').id : null;
        for (const f of fips) transient(f, 'flexible_ip');
        if (!attach && fips.some((f) => f.server === null))
          throw new ScwError(400, {
            details: [{ argument_name: 'fips_ids', reason: 'constraint', help_message: 'flexible IP is not attached' }],
          });
        for (const f of fips) if (f.server !== target || f.failed) change(f, r, target);
        return { status: 200, body: { total_count: fips.length, flexible_ips: fips.map(fipJson) } };
      },
    },
  ];
  const routes = raw.map((rt) => ({ ...rt, handle: withScwErrors(rt.handle) }));

  let handle: ScalewayEmulator | undefined;
  const api = await startApiServer({
    provider: 'scaleway',
    token: o.token,
    faults,
    routes,
    rateLimit: o.rateLimit ?? { limit: 50, windowMs: 1000 },
    style: { error: errorBody, rateLimitPrefix: 'X-RateLimit-', retryAfterOn429: true, messages: MESSAGES },
    control: () => handle!,
    ...listenOf(o),
  });
  // Runs before the kit's handler: the kit checks a Bearer header and writes reset as a Unix time.
  api.server.prependListener('request', scalewayWire);

  const conf = (id: string): Record<string, unknown> => {
    const s = state.servers.get(id)!;
    const mine = [...state.ips.values()].filter((f) => f.server === s.id);
    const pub = (f: Fip, n: number): Record<string, unknown> => ({
      id: f.id,
      address: f.v6 ? f.ip.replace(/\/64$/, '1') : f.ip,
      dynamic: false,
      family: f.v6 ? 'inet6' : 'inet',
      gateway: f.v6 ? 'fe80::1' : '62.210.0.1',
      netmask: f.v6 ? '64' : '32',
      provisioning_mode: f.v6 ? 'slaac' : n === 0 ? 'dhcp' : 'manual',
      state: 'attached',
      tags: [],
      ipam_id: f.id,
    });
    const v4 = mine.filter((f) => !f.v6).map(pub);
    return {
      id: s.id,
      name: s.name,
      hostname: s.name,
      commercial_type: s.product === 'instance' ? 'PRO2-XXS' : 'EM-A115X-SSD',
      organization: ORG,
      project: ORG,
      public_ip: v4[0] ?? null,
      public_ips_v4: v4,
      public_ips_v6: mine.filter((f) => f.v6).map(pub),
      ipv6: null,
      private_ip: null,
      routed_ip_enabled: true,
      enable_ipv6: false,
      tags: [],
      location: { zone_id: s.zone, platform_id: '14', cluster_id: '38', hypervisor_id: '1502', node_id: '7' },
    };
  };
  const meta = await startMetadataServers(
    [...state.servers.keys()],
    metadataFaults,
    (inst, r) => {
      if (r.method !== 'GET') return { status: 405, text: 'method not allowed' };
      if (r.path !== '/conf') return { status: 404, text: 'not found' };
      const doc = conf(inst);
      return r.query.get('format') === 'json' ? { status: 200, body: doc } : { status: 200, text: flatConf(doc) };
    },
    o.host !== undefined ? { host: o.host } : {},
  );

  const byAddress = (address: string): Fip => {
    const bare = address.replace(/\/\d+$/, '');
    const f = [...state.ips.values()].find(
      (x) => x.ip === address || x.ip === bare || x.id === address || (x.v6 && x.ip === `${bare}/64`),
    );
    if (!f) throw new Error(`emulator has no flexible IP ${address}`);
    return f;
  };
  handle = {
    ...commonHandle('scaleway', {
      api,
      meta,
      faults,
      metadataFaults,
      timers,
      holders: () => Object.fromEntries([...state.ips.values()].map((f) => [f.ip, f.server])),
    }),
    holder: (address) => byAddress(address).server,
    setHolder(address, inst) {
      const f = byAddress(address);
      f.server = inst === null ? null : String(inst);
      f.failed = false;
      o.onChange?.();
    },
    state,
  };
  return handle;
}

/** Route handlers answer ScwError with Scaleway's full error body. */
function withScwErrors(h: Route['handle']): Route['handle'] {
  return async (r) => {
    try {
      return await h(r);
    } catch (e) {
      if (!(e instanceof ScwError)) throw e;
      return { status: e.status, body: { ...errorBody(e.status, e.message), ...e.extra } } satisfies Reply;
    }
  };
}

/**
 * Scaleway's wire details the shared kit does not have: the key arrives as X-Auth-Token (the kit
 * compares an Authorization header, so the key is handed over in that form and any Authorization
 * the client sent is dropped), and X-RateLimit-Reset counts seconds from now.
 */
function scalewayWire(req: IncomingMessage, res: ServerResponse): void {
  if ((req.url ?? '').startsWith('/_emulator/')) return;
  const key = req.headers['x-auth-token'];
  delete req.headers.authorization;
  if (typeof key === 'string') req.headers.authorization = `Bearer ${key}`;
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: Record<string, string>) => ServerResponse;
  res.writeHead = ((status: number, headers?: Record<string, string>) => {
    const k = headers ? Object.keys(headers).find((h) => h.toLowerCase() === 'x-ratelimit-reset') : undefined;
    if (headers && k) headers[k] = String(Math.max(0, Math.round(Number(headers[k]) - Date.now() / 1000)));
    return writeHead(status, headers);
  }) as ServerResponse['writeHead'];
}

/** The plain /conf: KEY=value lines, nested keys joined with "_", lists as a count then items. */
function flatConf(doc: Record<string, unknown>): string {
  const lines: string[] = [];
  const walk = (prefix: string, v: unknown): void => {
    if (Array.isArray(v)) {
      lines.push(`${prefix}=${v.length}`);
      v.forEach((x, i) => walk(`${prefix}_${i}`, x));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}_${k.toUpperCase()}` : k.toUpperCase(), x);
    } else {
      lines.push(`${prefix}=${v === null ? '' : String(v)}`);
    }
  };
  walk('', doc);
  return lines.join('\n') + '\n';
}
