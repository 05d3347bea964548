/**
 * Google Compute Engine API (compute/v1) + per-VM metadata server emulator, for alias IP ranges
 * and static routes (shared/reference/cloud-apis.md §4):
 *  - instances get, list (a zone) and aggregatedList (every zone), paged with maxResults /
 *    pageToken; each NIC carries a fingerprint that changes on every update;
 *  - instances.updateNetworkInterface (PATCH semantics: aliasIpRanges replaced when given)
 *    answers a zone Operation that goes PENDING → RUNNING → DONE within actionDelayMs. Refused:
 *    a stale fingerprint (412 conditionNotMet), another operation still running on the VM
 *    (400 resourceNotReady), a range on another VM or still being released by one (400: a range
 *    is on one VM at a time), a range outside the subnet or its named secondary range (400);
 *  - routes get/list/insert/delete with global Operations (route mode), 409 alreadyExists;
 *  - Google's error body {"error":{"code","message","errors":[{"message","domain","reason"}],
 *    "status"}}, 401 for a wrong token, and the limiter's 429 RESOURCE_EXHAUSTED with no
 *    Retry-After or rate headers (Google's quota system sends none);
 *  - the metadata server: requests need `Metadata-Flavor: Google` (403 without it, or with
 *    X-Forwarded-For), answers carry it; instance/name, id, zone (projects/N/zones/Z),
 *    hostname, network-interfaces/N/{ip,ip-aliases/,…}, service-accounts/default/{email,
 *    scopes,token}; project/project-id, numeric-project-id; ?recursive=true as JSON.
 * Modelling choice (not verified against GCE): a resource shows the requested state as soon as
 * the request is accepted, while its operation runs; an operation that ends in error (fault
 * `action_error`) undoes the change.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { inSubnet } from '../../src/cloud/ip.js';
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

export interface GcpEmulatorOptions extends ListenOptions {
  token: string;
  /** Default 'floatd-test' (bench/cloud.ts's fixture). */
  project?: string;
  projectNumber?: string;
  /** VM names; zone default 'europe-west1-b'. `serviceAccount: false`: the metadata server has no token. */
  instances: { name: string; zone?: string; serviceAccount?: boolean; nics?: number }[];
  /** Alias IP ranges ("203.0.113.10" means /32) and the VM whose nic0 holds each (null: none). */
  aliases?: { range: string; instance: string | null; subnetworkRangeName?: string }[];
  /** Static routes through a VM (route mode). */
  routes?: { name: string; destRange: string; instance: string; network?: string }[];
  /** The subnet alias ranges come from. Default primary 203.0.113.0/24, secondary {vips: 198.51.100.0/24}. */
  subnet?: { primary: string; secondary?: Record<string, string> };
  /** VPC networks routes may name. Default ['default']. */
  networks?: string[];
  /** How long an operation takes to be DONE. Default 200 ms. */
  actionDelayMs?: number;
  /** expires_in of the metadata server's access tokens. Default 3599. */
  tokenExpiresInS?: number;
  /** Default 1,500 a minute (a per-minute query quota; real quotas differ per project). */
  rateLimit?: RateLimit;
  onChange?: () => void;
}

interface AliasRange {
  ipCidrRange: string;
  subnetworkRangeName?: string;
}
interface ENic {
  name: string;
  networkIP: string;
  mac: string;
  aliasIpRanges: AliasRange[];
  fingerprint: string;
}
interface EInstance {
  id: string;
  name: string;
  zone: string;
  serviceAccount: boolean;
  nics: ENic[];
  busy: string | undefined;
}
interface EOp {
  id: string;
  name: string;
  zone: string | undefined;
  operationType: string;
  targetLink: string;
  targetId: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  progress: number;
  insertTime: string;
  startTime?: string;
  endTime?: string;
  error?: { errors: { code: string; message: string }[] };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
}
interface ERoute {
  id: string;
  name: string;
  network: string;
  destRange: string;
  priority: number;
  hop: { zone: string; name: string };
  description: string;
}

export interface GcpState {
  project: string;
  instances: Map<string, EInstance>;
  routes: Map<string, ERoute>;
  operations: Map<string, EOp>;
  /** Ranges whose removal operation still runs, and the VM they are leaving. */
  releasing: Map<string, string>;
}

