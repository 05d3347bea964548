/**
 * Linode API v4 + metadata service emulator (IP assignment and sharing). Shapes per Akamai's
 * techdocs (shared/reference/cloud-apis.md §5): POST /networking/ips/assign is synchronous
 * (200 {}), refuses to leave a Linode without a public IPv4 and to move a shared IP, and the
 * IPs must be in the request's region. Errors are {"errors":[{"reason","field"?}]}; every
 * answer carries X-RateLimit-Limit/Remaining/Reset, a 429 adds Retry-After. Metadata needs a
 * token from PUT /v1/token (Metadata-Token-Expiry-Seconds, else 400) sent back as
 * Metadata-Token (else 401); JSON with Accept: application/json, text otherwise.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { Faults } from './faults.js';
import {
  EmuError,
  commonHandle,
  listenOf,
  startApiServer,
  startMetadataServers,
  type EmulatorHandle,
  type ListenOptions,
  type RateLimit,
  type Reply,
  type Route,
} from './kit.js';

export interface LinodeEmulatorOptions extends ListenOptions {
  token: string;
  linodes: { id: number; label?: string; region?: string }[];
  /** Addresses to move; each Linode also gets a primary public IPv4 of its own. */
  ips: { address: string; linodeId?: number | null; region?: string }[];
  /** Default 1600 per minute. */
  rateLimit?: RateLimit;
  onChange?: () => void;
}

interface Addr {
  address: string;
  linodeId: number | null;
  region: string;
  primary: boolean;
}
export interface LinodeState {
  linodes: Map<number, { id: number; label: string; region: string }>;
  ips: Map<string, Addr>;
  /** IPs shared *to* each Linode (the share call's complete list). */
  shared: Map<number, string[]>;
}
export interface LinodeEmulator extends EmulatorHandle {
  state: LinodeState;
}

