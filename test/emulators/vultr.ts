/**
 * Vultr API v2 + instance metadata emulator (reserved IPs). Shapes per vultr-node's tests and
 * Vultr's docs (shared/reference/cloud-apis.md §6): attach/detach answer 204 at once and take
 * effect after `actionDelayMs` (Vultr processes a detach after answering it — terraform-provider-
 * vultr#77); attaching an IP that is attached (or has a change pending) is 400 "already
 * attached", unless `allowReassign`. Errors are {"error":"…","status":N}; no rate-limit headers.
 * A failed change (fault `action_error`) simply never takes effect, as Vultr gives no action
 * object to report it.
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
  type RateLimit,
  type Reply,
  type Route,
} from './kit.js';

export interface VultrEmulatorOptions extends ListenOptions {
  token: string;
  instances: { id: string; hostname?: string; region?: string }[];
  reservedIps: { ip: string; instanceId?: string | null; id?: string; region?: string }[];
  /** Delay before an attach/detach takes effect. Default 200 ms. */
  actionDelayMs?: number;
  /** Attach moves an attached IP directly (instead of 400 "already attached"). */
  allowReassign?: boolean;
  /** Default 30 per second. */
  rateLimit?: RateLimit;
  onChange?: () => void;
}

interface Rip {
  id: string;
  ip: string;
  region: string;
  ipType: 'v4' | 'v6';
  size: number;
  instance: string;
  pending: boolean;
}

export interface VultrState {
  instances: Map<string, { id: string; hostname: string; region: string }>;
  rips: Map<string, Rip>;
}
export interface VultrEmulator extends EmulatorHandle {
  state: VultrState;
}

const MESSAGES: Partial<Record<number, string>> = {
  400: 'Invalid request.',
  401: 'Invalid API token.',
  403: 'Unauthorized IP address.',
  404: 'Not found.',
  429: 'Rate limit reached - please try your request again later.',
  500: 'Internal server error.',
  503: 'Service unavailable.',
};

/** A stable UUID-shaped id from a number, like Vultr's. */
function uuidFor(n: number): string {
  const h = n.toString(16).padStart(12, '0');
  return `6a31648d-ebfa-4d43-9a00-${h}`;
}

