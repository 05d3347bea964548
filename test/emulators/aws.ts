/**
 * AWS EC2 (Query API) + IMDSv2 emulator, per shared/reference/cloud-apis.md §3 and the EC2 API
 * reference:
 * - POST / with a form body or GET /?Action=…, Version=2016-11-15; XML answers in the
 *   2016-11-15 namespace; errors in the standard envelope
 *   <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>.
 * - SigV4: the Authorization header must name a known access key (the account's, or an
 *   instance role's with its X-Amz-Security-Token), the region and `ec2`, a date within 15
 *   minutes, and the signature is recomputed with node:crypto. Anything wrong → 401
 *   AuthFailure, which is what EC2 answers for bad keys and for clock skew alike.
 * - Throttling: a token bucket per action (EC2's request-rate limiting; describes 100 tokens
 *   refilled 20/s, mutations 50 refilled 5/s), refused with 503 RequestLimitExceeded and no
 *   retry hint, as EC2 does.
 * - Elastic IPs (Describe/Associate/DisassociateAddress: AssociateAddress reassociates unless
 *   AllowReassociation=false, as in VPC-only accounts — every account since EC2-Classic ended;
 *   old EC2-Classic accounts refused by default, and so does moto), secondary private IPs
 *   (Describe/Assign/UnassignPrivateIpAddresses, AllowReassignment), route tables
 *   (DescribeRouteTables, ReplaceRoute, CreateRoute), DescribeInstances.
 * - Mutations apply at once, but the Describe calls show them only `actionDelayMs` later
 *   (EC2's eventual consistency); emu.holder() is the truth.
 * - IMDSv2 per instance: PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds
 *   1..21600 (else 400; with X-Forwarded-For 403), GETs need a live token of that instance
 *   (else 401); meta-data for the instance, its ENI by MAC, placement, and role credentials.
 * Each instance has one ENI (eni-…, MAC 0a:…) in subnet 10.0.1.0/24 of a 10.0.0.0/16 VPC.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { Faults, applyTransportFault, readBody } from './faults.js';
import {
  EmuError,
  commonHandle,
  listenOf,
  Timers,
  controlRequest,
  listen,
  send,
  serveTree,
  startMetadataServers,
  type EmuRequest,
  type EmulatorHandle,
  type ListenOptions,
  type MetaTree,
  type RateLimit,
  type Reply,
} from './kit.js';

export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsEmulatorOptions extends ListenOptions {
  /** Access keys the API accepts (each instance role's keys are accepted as well). */
  credentials: AwsKeys[];
  /** Default us-east-1; a request signed for another region is refused. */
  region?: string;
  /** `role: null` gives the instance no instance profile (IMDS then lists no credentials). */
  instances: { id: string; role?: string | null }[];
  /** Elastic IPs, associated to the holder's primary private IP. */
  addresses?: { publicIp: string; allocationId?: string; instanceId?: string | null }[];
  /** Secondary private IPs (in 10.0.1.0/24) on the holder's ENI. */
  secondaryIps?: { ip: string; instanceId?: string | null }[];
  /** Route tables with /32 routes to an instance's ENI (besides the local route). */
  routeTables?: { id: string; routes: { ip: string; instanceId: string | null }[] }[];
  /** How long the Describe calls lag behind a mutation. Default 0. */
  actionDelayMs?: number;
  /** Private IPs one ENI may carry (instance-type dependent on EC2). Default 10. */
  ipsPerEni?: number;
  /** Token-less metadata GETs are served (IMDSv1). Default false: tokens required. */
  imdsV1?: boolean;
  /** Default: EC2's per-action buckets. A given limit applies to every action. */
  rateLimit?: RateLimit;
  onChange?: () => void;
}

interface Eni {
  id: string;
  mac: string;
  instanceId: string | null;
  attachmentId: string;
  ips: string[];
  publicIp: string;
}
interface Eip {
  allocationId: string;
  publicIp: string;
  eni: string | null;
  privateIp: string | null;
  associationId: string | null;
}
interface Route {
  dest: string;
  eni: string | null;
}
interface RouteTable {
  id: string;
  routes: Route[];
}
/** Everything a mutation changes; cloned for what the Describe calls show. */
export interface AwsWorld {
  enis: Map<string, Eni>;
  eips: Map<string, Eip>;
  tables: Map<string, RouteTable>;
}

export interface AwsEmulator extends EmulatorHandle {
  /** The truth (what the data plane does). */
  state: AwsWorld;
  region: string;
  /** Each instance's ENI id, MAC and role keys. */
  instances: Map<string, { eni: string; mac: string; role: string | null; keys: AwsKeys | null }>;
  /** The last 200 API requests that reached an action, with their parameters. */
  calls: { action: string; params: Record<string, string>; status: number }[];
  /** Every IMDSv2 token stops working (as after the instance's metadata service restarts). */
  forgetImdsTokens(): void;
}

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const VERSION = '2016-11-15';
const ACCOUNT = '123456789012';
const VPC = 'vpc-0a1b2c3d4e5f60718';
const SUBNET = 'subnet-0f1e2d3c4b5a69788';
const SUBNET_CIDR: [string, number] = ['10.0.1.0', 24];
const VPC_CIDR = '10.0.0.0/16';
const AUTH_MESSAGE = 'AWS was not able to validate the provided access credentials';
const SKEW_MS = 15 * 60_000;
const TTL_MAX_S = 21_600;