export interface GcpEmulator extends EmulatorHandle {
  state: GcpState;
}

const URL_BASE = 'https://www.googleapis.com/compute/v1';
const CREATED = '2026-01-05T09:00:00.000-08:00';
const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

const REASONS: Partial<Record<number, string>> = {
  400: 'invalid',
  401: 'authError',
  403: 'forbidden',
  404: 'notFound',
  409: 'alreadyExists',
  412: 'conditionNotMet',
  429: 'rateLimitExceeded',
  500: 'backendError',
  503: 'backendError',
};
const STATUS: Partial<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};
const MESSAGES: Partial<Record<number, string>> = {
  401: 'Request had invalid authentication credentials.',
  403: 'The caller does not have permission',
  404: 'The requested resource was not found',
  429: "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com'.",
  500: 'Internal error.',
  503: 'The service is currently unavailable.',
};

function googleError(status: number, message: string, reason?: string): unknown {
  return {
    error: {
      code: status,
      message,
      errors: [
        {
          message,
          domain: status === 429 ? 'usageLimits' : 'global',
          reason: reason ?? REASONS[status] ?? (status >= 500 ? 'backendError' : 'invalid'),
        },
      ],
      status: STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT'),
      ...(status === 429
        ? {
            details: [
              {
                '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                reason: 'RATE_LIMIT_EXCEEDED',
                domain: 'googleapis.com',
                metadata: {
                  service: 'compute.googleapis.com',
                  quota_metric: 'compute.googleapis.com/default_requests',
                },
              },
            ],
          }
        : {}),
    },
  };
}

/** "203.0.113.10" → "203.0.113.10/32"; undefined when not an IP range. */
export function cidr(text: string): string | undefined {
  const [ip, len, extra] = text.trim().toLowerCase().split('/');
  const fam = isIP(ip ?? '');
  if (fam === 0 || extra !== undefined) return undefined;
  const max = fam === 4 ? 32 : 128;
  const n = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  return n >= 0 && n <= max ? `${ip}/${n}` : undefined;
}

/** Two IPv4 ranges overlap when either's network address lies in the other. */
function overlaps(a: string, b: string): boolean {
  const [an, al] = a.split('/');
  const [bn, bl] = b.split('/');
  return inSubnet(an!, bn!, Number(bl)) || inSubnet(bn!, an!, Number(al));
}

const region = (zone: string): string => zone.replace(/-[a-z]$/, '');
const fingerprint = (): string => randomBytes(8).toString('base64');
const iso = (): string => new Date().toISOString();