const MESSAGES: Partial<Record<number, string>> = {
  400: 'Invalid request',
  401: 'Invalid Token',
  403: 'Your OAuth token is not authorized to use this endpoint.',
  404: 'Not found',
  429: 'Too Many Requests',
  500: 'Please try again',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export async function startLinodeEmulator(o: LinodeEmulatorOptions): Promise<LinodeEmulator> {
  const faults = new Faults();
  const metadataFaults = new Faults();
  const state: LinodeState = { linodes: new Map(), ips: new Map(), shared: new Map() };
  for (const l of o.linodes) {
    const region = l.region ?? 'us-east';
    state.linodes.set(l.id, { id: l.id, label: l.label ?? `linode${l.id}`, region });
    const primary = `192.0.2.${(l.id % 250) + 1}`;
    state.ips.set(primary, { address: primary, linodeId: l.id, region, primary: true });
  }
  for (const i of o.ips)
    state.ips.set(i.address, {
      address: i.address,
      linodeId: i.linodeId ?? null,
      region: i.region ?? 'us-east',
      primary: false,
    });

  const ipJson = (a: Addr): unknown => ({
    address: a.address,
    gateway: isIP(a.address) === 4 ? a.address.replace(/\.\d+$/, '.1') : null,
    subnet_mask: '255.255.255.0',
    prefix: 24,
    type: isIP(a.address) === 4 ? 'ipv4' : 'ipv6',
    public: true,
    rdns: null,
    linode_id: a.linodeId,
    region: a.region,
    vpc_nat_1_1: null,
    reserved: !a.primary,
  });
  const ipOf = (address: string): Addr => {
    const a = state.ips.get(address);
    if (!a) throw new EmuError(404, 'Not found');
    return a;
  };
  const fail = (reason: string, field?: string): never => {
    throw new EmuError(400, reason, field);
  };

  const assign = (body: unknown): Reply => {
    const b = (body ?? {}) as { region?: unknown; assignments?: unknown };
    if (typeof b.region !== 'string') fail('region is required', 'region');
    if (!Array.isArray(b.assignments) || b.assignments.length === 0) fail('assignments is required', 'assignments');
    const moves: [Addr, number][] = [];
    for (const m of b.assignments as { address?: unknown; linode_id?: unknown }[]) {
      const a = typeof m.address === 'string' ? state.ips.get(m.address) : undefined;
      if (!a) fail(`Invalid IP address ${String(m.address)}`, 'address');
      const l = typeof m.linode_id === 'number' ? state.linodes.get(m.linode_id) : undefined;
      if (!l) fail(`Invalid Linode ID ${String(m.linode_id)}`, 'linode_id');
      if (a!.region !== b.region || l!.region !== b.region)
        fail(`${a!.address} and Linode ${l!.id} must both be in ${String(b.region)}`, 'region');
      if ([...state.shared.values()].some((list) => list.includes(a!.address)))
        fail('Shared IP addresses cannot be swapped between Linodes', 'address');
      moves.push([a!, l!.id]);
    }
    const after = new Map([...state.ips.values()].map((a) => [a.address, a.linodeId]));
    for (const [a, to] of moves) after.set(a.address, to);
    for (const from of new Set(moves.map(([a]) => a.linodeId).filter((x): x is number => x !== null))) {
      if (![...after.entries()].some(([addr, who]) => who === from && isIP(addr) === 4))
        fail(`Linode ${from} must have at least one public IPv4 address after assignment`);
    }
    for (const [a, to] of moves) a.linodeId = to;
    o.onChange?.();
    return { status: 200, body: {} };
  };
  const share = (body: unknown): Reply => {
    const b = (body ?? {}) as { linode_id?: unknown; ips?: unknown };
    if (typeof b.linode_id !== 'number' || !state.linodes.has(b.linode_id)) fail('Invalid Linode ID', 'linode_id');
    if (!Array.isArray(b.ips) || !b.ips.every((x) => typeof x === 'string' && state.ips.has(x)))
      fail('Invalid IP address', 'ips');
    state.shared.set(b.linode_id as number, [...(b.ips as string[])]);
    return { status: 200, body: {} };
  };

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/v4\/networking\/ips\/?$/,
      handle: (r) => {
        const all = [...state.ips.values()];
        const size = Math.min(500, Number(r.query.get('page_size') ?? 100) || 100);
        const page = Math.max(1, Number(r.query.get('page') ?? 1) || 1);
        return {
          status: 200,
          body: {
            data: all.slice((page - 1) * size, page * size).map(ipJson),
            page,
            pages: Math.max(1, Math.ceil(all.length / size)),
            results: all.length,
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v4\/networking\/ips\/([^/]+)$/,
      handle: (r) => ({ status: 200, body: ipJson(ipOf(r.params[0]!)) }),
    },
    { method: 'POST', pattern: /^\/v4\/networking\/(?:ips|ipv4)\/assign$/, handle: (r) => assign(r.body) },
    { method: 'POST', pattern: /^\/v4(?:beta)?\/networking\/(?:ips|ipv4)\/share$/, handle: (r) => share(r.body) },
    {
      method: 'GET',
      pattern: /^\/v4\/linode\/instances\/(\d+)\/ips$/,
      handle: (r) => {
        const id = Number(r.params[0]);
        if (!state.linodes.has(id)) throw new EmuError(404, 'Not found');
        const own = [...state.ips.values()].filter((a) => a.linodeId === id && isIP(a.address) === 4).map(ipJson);
        const shared = (state.shared.get(id) ?? []).map((x) => ipJson(state.ips.get(x)!));
        return { status: 200, body: { ipv4: { public: own, private: [], shared, reserved: [] }, ipv6: null } };
      },
    },
  ];

  let handle: LinodeEmulator | undefined;
  const api = await startApiServer({
    provider: 'linode',
    token: o.token,
    faults,
    routes,
    rateLimit: o.rateLimit ?? { limit: 1600, windowMs: 60_000 },
    style: {
      error: (_status, message, field) => ({ errors: [{ reason: message, ...(field ? { field } : {}) }] }),
      rateLimitPrefix: 'X-RateLimit-',
      messages: MESSAGES,
    },
    control: () => handle!,
    ...listenOf(o),
  });

  const tokens = new Map<string, number>();
  const meta = await startMetadataServers(
    [...state.linodes.keys()].map(String),
    metadataFaults,
    (inst, r) => {
      const id = Number(inst);
      if (r.path === '/v1/token') {
        if (r.method !== 'PUT') return { status: 405, text: 'method not allowed' };
        const ttl = Number(r.headers['metadata-token-expiry-seconds']);
        if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400)
          return {
            status: 400,
            body: { errors: [{ reason: 'Metadata-Token-Expiry-Seconds must be between 1 and 86400' }] },
          };
        const t = randomBytes(16).toString('hex');
        tokens.set(`${id}:${t}`, Date.now() + ttl * 1000);
        return { status: 200, text: t };
      }
      const t = r.headers['metadata-token'];
      const exp = typeof t === 'string' ? tokens.get(`${id}:${t}`) : undefined;
      if (exp === undefined || exp < Date.now()) return { status: 401, body: { errors: [{ reason: 'Unauthorized' }] } };
      const l = state.linodes.get(id)!;
      const json = String(r.headers.accept ?? '').includes('application/json');
      let doc: Record<string, unknown>;
      if (r.path === '/v1/instance') {
        doc = {
          id,
          host_uuid: `host-${id}`,
          label: l.label,
          region: l.region,
          type: 'g6-nanode-1',
          tags: [],
          specs: { vcpus: 1, memory: 1024, disk: 25600, transfer: 1000, gpus: 0 },
          backups: { enabled: false, status: null },
        };
      } else if (r.path === '/v1/network') {
        const mine = [...state.ips.values()].filter((a) => a.linodeId === id).map((a) => `${a.address}/32`);
        doc = {
          interfaces: [],
          ipv4: { public: mine, private: [], shared: (state.shared.get(id) ?? []).map((x) => `${x}/32`) },
          ipv6: { slaac: '', ranges: [], link_local: '', shared_ranges: [] },
        };
      } else return { status: 404, text: 'not found' };
      if (json) return { status: 200, body: doc };
      return {
        status: 200,
        text: Object.entries(doc)
          .map(([k, v]) => `${k}: ${typeof v === 'string' || typeof v === 'number' ? v : JSON.stringify(v)}`)
          .join('\n'),
      };
    },
    o.host !== undefined ? { host: o.host } : {},
  );

  handle = {
    ...commonHandle('linode', {
      api,
      meta,
      faults,
      metadataFaults,
      holders: () =>
        Object.fromEntries(
          [...state.ips.values()]
            .filter((a) => !a.primary)
            .map((a) => [a.address, a.linodeId === null ? null : String(a.linodeId)]),
        ),
    }),
    holder: (ip) => {
      const a = state.ips.get(ip);
      if (!a) throw new Error(`emulator has no IP ${ip}`);
      return a.linodeId === null ? null : String(a.linodeId);
    },
    setHolder(ip, inst) {
      const a = state.ips.get(ip);
      if (!a) throw new Error(`emulator has no IP ${ip}`);
      a.linodeId = inst === null ? null : Number(inst);
      o.onChange?.();
    },
    state,
  };
  return handle;
}