/** `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`, the driver's token format (serve.ts takes it). */
export function awsKeys(token: string): AwsKeys {
  const [accessKeyId, secretAccessKey, sessionToken] = token.split(':');
  if (!accessKeyId || !secretAccessKey)
    throw new Error('aws emulator: the token must be ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

const hex = (n: number): string =>
  randomBytes(Math.ceil(n / 2))
    .toString('hex')
    .slice(0, n);
const esc = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
/** `<name>value</name>`, or nothing when the value is absent. */
const el = (name: string, v: string | number | boolean | undefined | null): string =>
  v === undefined || v === null ? '' : `<${name}>${esc(String(v))}</${name}>`;
const set = (name: string, items: string[]): string =>
  `<${name}>${items.map((i) => `<item>${i}</item>`).join('')}</${name}>`;

function errorXml(code: string, message: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${esc(code)}</Code>` +
    `<Message>${esc(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`
  );
}

/** The code a fault's bare status carries (EC2 has no 429; a proxy might). */
function codeFor(status: number): string {
  const known: Record<number, string> = {
    400: 'InvalidParameterValue',
    401: 'AuthFailure',
    403: 'UnauthorizedOperation',
    429: 'RequestLimitExceeded',
    503: 'Unavailable',
  };
  return known[status] ?? (status >= 500 ? 'InternalError' : 'InvalidRequest');
}

const xmlReply = (status: number, xml: string, headers: Record<string, string> = {}): Reply => ({
  status,
  text: xml,
  headers: { 'content-type': 'text/xml;charset=UTF-8', ...headers },
});

/** EC2's per-action token buckets. */
class Buckets {
  private readonly state = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly fixed?: RateLimit) {}
  take(action: string, now: number): boolean {
    const read = action.startsWith('Describe');
    const cap = this.fixed?.limit ?? (read ? 100 : 50);
    const perMs = this.fixed ? this.fixed.limit / this.fixed.windowMs : (read ? 20 : 5) / 1000;
    const b = this.state.get(action) ?? { tokens: cap, at: now };
    b.tokens = Math.min(cap, b.tokens + (now - b.at) * perMs);
    b.at = now;
    this.state.set(action, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** The numbered members of an EC2 list: Name.1, Name.2, … */
function list(p: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; p.has(`${name}.${i}`); i++) out.push(p.get(`${name}.${i}`)!);
  return out;
}

/** Filter.N.Name / Filter.N.Value.M, checked against the names an action knows. */
function filters(p: URLSearchParams, known: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 1; p.has(`Filter.${i}.Name`); i++) {
    const name = p.get(`Filter.${i}.Name`)!;
    if (!known.includes(name)) throw new EmuError(400, `The filter '${name}' is invalid`, 'InvalidParameterValue');
    out.set(name, list(p, `Filter.${i}.Value`));
  }
  return out;
}

/** Every filter matches one of its values (EC2: AND across filters, OR within one). */
function passes(f: Map<string, string[]>, values: (name: string) => (string | null | undefined)[]): boolean {
  for (const [name, want] of f)
    if (!values(name).some((v) => v !== null && v !== undefined && want.includes(v))) return false;
  return true;
}

const required = (p: URLSearchParams, name: string): string => {
  const v = p.get(name);
  if (!v) throw new EmuError(400, `The request must contain the parameter ${name}`, 'MissingParameter');
  return v;
};

function inSubnet(ip: string): boolean {
  const bl = new BlockList();
  bl.addSubnet(SUBNET_CIDR[0], SUBNET_CIDR[1], 'ipv4');
  return isIP(ip) === 4 && bl.check(ip, 'ipv4');
}

// --- SigV4 -----------------------------------------------------------------------------------

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const hmac = (key: string | Buffer, s: string): Buffer => createHmac('sha256', key).update(s).digest();
/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const enc = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalQuery(search: string): string {
  const pairs = search
    .replace(/^\?/, '')
    .split('&')
    .filter(Boolean)
    .map((kv) => {
      const i = kv.indexOf('=');
      const k = i < 0 ? kv : kv.slice(0, i);
      const v = i < 0 ? '' : kv.slice(i + 1);
      return [enc(decodeURIComponent(k)), enc(decodeURIComponent(v))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Why the request's signature is not acceptable, or undefined when it is. */
function sigV4Problem(
  req: IncomingMessage,
  url: URL,
  raw: string,
  keys: Map<string, AwsKeys>,
  region: string,
): string | undefined {
  const auth = req.headers.authorization ?? '';
  const m = new RegExp(
    String.raw`^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,` +
      String.raw`\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$`,
  ).exec(auth);
  if (!m) return 'no AWS4-HMAC-SHA256 Authorization header';
  const [, akid, day, scopeRegion, service, signedHeaders, signature] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const key = keys.get(akid);
  if (!key) return `unknown access key ${akid}`;
  if (scopeRegion !== region || service !== 'ec2') return `credential scoped to ${scopeRegion}/${service}`;
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const t = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (Number.isNaN(t) || !amzDate.startsWith(day) || Math.abs(Date.now() - t) > SKEW_MS)
    return 'X-Amz-Date missing or more than 15 minutes off';
  if (key.sessionToken !== undefined && req.headers['x-amz-security-token'] !== key.sessionToken)
    return 'session token missing or wrong';
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return 'host is not signed';
  const headers = names
    .map((n) => {
      const v = req.headers[n];
      return `${n}:${(Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonical = [
    req.method ?? 'GET',
    url.pathname,
    canonicalQuery(url.search),
    headers,
    signedHeaders,
    sha256(raw),
  ].join('\n');
  const scope = `${day}/${region}/ec2/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secretAccessKey}`, day), region), 'ec2'), 'aws4_request');
  const want = Buffer.from(hmac(signingKey, toSign).toString('hex'));
  return timingSafeEqual(want, Buffer.from(signature)) ? undefined : 'signature does not match';
}

// --- the emulator ----------------------------------------------------------------------------

export async function startAwsEmulator(o: AwsEmulatorOptions): Promise<AwsEmulator> {
  const faults = new Faults();
  const metadataFaults = new Faults();
  const timers = new Timers();
  const region = o.region ?? 'us-east-1';
  const az = `${region}a`;
  const delay = o.actionDelayMs ?? 0;
  const ipsPerEni = o.ipsPerEni ?? 10;
  let buckets = new Buckets(o.rateLimit);

  const keys = new Map<string, AwsKeys>(o.credentials.map((k) => [k.accessKeyId, k]));
  const truth: AwsWorld = { enis: new Map(), eips: new Map(), tables: new Map() };
  const instances: AwsEmulator['instances'] = new Map();
  o.instances.forEach((inst, n) => {
    const eni = `eni-${(0x0a00000 + n + 1).toString(16).padStart(17, '0')}`;
    const hex = (b: number): string => b.toString(16).padStart(2, '0');
    const mac = `0a:3f:00:00:${hex((n >> 8) & 0xff)}:${hex(n & 0xff)}`;
    const role = inst.role === undefined ? 'floatd-ha' : inst.role;
    const roleKeys =
      role === null
        ? null
        : {
            accessKeyId: `ASIA${hex(16).toUpperCase()}`,
            secretAccessKey: randomBytes(30).toString('base64'),
            sessionToken: randomBytes(96).toString('base64'),
          };
    if (roleKeys) keys.set(roleKeys.accessKeyId, roleKeys);
    instances.set(inst.id, { eni, mac, role, keys: roleKeys });
    truth.enis.set(eni, {
      id: eni,
      mac,
      instanceId: inst.id,
      attachmentId: `eni-attach-${hex(17)}`,
      ips: [`10.0.1.${10 + n}`],
      publicIp: `198.51.100.${10 + n}`,
    });
  });
  const eniOf = (instance: string): Eni => {
    const i = instances.get(instance);
    if (!i) throw new Error(`aws emulator: no instance ${instance}`);
    return truth.enis.get(i.eni)!;
  };
  for (const a of o.addresses ?? []) {
    const e: Eip = {
      allocationId: a.allocationId ?? `eipalloc-${hex(17)}`,
      publicIp: a.publicIp,
      eni: null,
      privateIp: null,
      associationId: null,
    };
    if (a.instanceId) {
      const eni = eniOf(a.instanceId);
      Object.assign(e, { eni: eni.id, privateIp: eni.ips[0], associationId: `eipassoc-${hex(17)}` });
    }
    truth.eips.set(e.allocationId, e);
  }
  for (const s of o.secondaryIps ?? []) if (s.instanceId) eniOf(s.instanceId).ips.push(s.ip);
  for (const t of o.routeTables ?? []) {
    truth.tables.set(t.id, {
      id: t.id,
      routes: [
        { dest: VPC_CIDR, eni: null },
        ...t.routes.map((r) => ({ dest: `${r.ip}/32`, eni: r.instanceId ? eniOf(r.instanceId).id : null })),
      ],
    });
  }

  // What Describe shows: a copy of the truth, replaced `delay` ms after each change.
  let shown = structuredClone(truth);
  let shownSeq = 0;
  let seq = 0;
  const changed = (now = false): void => {
    const mine = ++seq;
    const snap = structuredClone(truth);
    const publish = (): void => {
      if (mine > shownSeq) {
        shown = snap;
        shownSeq = mine;
      }
    };
    if (now || delay === 0) publish();
    else timers.after(delay, publish);
    o.onChange?.();
  };

  const instanceOfEni = (w: AwsWorld, eni: string | null): string | null =>
    eni === null ? null : (w.enis.get(eni)?.instanceId ?? null);
  const eipOn = (w: AwsWorld, eni: string, ip: string): Eip | undefined =>
    [...w.eips.values()].find((e) => e.eni === eni && e.privateIp === ip);
  const needEni = (id: string): Eni => {
    const e = truth.enis.get(id);
    if (!e)
      throw new EmuError(400, `The networkInterface ID '${id}' does not exist`, 'InvalidNetworkInterfaceID.NotFound');
    return e;
  };
  /** NetworkInterfaceId, or InstanceId of an instance with exactly one ENI. */
  const targetEni = (p: URLSearchParams): Eni => {
    const eniId = p.get('NetworkInterfaceId');
    if (eniId) return needEni(eniId);
    const iid = p.get('InstanceId');
    if (!iid)
      throw new EmuError(400, 'Either an instance ID or a network interface ID must be given', 'MissingParameter');
    if (!instances.has(iid))
      throw new EmuError(400, `The instance ID '${iid}' does not exist`, 'InvalidInstanceID.NotFound');
    const enis = [...truth.enis.values()].filter((e) => e.instanceId === iid);
    if (enis.length !== 1)
      throw new EmuError(
        400,
        `There are multiple interfaces attached to instance '${iid}'. Please specify an interface ID for the ` +
          'operation instead.',
        'InvalidInstanceID',
      );
    return enis[0]!;
  };
  const dropAssociation = (eni: string, ip: string): void => {
    const e = eipOn(truth, eni, ip);
    if (e) Object.assign(e, { eni: null, privateIp: null, associationId: null });
  };
  const tableOf = (w: AwsWorld, id: string): RouteTable => {
    const t = w.tables.get(id);
    if (!t) throw new EmuError(400, `The routeTable ID '${id}' does not exist`, 'InvalidRouteTableID.NotFound');
    return t;
  };

  const eipXml = (w: AwsWorld, e: Eip): string =>
    [
      el('publicIp', e.publicIp),
      el('allocationId', e.allocationId),
      el('domain', 'vpc'),
      el('instanceId', instanceOfEni(w, e.eni)),
      el('associationId', e.associationId),
      el('networkInterfaceId', e.eni),
      e.eni ? el('networkInterfaceOwnerId', ACCOUNT) : '',
      el('privateIpAddress', e.privateIp),
      el('publicIpv4Pool', 'amazon'),
      el('networkBorderGroup', region),
      '<tagSet/>',
    ].join('');
  const assocXml = (e: Eip | undefined): string =>
    e
      ? [
          '<association>',
          el('publicIp', e.publicIp),
          el('publicDnsName', `ec2-${e.publicIp.replace(/\./g, '-')}.compute-1.amazonaws.com`),
          el('ipOwnerId', ACCOUNT),
          el('allocationId', e.allocationId),
          el('associationId', e.associationId),
          '</association>',
        ].join('')
      : '';
  const eniXml = (w: AwsWorld, n: Eni): string =>
    [
      el('networkInterfaceId', n.id),
      el('subnetId', SUBNET),
      el('vpcId', VPC),
      el('availabilityZone', az),
      el('description', ''),
      el('ownerId', ACCOUNT),
      el('requesterManaged', false),
      el('status', n.instanceId ? 'in-use' : 'available'),
      el('macAddress', n.mac),
      el('privateIpAddress', n.ips[0]),
      el('sourceDestCheck', true),
      '<groupSet/>',
      n.instanceId
        ? [
            '<attachment>',
            el('attachmentId', n.attachmentId),
            el('instanceId', n.instanceId),
            el('instanceOwnerId', ACCOUNT),
            el('deviceIndex', 0),
            el('status', 'attached'),
            el('deleteOnTermination', true),
            '</attachment>',
          ].join('')
        : '',
      assocXml(eipOn(w, n.id, n.ips[0]!)),
      set(
        'privateIpAddressesSet',
        n.ips.map((ip, i) => `${el('privateIpAddress', ip)}${el('primary', i === 0)}${assocXml(eipOn(w, n.id, ip))}`),
      ),
      '<ipv6AddressesSet/>',
      el('interfaceType', 'interface'),
      '<tagSet/>',
    ].join('');

  type Action = (p: URLSearchParams) => string;
  const actions: Record<string, Action> = {
    DescribeAddresses(p) {
      const w = shown;
      const ids = list(p, 'AllocationId');
      const ips = list(p, 'PublicIp');
      const all = [...w.eips.values()];
      for (const id of ids)
        if (!w.eips.has(id))
          throw new EmuError(400, `The allocation ID '${id}' does not exist`, 'InvalidAllocationID.NotFound');
      for (const ip of ips)
        if (!all.some((e) => e.publicIp === ip))
          throw new EmuError(400, `Address '${ip}' not found.`, 'InvalidAddress.NotFound');
      const f = filters(p, [
        'public-ip',
        'allocation-id',
        'association-id',
        'instance-id',
        'network-interface-id',
        'private-ip-address',
        'domain',
      ]);
      const hits = all.filter(
        (e) =>
          (ids.length === 0 || ids.includes(e.allocationId)) &&
          (ips.length === 0 || ips.includes(e.publicIp)) &&
          passes(f, (n) => [
            (
              {
                'public-ip': e.publicIp,
                'allocation-id': e.allocationId,
                'association-id': e.associationId,
                'instance-id': instanceOfEni(w, e.eni),
                'network-interface-id': e.eni,
                'private-ip-address': e.privateIp,
                domain: 'vpc',
              } as Record<string, string | null>
            )[n],
          ]),
      );
      return set(
        'addressesSet',
        hits.map((e) => eipXml(w, e)),
      );
    },
    AssociateAddress(p) {
      const alloc = required(p, 'AllocationId');
      const eip = truth.eips.get(alloc);
      if (!eip) throw new EmuError(400, `The allocation ID '${alloc}' does not exist`, 'InvalidAllocationID.NotFound');
      const eni = targetEni(p);
      const ip = p.get('PrivateIpAddress') ?? eni.ips[0]!;
      if (!eni.ips.includes(ip))
        throw new EmuError(400, `The private IP address ${ip} is not assigned to ${eni.id}`, 'InvalidParameterValue');
      const other = eipOn(truth, eni.id, ip);
      const elsewhere = eip.eni !== null && !(eip.eni === eni.id && eip.privateIp === ip);
      if ((elsewhere || (other && other !== eip)) && p.get('AllowReassociation') === 'false') {
        // EC2's wording (ansible/ansible#27385).
        const held = elsewhere ? eip : other!;
        throw new EmuError(
          400,
          `resource ${held.allocationId} is already associated with associate-id ${held.associationId ?? ''}`,
          'Resource.AlreadyAssociated',
        );
      }
      if (other && other !== eip) dropAssociation(eni.id, ip);
      Object.assign(eip, { eni: eni.id, privateIp: ip, associationId: `eipassoc-${hex(17)}` });
      changed();
      return `${el('return', true)}${el('associationId', eip.associationId)}`;
    },
    DisassociateAddress(p) {
      const id = p.get('AssociationId');
      const ip = p.get('PublicIp');
      const eip = [...truth.eips.values()].find((e) =>
        id ? e.associationId === id : ip !== null && e.publicIp === ip,
      );
      if (!eip || !eip.associationId)
        throw new EmuError(
          400,
          `The association ID '${id ?? ip ?? ''}' does not exist`,
          'InvalidAssociationID.NotFound',
        );
      Object.assign(eip, { eni: null, privateIp: null, associationId: null });
      changed();
      return el('return', true);
    },
    DescribeNetworkInterfaces(p) {
      const w = shown;
      const ids = list(p, 'NetworkInterfaceId');
      for (const id of ids)
        if (!w.enis.has(id))
          throw new EmuError(
            400,
            `The networkInterface ID '${id}' does not exist`,
            'InvalidNetworkInterfaceID.NotFound',
          );
      const f = filters(p, [
        'network-interface-id',
        'addresses.private-ip-address',
        'private-ip-address',
        'attachment.instance-id',
        'attachment.device-index',
        'mac-address',
        'subnet-id',
        'vpc-id',
        'status',
        'availability-zone',
      ]);
      const hits = [...w.enis.values()].filter(
        (n) =>
          (ids.length === 0 || ids.includes(n.id)) &&
          passes(f, (name) => {
            switch (name) {
              case 'addresses.private-ip-address':
                return n.ips;
              case 'private-ip-address':
                return [n.ips[0]];
              case 'attachment.instance-id':
                return [n.instanceId];
              case 'attachment.device-index':
                return [n.instanceId ? '0' : null];
              case 'mac-address':
                return [n.mac];
              case 'status':
                return [n.instanceId ? 'in-use' : 'available'];
              default:
                return [
                  (
                    {
                      'network-interface-id': n.id,
                      'subnet-id': SUBNET,
                      'vpc-id': VPC,
                      'availability-zone': az,
                    } as Record<string, string>
                  )[name],
                ];
            }
          }),
      );
      return set(
        'networkInterfaceSet',
        hits.map((n) => eniXml(w, n)),
      );
    },
    AssignPrivateIpAddresses(p) {
      const eni = needEni(required(p, 'NetworkInterfaceId'));
      const allow = p.get('AllowReassignment') === 'true';
      let ips = list(p, 'PrivateIpAddress');
      const count = Number(p.get('SecondaryPrivateIpAddressCount') ?? 0);
      if (ips.length === 0 && count > 0) {
        const used = new Set([...truth.enis.values()].flatMap((n) => n.ips));
        for (let h = 4; h < 255 && ips.length < count; h++) if (!used.has(`10.0.1.${h}`)) ips.push(`10.0.1.${h}`);
      }
      if (ips.length === 0)
        throw new EmuError(
          400,
          'The request must contain the parameter PrivateIpAddress or SecondaryPrivateIpAddressCount',
          'MissingParameter',
        );
      ips = ips.filter((ip) => !eni.ips.includes(ip));
      for (const ip of ips) {
        if (!inSubnet(ip))
          throw new EmuError(
            400,
            `Address ${ip} does not fall within the subnet's address range`,
            'InvalidParameterValue',
          );
        const owner = [...truth.enis.values()].find((n) => n.ips.includes(ip));
        if (owner && owner.ips[0] === ip)
          throw new EmuError(
            400,
            `Address ${ip} is the primary private IP address of ${owner.id}`,
            'InvalidParameterValue',
          );
        if (owner && !allow)
          throw new EmuError(
            400,
            `Some of the specified addresses are already assigned to ENI '${owner.id}'`,
            'PrivateIpAddressInUse',
          );
      }
      if (eni.ips.length + ips.length > ipsPerEni)
        throw new EmuError(400, 'Number of private addresses will exceed limit.', 'PrivateIpAddressLimitExceeded');
      for (const ip of ips) {
        const owner = [...truth.enis.values()].find((n) => n.ips.includes(ip));
        if (owner) {
          dropAssociation(owner.id, ip);
          owner.ips = owner.ips.filter((x) => x !== ip);
        }
        eni.ips.push(ip);
      }
      if (ips.length) changed();
      return `${el('return', true)}${el('networkInterfaceId', eni.id)}${set(
        'assignedPrivateIpAddressesSet',
        ips.map((ip) => el('privateIpAddress', ip)),
      )}<assignedIpv4PrefixSet/>`;
    },
    UnassignPrivateIpAddresses(p) {
      const eni = needEni(required(p, 'NetworkInterfaceId'));
      const ips = list(p, 'PrivateIpAddress');
      if (ips.length === 0)
        throw new EmuError(400, 'The request must contain the parameter PrivateIpAddress', 'MissingParameter');
      for (const ip of ips) {
        if (!eni.ips.includes(ip))
          throw new EmuError(
            400,
            `Some of the specified addresses are not assigned to interface ${eni.id}`,
            'InvalidParameterValue',
          );
        if (eni.ips[0] === ip)
          throw new EmuError(
            400,
            'The primary private IP address of an interface cannot be unassigned',
            'InvalidParameterValue',
          );
      }
      for (const ip of ips) dropAssociation(eni.id, ip);
      eni.ips = eni.ips.filter((x) => !ips.includes(x));
      changed();
      return el('return', true);
    },
    DescribeRouteTables(p) {
      const w = shown;
      const ids = list(p, 'RouteTableId');
      for (const id of ids) tableOf(w, id);
      const f = filters(p, [
        'route-table-id',
        'vpc-id',
        'route.destination-cidr-block',
        'route.instance-id',
        'route.network-interface-id',
      ]);
      const hits = [...w.tables.values()].filter(
        (t) =>
          (ids.length === 0 || ids.includes(t.id)) &&
          passes(f, (name) => {
            if (name === 'route-table-id') return [t.id];
            if (name === 'vpc-id') return [VPC];
            if (name === 'route.destination-cidr-block') return t.routes.map((r) => r.dest);
            if (name === 'route.instance-id') return t.routes.map((r) => instanceOfEni(w, r.eni));
            return t.routes.map((r) => r.eni);
          }),
      );
      return set(
        'routeTableSet',
        hits.map((t) =>
          [
            el('routeTableId', t.id),
            el('vpcId', VPC),
            el('ownerId', ACCOUNT),
            set(
              'routeSet',
              t.routes.map((r) =>
                r.dest === VPC_CIDR
                  ? [
                      el('destinationCidrBlock', r.dest),
                      el('gatewayId', 'local'),
                      el('state', 'active'),
                      el('origin', 'CreateRouteTable'),
                    ].join('')
                  : [
                      el('destinationCidrBlock', r.dest),
                      el('instanceId', instanceOfEni(w, r.eni)),
                      instanceOfEni(w, r.eni) ? el('instanceOwnerId', ACCOUNT) : '',
                      el('networkInterfaceId', r.eni),
                      el('state', r.eni && instanceOfEni(w, r.eni) ? 'active' : 'blackhole'),
                      el('origin', 'CreateRoute'),
                    ].join(''),
              ),
            ),
            '<associationSet/><propagatingVgwSet/><tagSet/>',
          ].join(''),
        ),
      );
    },
    ReplaceRoute: (p) => route(p, 'replace'),
    CreateRoute: (p) => route(p, 'create'),
    DescribeInstances(p) {
      const w = shown;
      const ids = list(p, 'InstanceId');
      for (const id of ids)
        if (!instances.has(id))
          throw new EmuError(400, `The instance ID '${id}' does not exist`, 'InvalidInstanceID.NotFound');
      const items = [...instances.keys()]
        .filter((id) => ids.length === 0 || ids.includes(id))
        .map((id) => {
          const n = w.enis.get(instances.get(id)!.eni)!;
          const pub = eipOn(w, n.id, n.ips[0]!)?.publicIp ?? n.publicIp;
          return `${el('reservationId', `r-${hex(17)}`)}${el('ownerId', ACCOUNT)}<groupSet/>${set('instancesSet', [
            [
              el('instanceId', id),
              `<instanceState>${el('code', 16)}${el('name', 'running')}</instanceState>`,
              el('instanceType', 't3.micro'),
              `<placement>${el('availabilityZone', az)}${el('tenancy', 'default')}</placement>`,
              el('privateIpAddress', n.ips[0]),
              el('ipAddress', pub),
              el('subnetId', SUBNET),
              el('vpcId', VPC),
              el('sourceDestCheck', true),
              set('networkInterfaceSet', [
                [
                  el('networkInterfaceId', n.id),
                  el('macAddress', n.mac),
                  el('privateIpAddress', n.ips[0]),
                  '<attachment>',
                  el('attachmentId', n.attachmentId),
                  el('deviceIndex', 0),
                  el('status', 'attached'),
                  '</attachment>',
                ].join(''),
              ]),
            ].join(''),
          ])}`;
        });
      return set('reservationSet', items);
    },
  };

  function route(p: URLSearchParams, how: 'replace' | 'create'): string {
    const t = tableOf(truth, required(p, 'RouteTableId'));
    const dest = required(p, 'DestinationCidrBlock');
    const eni = targetEni(p);
    const r = t.routes.find((x) => x.dest === dest);
    if (how === 'replace' && !r)
      throw new EmuError(
        400,
        `There is no route defined for '${dest}' in the route table. Use CreateRoute instead.`,
        'InvalidRoute.NotFound',
      );
    if (how === 'create' && r)
      throw new EmuError(400, `The route identified by ${dest} already exists.`, 'RouteAlreadyExists');
    if (r?.dest === VPC_CIDR)
      throw new EmuError(400, `The local route ${dest} cannot be replaced`, 'InvalidParameterValue');
    if (r) r.eni = eni.id;
    else t.routes.push({ dest, eni: eni.id });
    changed();
    return el('return', true);
  }

  const answer = (
    req: IncomingMessage,
    url: URL,
    method: string,
    raw: string,
    action: string,
    params: URLSearchParams,
    fault: ReturnType<Faults['take']>,
  ): Reply => {
    if (fault?.kind === 'status')
      return xmlReply(
        fault.status,
        errorXml(codeFor(fault.status), `fault ${fault.status}`),
        fault.status === 429 ? { 'retry-after': String(fault.retryAfterS ?? 1) } : {},
      );
    if (sigV4Problem(req, url, raw, keys, region) !== undefined)
      return xmlReply(401, errorXml('AuthFailure', AUTH_MESSAGE));
    if (!buckets.take(action, Date.now()))
      return xmlReply(503, errorXml('RequestLimitExceeded', 'Request limit exceeded.'));
    if ((method !== 'GET' && method !== 'POST') || url.pathname !== '/')
      return xmlReply(400, errorXml('InvalidAction', `${method} ${url.pathname} is not an EC2 Query request`));
    const handler = Object.hasOwn(actions, action) ? actions[action] : undefined;
    if (!handler)
      return xmlReply(400, errorXml('InvalidAction', `The action ${action} is not valid for this web service.`));
    if (params.get('Version') !== VERSION)
      return xmlReply(400, errorXml('MissingParameter', `The request must contain the parameter Version (${VERSION})`));
    try {
      return xmlReply(
        200,
        `<?xml version="1.0" encoding="UTF-8"?>\n` +
          `<${action}Response xmlns="${NS}">${el('requestId', randomUUID())}${handler(params)}</${action}Response>`,
      );
    } catch (e) {
      if (e instanceof EmuError) return xmlReply(e.status, errorXml(e.code ?? codeFor(e.status), e.message));
      throw e;
    }
  };

  const calls: AwsEmulator['calls'] = [];
  let handle: AwsEmulator | undefined;
  const api = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    if (url.pathname.startsWith('/_emulator/')) {
      send(res, await controlRequest(handle!, method, url.pathname, raw));
      return;
    }
    const params = new URLSearchParams(url.search);
    if (method === 'POST') for (const [k, v] of new URLSearchParams(raw)) params.append(k, v);
    const action = params.get('Action') ?? '';
    // Every request goes to "/": the log names the action so tests can aim faults at one.
    const path = action ? `/?Action=${action}` : url.pathname;
    const fault = faults.take(method, path, ['status', 'hang', 'slow']);
    if (await applyTransportFault(fault, req, res)) {
      faults.log.push({ method, path, status: 'hang', at: Date.now() });
      return;
    }
    const reply = answer(req, url, method, raw, action, params, fault);
    faults.log.push({ method, path, status: reply.status, at: Date.now() });
    calls.push({ action, params: Object.fromEntries(params), status: reply.status });
    if (calls.length > 200) calls.shift();
    send(res, reply);
  };
  const { server, url: apiUrl } = await listen((req, res) => {
    api(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, xmlReply(500, errorXml('InternalError', String(e))));
    });
  }, listenOf(o));

  // IMDSv2: tokens belong to the instance that issued them.
  const tokens = new Map<string, { instance: string; until: number }>();
  const metaTree = (id: string): MetaTree => {
    const inst = instances.get(id)!;
    const n = truth.enis.get(inst.eni)!;
    const pub = eipOn(truth, n.id, n.ips[0]!)?.publicIp ?? n.publicIp;
    const assoc = Object.fromEntries(
      [...truth.eips.values()].filter((e) => e.eni === n.id).map((e) => [e.publicIp, e.privateIp ?? '']),
    );
    const now = new Date();
    const creds =
      inst.keys && inst.role
        ? {
            [inst.role]: JSON.stringify(
              {
                Code: 'Success',
                LastUpdated: now.toISOString(),
                Type: 'AWS-HMAC',
                AccessKeyId: inst.keys.accessKeyId,
                SecretAccessKey: inst.keys.secretAccessKey,
                Token: inst.keys.sessionToken,
                Expiration: new Date(now.getTime() + 6 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
              },
              null,
              2,
            ),
          }
        : undefined;
    const doc = {
      accountId: ACCOUNT,
      architecture: 'x86_64',
      availabilityZone: az,
      imageId: 'ami-0abcdef1234567890',
      instanceId: id,
      instanceType: 't3.micro',
      privateIp: n.ips[0],
      region,
      version: '2017-09-30',
    };
    return {
      latest: {
        'meta-data': {
          'ami-id': 'ami-0abcdef1234567890',
          hostname: `ip-${n.ips[0]!.replace(/\./g, '-')}.ec2.internal`,
          'instance-id': id,
          'instance-type': 't3.micro',
          'local-ipv4': n.ips[0],
          mac: n.mac,
          'public-ipv4': pub,
          placement: { 'availability-zone': az, region },
          network: {
            interfaces: {
              macs: {
                [n.mac]: {
                  'device-number': '0',
                  'interface-id': n.id,
                  'local-ipv4s': n.ips.join('\n'),
                  mac: n.mac,
                  'owner-id': ACCOUNT,
                  'public-ipv4s': [...Object.keys(assoc), ...(assoc[pub] === undefined ? [pub] : [])].join('\n'),
                  'ipv4-associations': Object.keys(assoc).length ? assoc : undefined,
                  'security-group-ids': 'sg-0123456789abcdef0',
                  'subnet-id': SUBNET,
                  'subnet-ipv4-cidr-block': SUBNET_CIDR.join('/'),
                  'vpc-id': VPC,
                  'vpc-ipv4-cidr-block': VPC_CIDR,
                  'vpc-ipv4-cidr-blocks': VPC_CIDR,
                },
              },
            },
          },
          iam: creds
            ? {
                info: JSON.stringify({
                  Code: 'Success',
                  InstanceProfileArn: `arn:aws:iam::${ACCOUNT}:instance-profile/${inst.role!}`,
                }),
                'security-credentials': creds,
              }
            : undefined,
        },
        dynamic: { 'instance-identity': { document: JSON.stringify(doc, null, 2) } },
      },
    };
  };
  const meta = await startMetadataServers(
    [...instances.keys()],
    metadataFaults,
    (id, r: EmuRequest): Reply => {
      if (r.path === '/latest/api/token') {
        if (r.method !== 'PUT') return { status: 405, text: 'Method Not Allowed' };
        if (r.headers['x-forwarded-for'] !== undefined) return { status: 403, text: 'Forbidden' };
        const ttl = Number(r.headers['x-aws-ec2-metadata-token-ttl-seconds']);
        if (!Number.isInteger(ttl) || ttl < 1 || ttl > TTL_MAX_S) return { status: 400, text: 'Bad Request' };
        const token = randomBytes(42).toString('base64');
        tokens.set(token, { instance: id, until: Date.now() + ttl * 1000 });
        return { status: 200, text: token, headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) } };
      }
      if (r.method !== 'GET') return { status: 405, text: 'Method Not Allowed' };
      const given = r.headers['x-aws-ec2-metadata-token'];
      const t = typeof given === 'string' ? tokens.get(given) : undefined;
      if (given === undefined ? !o.imdsV1 : !t || t.instance !== id || t.until < Date.now())
        return { status: 401, text: 'Unauthorized' };
      return serveTree(metaTree(id), r.path);
    },
    o.host !== undefined ? { host: o.host } : {},
  );

  /** The holder of an address: an Elastic IP, a secondary private IP, or a /32 route. */
  const holderIn = (w: AwsWorld, address: string): string | null => {
    const eip = [...w.eips.values()].find((e) => e.publicIp === address);
    if (eip) return instanceOfEni(w, eip.eni) ?? eip.eni;
    const eni = [...w.enis.values()].find((n) => n.ips.includes(address));
    if (eni) return eni.instanceId ?? eni.id;
    for (const t of w.tables.values()) {
      const r = t.routes.find((x) => x.dest === `${address}/32`);
      if (r) return instanceOfEni(w, r.eni) ?? r.eni;
    }
    if ((o.secondaryIps ?? []).some((s) => s.ip === address)) return null;
    throw new Error(`aws emulator has no address ${address}`);
  };
  const addresses = (): string[] => [
    ...[...truth.eips.values()].map((e) => e.publicIp),
    ...(o.secondaryIps ?? []).map((s) => s.ip),
    ...(o.routeTables ?? []).flatMap((t) => t.routes.map((r) => r.ip)),
  ];

  handle = {
    ...commonHandle('aws', {
      api: { url: apiUrl, server, setRateLimit: (r) => (buckets = new Buckets(r)) },
      meta,
      faults,
      metadataFaults,
      timers,
      holders: () => Object.fromEntries(addresses().map((a) => [a, holderIn(truth, a)])),
    }),
    region,
    state: truth,
    instances,
    calls,
    forgetImdsTokens: () => tokens.clear(),
    holder: (address) => holderIn(truth, address),
    setHolder(address, inst) {
      const to = inst === null ? null : eniOf(String(inst));
      const eip = [...truth.eips.values()].find((e) => e.publicIp === address);
      if (eip)
        Object.assign(
          eip,
          to
            ? { eni: to.id, privateIp: to.ips[0], associationId: `eipassoc-${hex(17)}` }
            : { eni: null, privateIp: null, associationId: null },
        );
      else if ((o.secondaryIps ?? []).some((s) => s.ip === address)) {
        for (const n of truth.enis.values()) n.ips = n.ips.filter((x, i) => i === 0 || x !== address);
        to?.ips.push(address);
      } else {
        for (const t of truth.tables.values()) {
          const r = t.routes.find((x) => x.dest === `${address}/32`);
          if (r) r.eni = to?.id ?? null;
        }
      }
      changed(true);
    },
  };
  return handle;
}