export async function startGcpEmulator(o: GcpEmulatorOptions): Promise<GcpEmulator> {
  const faults = new Faults();
  const metadataFaults = new Faults();
  const timers = new Timers();
  const delay = o.actionDelayMs ?? 200;
  const project = o.project ?? 'floatd-test';
  const projectNumber = o.projectNumber ?? '424242424242';
  const networks = new Set(o.networks ?? ['default']);
  const subnet = {
    primary: o.subnet?.primary ?? '203.0.113.0/24',
    secondary: o.subnet?.secondary ?? { vips: '198.51.100.0/24' },
  };
  const state: GcpState = {
    project,
    instances: new Map(),
    routes: new Map(),
    operations: new Map(),
    releasing: new Map(),
  };
  /** Addresses the snapshot reports, as the options wrote them. */
  const labels = new Map<string, string>();
  let serial = 7_000_000_000_000_000_000n;
  const nextId = (): string => String(++serial);

  o.instances.forEach((spec, k) => {
    if (!NAME.test(spec.name)) throw new Error(`gcp emulator: "${spec.name}" is not a valid instance name`);
    if (state.instances.has(spec.name)) throw new Error(`gcp emulator: instance ${spec.name} given twice`);
    const [net, len] = subnet.primary.split('/');
    const base = net!.split('.').map(Number);
    const nics = Array.from({ length: spec.nics ?? 1 }, (_, n): ENic => ({
      name: `nic${n}`,
      // Primary addresses from the top of the subnet, clear of the low addresses tests use as aliases.
      networkIP: n === 0 && Number(len) <= 24 ? `${base[0]}.${base[1]}.${base[2]}.${250 - k}` : `10.${n}.0.${k + 2}`,
      mac: `42:01:0a:84:${n.toString(16).padStart(2, '0')}:${(k + 2).toString(16).padStart(2, '0')}`,
      aliasIpRanges: [],
      fingerprint: fingerprint(),
    }));
    state.instances.set(spec.name, {
      id: nextId(),
      name: spec.name,
      zone: spec.zone ?? 'europe-west1-b',
      serviceAccount: spec.serviceAccount ?? true,
      nics,
      busy: undefined,
    });
  });
  const instOf = (zone: string, name: string): EInstance => {
    const i = state.instances.get(name);
    if (!i || i.zone !== zone)
      throw new EmuError(
        404,
        `The resource 'projects/${project}/zones/${zone}/instances/${name}' was not found`,
        'notFound',
      );
    return i;
  };
  for (const a of o.aliases ?? []) {
    const range = cidr(a.range);
    if (!range) throw new Error(`gcp emulator: alias "${a.range}" is not an IP range`);
    labels.set(range, a.range);
    const from = a.subnetworkRangeName === undefined ? subnet.primary : subnet.secondary[a.subnetworkRangeName];
    if (!from || !inSubnet(range.split('/')[0]!, from.split('/')[0]!, Number(from.split('/')[1]))) {
      throw new Error(
        `gcp emulator: alias ${a.range} lies outside the subnet range ` +
          `it names (${from ?? a.subnetworkRangeName}); set subnet`,
      );
    }
    if (a.instance !== null)
      state.instances.get(a.instance)?.nics[0]?.aliasIpRanges.push({
        ipCidrRange: range,
        ...(a.subnetworkRangeName ? { subnetworkRangeName: a.subnetworkRangeName } : {}),
      });
  }
  for (const r of o.routes ?? []) {
    const range = cidr(r.destRange);
    const hop = state.instances.get(r.instance);
    if (!range || !hop) throw new Error(`gcp emulator: route ${r.name} needs an IP range and a known instance`);
    labels.set(range, r.destRange);
    state.routes.set(r.name, {
      id: nextId(),
      name: r.name,
      network: r.network ?? 'default',
      destRange: range,
      priority: 1000,
      hop: { zone: hop.zone, name: hop.name },
      description: '',
    });
  }

  const projPath = `projects/${project}`;
  const zoneUrl = (z: string): string => `${URL_BASE}/${projPath}/zones/${z}`;
  const instUrl = (i: { zone: string; name: string }): string => `${zoneUrl(i.zone)}/instances/${i.name}`;
  const networkUrl = (n: string): string => `${URL_BASE}/${projPath}/global/networks/${n}`;
  const opUrl = (op: EOp): string =>
    op.zone ? `${zoneUrl(op.zone)}/operations/${op.name}` : `${URL_BASE}/${projPath}/global/operations/${op.name}`;
  const opKey = (zone: string | undefined, name: string): string => `${zone ?? 'global'}/${name}`;

  const instJson = (i: EInstance): unknown => ({
    kind: 'compute#instance',
    id: i.id,
    creationTimestamp: CREATED,
    name: i.name,
    description: '',
    tags: { fingerprint: '42WmSpB8rSM=' },
    machineType: `${zoneUrl(i.zone)}/machineTypes/e2-small`,
    status: 'RUNNING',
    zone: zoneUrl(i.zone),
    canIpForward: false,
    networkInterfaces: i.nics.map((n) => ({
      kind: 'compute#networkInterface',
      network: networkUrl('default'),
      subnetwork: `${URL_BASE}/${projPath}/regions/${region(i.zone)}/subnetworks/default`,
      networkIP: n.networkIP,
      name: n.name,
      fingerprint: n.fingerprint,
      stackType: 'IPV4_ONLY',
      // Like GCE, an empty list is left out rather than sent as [].
      ...(n.aliasIpRanges.length ? { aliasIpRanges: n.aliasIpRanges.map((r) => ({ ...r })) } : {}),
    })),
    selfLink: instUrl(i),
    labelFingerprint: '42WmSpB8rSM=',
    cpuPlatform: 'Intel Broadwell',
  });
  const opJson = (op: EOp): unknown => ({
    kind: 'compute#operation',
    ...op,
    ...(op.zone ? { zone: zoneUrl(op.zone) } : {}),
    user: 'floatd@floatd-test.iam.gserviceaccount.com',
    selfLink: opUrl(op),
  });
  const routeJson = (r: ERoute): unknown => ({
    kind: 'compute#route',
    id: r.id,
    creationTimestamp: CREATED,
    name: r.name,
    description: r.description,
    network: networkUrl(r.network),
    destRange: r.destRange,
    priority: r.priority,
    nextHopInstance: instUrl(r.hop),
    selfLink: `${URL_BASE}/${projPath}/global/routes/${r.name}`,
  });

  /** An operation that is DONE after `delay`; `settle(false)` undoes its change when it fails. */
  const startOp = (
    r: EmuRequest,
    zone: string | undefined,
    type: string,
    targetLink: string,
    targetId: string,
    settle: (ok: boolean) => void,
  ): EOp => {
    const fails = faults.take(r.method, r.path, ['action_error']) !== undefined;
    const op: EOp = {
      id: nextId(),
      name: `operation-${Date.now()}-${randomBytes(6).toString('hex')}`,
      zone,
      operationType: type,
      targetLink,
      targetId,
      status: 'PENDING',
      progress: 0,
      insertTime: iso(),
    };
    state.operations.set(opKey(zone, op.name), op);
    timers.after(Math.floor(delay / 3), () => {
      if (op.status === 'PENDING') {
        op.status = 'RUNNING';
        op.startTime = iso();
      }
    });
    timers.after(delay, () => {
      op.startTime ??= iso();
      op.status = 'DONE';
      op.progress = 100;
      op.endTime = iso();
      if (fails) {
        op.error = {
          errors: [{ code: 'INTERNAL_ERROR', message: 'An internal error happened while applying the change.' }],
        };
        op.httpErrorStatusCode = 500;
        op.httpErrorMessage = 'INTERNAL SERVER ERROR';
      }
      settle(!fails);
      o.onChange?.();
    });
    return op;
  };

  const checkProject = (r: EmuRequest): void => {
    if (r.params[0] !== project)
      throw new EmuError(404, `The resource 'projects/${r.params[0]}' was not found`, 'notFound');
  };

  /** A range the PATCH body asks for, checked as GCE does for alias IP ranges. */
  const aliasFrom = (x: unknown, k: number, inst: EInstance): AliasRange => {
    const f = `resource.aliasIpRanges[${k}]`;
    const a = x as { ipCidrRange?: unknown; subnetworkRangeName?: unknown } | null;
    if (!a || typeof a.ipCidrRange !== 'string')
      throw new EmuError(400, `Required field '${f}.ipCidrRange' not specified`, 'required');
    const range = cidr(a.ipCidrRange);
    if (!range || isIP(range.split('/')[0]!) !== 4)
      throw new EmuError(
        400,
        `Invalid value for field '${f}.ipCidrRange': '${a.ipCidrRange}'. Must be an IPv4 address or CIDR range.`,
      );
    const rangeName = a.subnetworkRangeName;
    if (rangeName !== undefined && (typeof rangeName !== 'string' || !(rangeName in subnet.secondary))) {
      throw new EmuError(
        400,
        `Invalid value for field '${f}.subnetworkRangeName': '${String(rangeName)}'. The subnetwork has no ` +
          'secondary range of that name.',
      );
    }
    const from = rangeName === undefined ? subnet.primary : subnet.secondary[rangeName]!;
    if (!overlaps(range, from) || Number(range.split('/')[1]) < Number(from.split('/')[1])) {
      throw new EmuError(
        400,
        `Invalid value for field '${f}.ipCidrRange': '${range}'. It is not within ` +
          `${rangeName === undefined ? 'the primary range' : `secondary range '${rangeName}'`} ` +
          `(${from}) of the subnetwork.`,
      );
    }
    for (const other of state.instances.values()) {
      if (other === inst) continue;
      for (const n of other.nics) {
        const hit = n.aliasIpRanges.find((y) => overlaps(y.ipCidrRange, range));
        if (hit)
          throw new EmuError(
            400,
            `Invalid value for field '${f}.ipCidrRange': '${range}'. The range is already in use by instance ` +
              `'${other.name}' (${hit.ipCidrRange}).`,
          );
      }
    }
    const leaving = [...state.releasing].find(([y, who]) => who !== inst.name && overlaps(y, range));
    if (leaving)
      throw new EmuError(
        400,
        `The alias IP range '${leaving[0]}' is still being removed from instance '${leaving[1]}'; retry when its ` +
          'operation is DONE.',
        'resourceNotReady',
      );
    return { ipCidrRange: range, ...(typeof rangeName === 'string' ? { subnetworkRangeName: rangeName } : {}) };
  };

  const updateNic = (r: EmuRequest): Reply => {
    checkProject(r);
    const [, zone, name] = r.params as [string, string, string];
    const inst = instOf(zone, name);
    const nicName = r.query.get('networkInterface');
    if (!nicName) throw new EmuError(400, "Required parameter 'networkInterface' not specified", 'required');
    const nic = inst.nics.find((n) => n.name === nicName);
    if (!nic)
      throw new EmuError(
        400,
        `Invalid value for parameter 'networkInterface': '${nicName}'. The instance has no such network interface.`,
      );
    const body = r.body as { aliasIpRanges?: unknown; fingerprint?: unknown } | undefined;
    if (typeof body?.fingerprint !== 'string')
      throw new EmuError(400, "Required field 'resource.fingerprint' not specified", 'required');
    if (inst.busy !== undefined)
      throw new EmuError(
        400,
        `The resource 'projects/${project}/zones/${zone}/instances/${name}' is not ready`,
        'resourceNotReady',
      );
    if (body.fingerprint !== nic.fingerprint)
      throw new EmuError(412, 'Supplied fingerprint does not match current fingerprint.', 'conditionNotMet');
    let next = nic.aliasIpRanges;
    if (body.aliasIpRanges !== undefined) {
      if (!Array.isArray(body.aliasIpRanges))
        throw new EmuError(400, "Invalid value for field 'resource.aliasIpRanges': must be a list.");
      next = body.aliasIpRanges.map((x, k) => aliasFrom(x, k, inst));
      next.forEach((a, k) => {
        if (next.slice(0, k).some((b) => overlaps(a.ipCidrRange, b.ipCidrRange)))
          throw new EmuError(
            400,
            `Invalid value for field 'resource.aliasIpRanges[${k}].ipCidrRange': '${a.ipCidrRange}'. Alias IP ` +
              'ranges of an interface must not overlap.',
          );
      });
    }
    const prev = nic.aliasIpRanges;
    const removed = prev.filter((p) => !next.some((n) => n.ipCidrRange === p.ipCidrRange)).map((p) => p.ipCidrRange);
    nic.aliasIpRanges = next;
    nic.fingerprint = fingerprint();
    for (const x of removed) state.releasing.set(x, inst.name);
    const op = startOp(r, zone, 'updateNetworkInterface', instUrl(inst), inst.id, (ok) => {
      inst.busy = undefined;
      for (const x of removed) state.releasing.delete(x);
      if (!ok) {
        nic.aliasIpRanges = prev;
        nic.fingerprint = fingerprint();
      }
    });
    inst.busy = op.name;
    o.onChange?.();
    return { status: 200, body: opJson(op) };
  };

  /** maxResults (≤ 500) and an opaque pageToken over `all`. */
  const page = <T>(r: EmuRequest, all: T[]): { items: T[]; next: string | undefined } => {
    const max = Math.min(500, Math.max(1, Number(r.query.get('maxResults') ?? 500) || 500));
    const tok = r.query.get('pageToken');
    const from = tok === null ? 0 : Number(Buffer.from(tok, 'base64url').toString());
    if (!Number.isInteger(from) || from < 0)
      throw new EmuError(400, `Invalid value for parameter 'pageToken': '${tok}'`);
    if (r.query.has('filter')) throw new EmuError(400, 'The emulator does not model list filters.');
    const next = from + max < all.length ? Buffer.from(String(from + max)).toString('base64url') : undefined;
    return { items: all.slice(from, from + max), next };
  };

  const insertRoute = (r: EmuRequest): Reply => {
    checkProject(r);
    const b = (r.body ?? {}) as {
      name?: unknown;
      network?: unknown;
      destRange?: unknown;
      nextHopInstance?: unknown;
      priority?: unknown;
      description?: unknown;
    } & Record<string, unknown>;
    if (typeof b.name !== 'string' || !NAME.test(b.name))
      throw new EmuError(
        400,
        `Invalid value for field 'resource.name': '${String(b.name)}'. Must be a match of regex ` +
          `'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
      );
    if (state.routes.has(b.name))
      throw new EmuError(
        409,
        `The resource 'projects/${project}/global/routes/${b.name}' already exists`,
        'alreadyExists',
      );
    const network = typeof b.network === 'string' ? /(?:^|\/)networks\/([^/]+)$/.exec(b.network)?.[1] : undefined;
    if (!network) throw new EmuError(400, "Required field 'resource.network' not specified", 'required');
    if (!networks.has(network))
      throw new EmuError(
        404,
        `The resource 'projects/${project}/global/networks/${network}' was not found`,
        'notFound',
      );
    const range = typeof b.destRange === 'string' ? cidr(b.destRange) : undefined;
    if (!range)
      throw new EmuError(
        400,
        `Invalid value for field 'resource.destRange': '${String(b.destRange)}'. Must be a CIDR range.`,
      );
    if (['nextHopIp', 'nextHopGateway', 'nextHopIlb', 'nextHopVpnTunnel'].some((k) => b[k] !== undefined))
      throw new EmuError(400, 'The emulator models only nextHopInstance routes.');
    const hop =
      typeof b.nextHopInstance === 'string' ? /zones\/([^/]+)\/instances\/([^/]+)$/.exec(b.nextHopInstance) : null;
    if (!hop)
      throw new EmuError(
        400,
        'Exactly one of nextHopInstance, nextHopIp, nextHopGateway, nextHopIlb or nextHopVpnTunnel must be specified.',
      );
    const inst = instOf(hop[1]!, hop[2]!);
    const priority = typeof b.priority === 'number' ? b.priority : 1000;
    const route: ERoute = {
      id: nextId(),
      name: b.name,
      network,
      destRange: range,
      priority,
      hop: { zone: inst.zone, name: inst.name },
      description: typeof b.description === 'string' ? b.description : '',
    };
    state.routes.set(route.name, route);
    const op = startOp(
      r,
      undefined,
      'insert',
      `${URL_BASE}/${projPath}/global/routes/${route.name}`,
      route.id,
      (ok) => {
        if (!ok && state.routes.get(route.name) === route) state.routes.delete(route.name);
      },
    );
    o.onChange?.();
    return { status: 200, body: opJson(op) };
  };

  const deleteRoute = (r: EmuRequest): Reply => {
    checkProject(r);
    const route = routeOf(r.params[1]!);
    state.routes.delete(route.name);
    const op = startOp(
      r,
      undefined,
      'delete',
      `${URL_BASE}/${projPath}/global/routes/${route.name}`,
      route.id,
      (ok) => {
        if (!ok && !state.routes.has(route.name)) state.routes.set(route.name, route);
      },
    );
    o.onChange?.();
    return { status: 200, body: opJson(op) };
  };
  const routeOf = (name: string): ERoute => {
    const route = state.routes.get(name);
    if (!route)
      throw new EmuError(404, `The resource 'projects/${project}/global/routes/${name}' was not found`, 'notFound');
    return route;
  };
  const getOp = (r: EmuRequest, zone: string | undefined, name: string): Reply => {
    checkProject(r);
    const op = state.operations.get(opKey(zone, name));
    if (!op)
      throw new EmuError(
        404,
        `The resource '${opUrl({ zone, name } as EOp).slice(URL_BASE.length + 1)}' was not found`,
        'notFound',
      );
    return { status: 200, body: opJson(op) };
  };

  const P = '^/compute/v1/projects/([^/]+)';
  const routes: Route[] = [
    {
      method: 'GET',
      pattern: new RegExp(`${P}/aggregated/instances$`),
      handle: (r) => {
        checkProject(r);
        const all = [...state.instances.values()];
        const { items, next } = page(r, all);
        const zones = [...new Set(all.map((i) => i.zone))].sort();
        const scoped = Object.fromEntries(
          zones.map((z) => {
            const here = items.filter((i) => i.zone === z);
            return [
              `zones/${z}`,
              here.length
                ? { instances: here.map(instJson) }
                : {
                    warning: {
                      code: 'NO_RESULTS_ON_PAGE',
                      message: "There are no results for scope 'zones/" + z + "' on this page.",
                      data: [{ key: 'scope', value: `zones/${z}` }],
                    },
                  },
            ];
          }),
        );
        return {
          status: 200,
          body: {
            kind: 'compute#instanceAggregatedList',
            id: `${projPath}/aggregated/instances`,
            items: scoped,
            ...(next ? { nextPageToken: next } : {}),
            selfLink: `${URL_BASE}/${projPath}/aggregated/instances`,
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${P}/zones/([^/]+)/instances$`),
      handle: (r) => {
        checkProject(r);
        const zone = r.params[1]!;
        const { items, next } = page(
          r,
          [...state.instances.values()].filter((i) => i.zone === zone),
        );
        return {
          status: 200,
          body: {
            kind: 'compute#instanceList',
            id: `${projPath}/zones/${zone}/instances`,
            items: items.map(instJson),
            ...(next ? { nextPageToken: next } : {}),
            selfLink: `${zoneUrl(zone)}/instances`,
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)$`),
      handle: (r) => {
        checkProject(r);
        return { status: 200, body: instJson(instOf(r.params[1]!, r.params[2]!)) };
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)/updateNetworkInterface$`),
      handle: updateNic,
    },
    {
      method: 'GET',
      pattern: new RegExp(`${P}/zones/([^/]+)/operations/([^/]+)$`),
      handle: (r) => getOp(r, r.params[1]!, r.params[2]!),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${P}/global/operations/([^/]+)$`),
      handle: (r) => getOp(r, undefined, r.params[1]!),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${P}/global/routes$`),
      handle: (r) => {
        checkProject(r);
        const { items, next } = page(r, [...state.routes.values()]);
        return {
          status: 200,
          body: {
            kind: 'compute#routeList',
            id: `${projPath}/global/routes`,
            items: items.map(routeJson),
            ...(next ? { nextPageToken: next } : {}),
            selfLink: `${URL_BASE}/${projPath}/global/routes`,
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${P}/global/routes/([^/]+)$`),
      handle: (r) => {
        checkProject(r);
        return { status: 200, body: routeJson(routeOf(r.params[1]!)) };
      },
    },
    { method: 'POST', pattern: new RegExp(`${P}/global/routes$`), handle: insertRoute },
    { method: 'DELETE', pattern: new RegExp(`${P}/global/routes/([^/]+)$`), handle: deleteRoute },
  ];

  let handle: GcpEmulator | undefined;
  const api = await startApiServer({
    provider: 'gcp',
    token: o.token,
    faults,
    routes,
    rateLimit: o.rateLimit ?? { limit: 1500, windowMs: 60_000 },
    style: { error: googleError, retryAfterOn429: false, messages: MESSAGES },
    control: () => handle!,
    ...listenOf(o),
  });

  const tree = (i: EInstance): MetaTree => ({
    computeMetadata: {
      v1: {
        instance: {
          id: i.id,
          name: i.name,
          hostname: `${i.name}.${i.zone}.c.${project}.internal`,
          zone: `projects/${projectNumber}/zones/${i.zone}`,
          'machine-type': `projects/${projectNumber}/machineTypes/e2-small`,
          'network-interfaces': Object.fromEntries(
            i.nics.map((n, k) => [
              String(k),
              {
                ip: n.networkIP,
                mac: n.mac,
                network: `projects/${projectNumber}/networks/default`,
                'ip-aliases': Object.fromEntries(n.aliasIpRanges.map((a, j) => [String(j), a.ipCidrRange])),
                'forwarded-ips': {},
              },
            ]),
          ),
          'service-accounts': i.serviceAccount
            ? {
                default: {
                  email: `${projectNumber}-compute@developer.gserviceaccount.com`,
                  scopes: 'https://www.googleapis.com/auth/cloud-platform\n',
                  aliases: 'default\n',
                },
              }
            : {},
        },
        project: { 'project-id': project, 'numeric-project-id': projectNumber },
      },
    },
  });
  const flavor = { 'metadata-flavor': 'Google' };
  const meta = await startMetadataServers(
    [...state.instances.keys()],
    metadataFaults,
    (name, r) => {
      if (r.headers['x-forwarded-for'] !== undefined)
        return { status: 403, text: 'Requests with X-Forwarded-For are refused.\n', headers: flavor };
      if (r.headers['metadata-flavor'] !== 'Google')
        return { status: 403, text: 'The Metadata-Flavor: Google header is missing.\n', headers: flavor };
      if (r.method !== 'GET') return { status: 405, text: 'method not allowed\n', headers: flavor };
      const i = state.instances.get(name)!;
      if (r.path === '/computeMetadata/v1/instance/service-accounts/default/token') {
        if (!i.serviceAccount) return { status: 404, text: 'not found\n', headers: flavor };
        return {
          status: 200,
          body: { access_token: o.token, expires_in: o.tokenExpiresInS ?? 3599, token_type: 'Bearer' },
          headers: flavor,
        };
      }
      const t = tree(i);
      if (r.query.get('recursive') === 'true' || r.query.get('alt') === 'json') {
        let node: MetaTree | string | undefined = t;
        for (const p of r.path.split('/').filter((x) => x !== ''))
          node = typeof node === 'object' ? node[p] : undefined;
        if (node !== undefined) return { status: 200, body: metaJson(node), headers: flavor };
      }
      const reply = serveTree(t, r.path);
      return { ...reply, headers: { ...reply.headers, ...flavor } };
    },
    o.host !== undefined ? { host: o.host } : {},
  );

  /** Where a range is now: a route through a VM first (route mode), else the VM whose NIC has it. */
  const holderOf = (range: string): string | null => {
    const route = [...state.routes.values()].find((r) => r.destRange === range);
    if (route) return route.hop.name;
    for (const i of state.instances.values())
      if (i.nics.some((n) => n.aliasIpRanges.some((a) => a.ipCidrRange === range))) return i.name;
    return null;
  };
  const rangeOf = (address: string): string => {
    const range = cidr(address);
    if (!range) throw new Error(`gcp emulator: "${address}" is not an IP range`);
    return range;
  };
  handle = {
    ...commonHandle('gcp', {
      api,
      meta,
      faults,
      metadataFaults,
      timers,
      holders: () => Object.fromEntries([...labels].map(([range, label]) => [label, holderOf(range)])),
    }),
    holder: (address) => holderOf(rangeOf(address)),
    setHolder(address, inst) {
      const range = rangeOf(address);
      if (!labels.has(range)) labels.set(range, address);
      const to = inst === null ? undefined : state.instances.get(String(inst));
      if (inst !== null && !to) throw new Error(`gcp emulator: no instance ${String(inst)}`);
      const route = [...state.routes.values()].find((r) => r.destRange === range);
      if (route) {
        if (to) route.hop = { zone: to.zone, name: to.name };
        else state.routes.delete(route.name);
      } else {
        for (const i of state.instances.values()) {
          for (const n of i.nics) {
            if (!n.aliasIpRanges.some((a) => a.ipCidrRange === range)) continue;
            n.aliasIpRanges = n.aliasIpRanges.filter((a) => a.ipCidrRange !== range);
            n.fingerprint = fingerprint();
          }
        }
        const nic = to?.nics[0];
        if (nic) {
          nic.aliasIpRanges = [...nic.aliasIpRanges, { ipCidrRange: range }];
          nic.fingerprint = fingerprint();
        }
      }
      o.onChange?.();
    },
    state,
  };
  return handle;
}

/** ?recursive=true: directories as objects with camelCase keys, numbered ones as lists. */
function metaJson(node: MetaTree | string): unknown {
  if (typeof node === 'string') return node;
  const entries = Object.entries(node).filter((e): e is [string, MetaTree | string] => e[1] !== undefined);
  if (entries.length > 0 && entries.every(([k]) => /^\d+$/.test(k))) return entries.map(([, v]) => metaJson(v));
  if (entries.length === 0) return [];
  return Object.fromEntries(
    entries.map(([k, v]) => [k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), metaJson(v)]),
  );
}