export async function startVultrEmulator(o: VultrEmulatorOptions): Promise<VultrEmulator> {
  const faults = new Faults();
  const metadataFaults = new Faults();
  const timers = new Timers();
  const delay = o.actionDelayMs ?? 200;
  const state: VultrState = { instances: new Map(), rips: new Map() };
  for (const i of o.instances)
    state.instances.set(i.id, {
      id: i.id,
      hostname: i.hostname ?? `vultr-${i.id.slice(0, 8)}`,
      region: i.region ?? 'ewr',
    });
  o.reservedIps.forEach((r, n) => {
    const v6 = isIP(r.ip) === 6;
    const id = r.id ?? uuidFor(n + 1);
    state.rips.set(id, {
      id,
      ip: r.ip,
      region: r.region ?? 'ewr',
      ipType: v6 ? 'v6' : 'v4',
      size: v6 ? 64 : 32,
      instance: r.instanceId ?? '',
      pending: false,
    });
  });

  const ripJson = (r: Rip): unknown => ({
    id: r.id,
    region: r.region,
    ip_type: r.ipType,
    subnet: r.ip,
    subnet_size: r.size,
    label: `rip-${r.ip}`,
    instance_id: r.instance,
  });
  const ripOf = (id: string): Rip => {
    const r = state.rips.get(id);
    if (!r) throw new EmuError(404, 'Reserved IP not found.');
    return r;
  };
  const change = (r: Rip, req: EmuRequest, to: string): Reply => {
    const fails = faults.take(req.method, req.path, ['action_error']) !== undefined;
    r.pending = true;
    timers.after(delay, () => {
      r.pending = false;
      if (fails) return;
      r.instance = to;
      o.onChange?.();
    });
    return { status: 204 };
  };

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/v2\/reserved-ips\/?$/,
      handle: (r) => {
        const all = [...state.rips.values()];
        const per = Math.min(500, Number(r.query.get('per_page') ?? 100) || 100);
        const from = Number(r.query.get('cursor') ?? 0) || 0;
        const next = from + per < all.length ? String(from + per) : '';
        return {
          status: 200,
          body: {
            reserved_ips: all.slice(from, from + per).map(ripJson),
            meta: { total: all.length, links: { next, prev: from > 0 ? String(Math.max(0, from - per)) : '' } },
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v2\/reserved-ips\/([^/]+)$/,
      handle: (r) => ({ status: 200, body: { reserved_ip: ripJson(ripOf(r.params[0]!)) } }),
    },
    {
      method: 'POST',
      pattern: /^\/v2\/reserved-ips\/([^/]+)\/attach$/,
      handle: (r) => {
        const rip = ripOf(r.params[0]!);
        const to = (r.body as { instance_id?: unknown } | undefined)?.instance_id;
        if (typeof to !== 'string' || !state.instances.has(to)) throw new EmuError(400, 'Invalid instance ID.');
        if (state.instances.get(to)!.region !== rip.region)
          throw new EmuError(400, 'Reserved IP and instance must be in the same region.');
        if (rip.pending || (rip.instance !== '' && !o.allowReassign))
          throw new EmuError(400, 'Reserved IP is already attached to an instance.');
        return change(rip, r, to);
      },
    },
    {
      method: 'POST',
      pattern: /^\/v2\/reserved-ips\/([^/]+)\/detach$/,
      handle: (r) => {
        const rip = ripOf(r.params[0]!);
        if (rip.pending) throw new EmuError(400, 'Reserved IP has a pending change.');
        if (rip.instance === '') throw new EmuError(400, 'Reserved IP is not attached to an instance.');
        return change(rip, r, '');
      },
    },
  ];

  let handle: VultrEmulator | undefined;
  const api = await startApiServer({
    provider: 'vultr',
    token: o.token,
    faults,
    routes,
    rateLimit: o.rateLimit ?? { limit: 30, windowMs: 1000 },
    style: { error: (status, message) => ({ error: message, status }), retryAfterOn429: false, messages: MESSAGES },
    control: () => handle!,
    ...listenOf(o),
  });

  const doc = (id: string): Record<string, unknown> => {
    const i = state.instances.get(id)!;
    const extra = [...state.rips.values()]
      .filter((r) => r.instance === id && r.ipType === 'v4')
      .map((r) => ({ address: r.ip, netmask: '255.255.255.255' }));
    return {
      hostname: i.hostname,
      instanceid: String(Math.abs(hash(id)) % 100_000_000),
      'instance-v2-id': id,
      region: { regioncode: i.region.toUpperCase(), countrycode: 'US' },
      interfaces: [
        {
          mac: '56:00:02:56:12:8e',
          'network-type': 'public',
          ipv4: { address: '192.0.2.50', netmask: '255.255.254.0', gateway: '192.0.2.1', additional: extra },
          ipv6: { additional: [] },
        },
      ],
    };
  };
  const meta = await startMetadataServers(
    [...state.instances.keys()],
    metadataFaults,
    (inst, r) => {
      if (r.method !== 'GET') return { status: 405, text: 'method not allowed' };
      const d = doc(inst);
      if (r.path === '/v1.json') return { status: 200, body: d };
      const flat = Object.fromEntries(
        Object.entries(d).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
      );
      return serveTree({ v1: flat }, r.path);
    },
    o.host !== undefined ? { host: o.host } : {},
  );

  const byIp = (ip: string): Rip => {
    const r = [...state.rips.values()].find((x) => x.ip === ip);
    if (!r) throw new Error(`emulator has no reserved IP ${ip}`);
    return r;
  };
  handle = {
    ...commonHandle('vultr', {
      api,
      meta,
      faults,
      metadataFaults,
      timers,
      holders: () => Object.fromEntries([...state.rips.values()].map((r) => [r.ip, r.instance || null])),
    }),
    holder: (ip) => byIp(ip).instance || null,
    setHolder(ip, inst) {
      byIp(ip).instance = inst === null ? '' : String(inst);
      o.onChange?.();
    },
    state,
  };
  return handle;
}

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h;
}
