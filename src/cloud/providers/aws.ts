/**
 * AWS EC2 through the official SDK (@aws-sdk/client-ec2: EC2 Query protocol, SigV4), one of
 * three ways to move an address between instances (`mode`):
 *   whoAmI:  IMDSv2 PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds), then GETs with
 *            X-aws-ec2-metadata-token: /latest/meta-data/instance-id and, alongside it, mac →
 *            network/interfaces/macs/{mac}/interface-id (our ENI) and placement/region when the
 *            config does not give them (or instance_id from the config: no metadata at all)
 *   eip (default; an Elastic IP):
 *     holder:  DescribeAddresses PublicIp.1=ADDR (AllocationId.1 when known) → instanceId,
 *              else networkInterfaceId, else nobody
 *     assign:  AssociateAddress AllocationId, NetworkInterfaceId, AllowReassociation=true
 *   secondary_ip (a secondary private IPv4 in the subnet):
 *     holder:  DescribeNetworkInterfaces Filter addresses.private-ip-address=ADDR → attachment.instanceId
 *     assign:  AssignPrivateIpAddresses NetworkInterfaceId, PrivateIpAddress.1, AllowReassignment=true
 *   route (an overlay address outside the VPC CIDR, routed by route tables):
 *     holder:  DescribeRouteTables RouteTableId.N → the ADDR/32 route's instanceId (or its ENI's)
 *     assign:  ReplaceRoute ADDR/32 → our ENI in each table of route_table (CreateRoute where
 *              the table has no such route yet)
 * EC2 answers a mutation at once but is eventually consistent, so assign then repeats the
 * holder Describe every poll_interval until it shows this instance (at most action_timeout);
 * the reconciler's verification right after would otherwise often see the old holder.
 * Describe calls go as GET (the Query API takes either verb for every action), mutations as
 * POST, so a log line tells reads from writes. Our ENI: network_interface, else IMDS, else
 * (instance_id set) DescribeNetworkInterfaces for the instance's device 0.
 * Credentials: the token is ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]; an empty token
 * means the instance role, read from IMDS iam/security-credentials/. The SDK is given its
 * credentials, region and endpoint, so its own chain never probes 169.254.169.254, and
 * makes one attempt (maxAttempts 1): retrying is the reconciler's job.
 * This file is the driver; IMDS and credentials are in aws-imds.ts, the SDK's loading, its
 * middlewares and the EC2 error mapping in aws-ec2.ts.
 */
import { isIP } from 'node:net';
import type {
  AssignPrivateIpAddressesCommandOutput,
  AssociateAddressCommandOutput,
  CreateRouteCommandOutput,
  DescribeAddressesCommandOutput,
  DescribeNetworkInterfacesCommandOutput,
  DescribeRouteTablesCommandOutput,
  EC2Client,
  ReplaceRouteCommandOutput,
} from '@aws-sdk/client-ec2';
import { CloudError, type CloudProvider, type ProviderFactory, type ProviderSettings } from '../types.js';
import { checkedId, optionMs, trimBase } from '../http.js';
import { followAction } from '../action-poll.js';
import { VERSION } from '../../util/version.js';
import { realClock, timeoutSignalUs, US_PER_MS } from '../../util/clock.js';
import { describeAsGet, ec2Failure, loadSdk, observe, type Sdk, type Seen, type Stack } from './aws-ec2.js';
import { AWS_METADATA_URL, AwsMetadata, parseAwsToken, RE, type Creds } from './aws-imds.js';

const MODES = ['eip', 'secondary_ip', 'route'] as const;
type Mode = (typeof MODES)[number];

class Aws implements CloudProvider {
  readonly name = 'aws';
  readonly needsLocalAddress: boolean;
  private readonly mode: Mode;
  private readonly md: AwsMetadata;
  private readonly pollMs: number;
  private readonly limitMs: number;
  private readonly problems: string[] = [];
  private readonly tables: string[];
  private readonly creds: Creds | 'role' | undefined;
  private regionName: string | undefined;
  private allocationId: string | undefined;
  private eniId: string | undefined;
  private self: string | undefined;
  private clientP: Promise<EC2Client> | undefined;

  private wallMs(): number {
    return (this.s.clock ?? realClock).wallMs();
  }

  constructor(private readonly s: ProviderSettings) {
    const o = s.options;
    this.md = new AwsMetadata(s, trimBase(s.metadataUrl ?? AWS_METADATA_URL));
    this.pollMs = optionMs(o, 'poll_interval', 1000, this.problems);
    this.limitMs = optionMs(o, 'action_timeout', 60_000, this.problems);
    this.mode = (MODES as readonly string[]).includes(o.mode ?? 'eip') ? ((o.mode ?? 'eip') as Mode) : 'eip';
    if (o.mode !== undefined && o.mode !== this.mode)
      this.problems.push(`mode must be one of ${MODES.join(', ')} (got "${o.mode}")`);
    this.needsLocalAddress = this.mode !== 'eip';
    this.creds = parseAwsToken(s.token);

    const byAllocation = this.mode === 'eip' && RE.alloc.test(s.address);
    if (!byAllocation && isIP(s.address) !== 4) {
      this.problems.push(
        `address "${s.address}" must be an IPv4 address` +
          `${this.mode === 'eip' ? " or the Elastic IP's allocation id (eipalloc-…)" : ''}`,
      );
    }
    const given = o.allocation_id ?? (byAllocation ? s.address : undefined);
    if (given !== undefined && this.mode !== 'eip') this.problems.push('allocation_id applies to mode eip only');
    else if (given !== undefined && !RE.alloc.test(given))
      this.problems.push(`allocation_id must look like eipalloc-0123456789abcdef0 (got "${given}")`);
    else this.allocationId = given;
    if (o.network_interface !== undefined && !RE.eni.test(o.network_interface))
      this.problems.push(`network_interface must look like eni-0123456789abcdef0 (got "${o.network_interface}")`);
    else this.eniId = o.network_interface;
    if (o.region !== undefined && !RE.region.test(o.region))
      this.problems.push(`region must look like us-east-1 (got "${o.region}")`);
    else this.regionName = o.region;
    this.tables = (o.route_table ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    if (this.mode === 'route' && this.tables.length === 0)
      this.problems.push('mode route needs route_table rtb-… (a comma list for several tables)');
    if (this.mode !== 'route' && o.route_table !== undefined)
      this.problems.push('route_table applies to mode route only');
    for (const t of this.tables) {
      if (!RE.rtb.test(t)) this.problems.push(`route_table entries must look like rtb-0123456789abcdef0 (got "${t}")`);
    }
    // Loaded now (the runner builds its driver at startup), so the first failover does not wait for it.
    loadSdk().catch(() => undefined);
  }

  async whoAmI(): Promise<string> {
    this.check();
    if (this.s.instanceId !== undefined) return (this.self = instanceId(this.s.instanceId, 'instance_id'));
    // What assign will need from the metadata service is read now, while nothing is urgent.
    const [id] = await Promise.all([
      this.md.imds('/latest/meta-data/instance-id'),
      this.eniId === undefined ? this.imdsEni() : undefined,
      this.regionName === undefined ? this.region() : undefined,
    ]);
    return (this.self = instanceId(id.trim(), 'the metadata service instance-id'));
  }

  async holder(): Promise<string | null> {
    this.check();
    if (this.mode === 'eip') return this.eipHolder();
    if (this.mode === 'secondary_ip') return this.secondaryHolder();
    return this.routeHolder();
  }

  async assign(self: string): Promise<void> {
    this.check();
    instanceId(self, 'the instance to assign to');
    const eni = await this.eni(self);
    let what: string;
    if (this.mode === 'eip') {
      const allocationId = await this.allocation();
      await this.call<AssociateAddressCommandOutput>(
        'AssociateAddress',
        (k) =>
          new k.AssociateAddressCommand({
            AllocationId: allocationId,
            NetworkInterfaceId: eni,
            AllowReassociation: true,
          }),
      );
      what = `AssociateAddress of ${allocationId}`;
    } else if (this.mode === 'secondary_ip') {
      await this.call<AssignPrivateIpAddressesCommandOutput>(
        'AssignPrivateIpAddresses',
        (k) =>
          new k.AssignPrivateIpAddressesCommand({
            NetworkInterfaceId: eni,
            PrivateIpAddresses: [this.s.address],
            AllowReassignment: true,
          }),
      );
      what = `AssignPrivateIpAddresses of ${this.s.address}`;
    } else {
      for (const table of this.tables) await this.route(table, eni);
      what = `ReplaceRoute of ${this.s.address}/32`;
    }
    await followAction(
      {
        what: `aws ${what} to ${self} (${eni})`,
        intervalMs: this.pollMs,
        limitMs: this.limitMs,
        ...(this.s.signal ? { signal: this.s.signal } : {}),
      },
      async () => ((await this.holder()) === self ? { state: 'done' } : { state: 'running' }),
    );
  }

  private async eipHolder(): Promise<string | null> {
    const id = this.allocationId;
    const out = await this.call<DescribeAddressesCommandOutput>(
      'DescribeAddresses',
      (k) => new k.DescribeAddressesCommand(id ? { AllocationIds: [id] } : { PublicIps: [this.s.address] }),
    );
    const a = out.Addresses?.[0];
    if (!a) throw new CloudError('not_found', `aws: no Elastic IP ${id ?? this.s.address} in this account and region`);
    if (isIP(this.s.address) === 4 && a.PublicIp !== undefined && a.PublicIp !== this.s.address) {
      throw new CloudError(
        'invalid',
        `aws: allocation_id ${a.AllocationId ?? '?'} is the Elastic IP ${a.PublicIp}, not ${this.s.address}`,
      );
    }
    if (this.allocationId === undefined && a.AllocationId) this.allocationId = a.AllocationId;
    return a.InstanceId ?? a.NetworkInterfaceId ?? null;
  }

  private async secondaryHolder(): Promise<string | null> {
    const out = await this.call<DescribeNetworkInterfacesCommandOutput>(
      'DescribeNetworkInterfaces',
      (k) =>
        new k.DescribeNetworkInterfacesCommand({
          Filters: [{ Name: 'addresses.private-ip-address', Values: [this.s.address] }],
        }),
    );
    const n = out.NetworkInterfaces?.[0];
    return n ? (n.Attachment?.InstanceId ?? n.NetworkInterfaceId ?? null) : null;
  }

  /** The /32's target in every table; several different targets read as "not settled". */
  private async routeHolder(): Promise<string | null> {
    const dest = `${this.s.address}/32`;
    const out = await this.call<DescribeRouteTablesCommandOutput>(
      'DescribeRouteTables',
      (k) => new k.DescribeRouteTablesCommand({ RouteTableIds: this.tables }),
    );
    const targets: (string | null)[] = [];
    for (const t of this.tables) {
      const table = out.RouteTables?.find((x) => x.RouteTableId === t);
      if (!table) throw new CloudError('not_found', `aws: route table ${t} was not in the DescribeRouteTables answer`);
      const r = table.Routes?.find((x) => x.DestinationCidrBlock === dest);
      targets.push(r ? (r.InstanceId ?? r.NetworkInterfaceId ?? null) : null);
    }
    const first = targets[0] ?? null;
    if (targets.every((x) => x === first)) return first;
    // Split between tables (a move cut short): name one that is not us, so the move is redone.
    return targets.find((x) => x !== this.self) ?? first;
  }

  private async route(table: string, eni: string): Promise<void> {
    const r = { RouteTableId: table, DestinationCidrBlock: `${this.s.address}/32`, NetworkInterfaceId: eni };
    try {
      await this.call<ReplaceRouteCommandOutput>('ReplaceRoute', (k) => new k.ReplaceRouteCommand(r));
    } catch (e) {
      // No such route in this table yet: the first move creates it.
      if (!(e instanceof CloudError) || !/ InvalidRoute\.NotFound:/.test(e.message)) throw e;
      await this.call<CreateRouteCommandOutput>('CreateRoute', (k) => new k.CreateRouteCommand(r));
    }
  }

  /** The Elastic IP's allocation id: configured, or found once by address and remembered. */
  private async allocation(): Promise<string> {
    if (this.allocationId === undefined) await this.eipHolder();
    if (this.allocationId === undefined)
      throw new CloudError('server', `aws DescribeAddresses: the answer for ${this.s.address} has no allocationId`);
    return this.allocationId;
  }

  /** Our ENI: configured, from IMDS (read by whoAmI), or the instance's device 0 from the API. */
  private async eni(self: string): Promise<string> {
    if (this.eniId !== undefined) return this.eniId;
    if (this.s.instanceId === undefined) return this.imdsEni();
    const out = await this.call<DescribeNetworkInterfacesCommandOutput>(
      'DescribeNetworkInterfaces',
      (k) =>
        new k.DescribeNetworkInterfacesCommand({
          Filters: [
            { Name: 'attachment.instance-id', Values: [self] },
            { Name: 'attachment.device-index', Values: ['0'] },
          ],
        }),
    );
    const id = out.NetworkInterfaces?.[0]?.NetworkInterfaceId;
    if (!id)
      throw new CloudError(
        'not_found',
        `aws: instance ${self} has no network interface at device index 0; set network_interface`,
      );
    return (this.eniId = id);
  }

  private async imdsEni(): Promise<string> {
    const mac = (await this.md.imds('/latest/meta-data/mac')).trim();
    if (!RE.mac.test(mac))
      throw new CloudError('server', `aws metadata: mac is "${mac.slice(0, 40)}", not a MAC address`);
    const id = (await this.md.imds(`/latest/meta-data/network/interfaces/macs/${mac}/interface-id`)).trim();
    if (!RE.eni.test(id))
      throw new CloudError('server', `aws metadata: interface-id is "${id.slice(0, 40)}", not an ENI id`);
    return (this.eniId = id);
  }

  private async region(): Promise<string> {
    if (this.regionName !== undefined) return this.regionName;
    const r = (await this.md.imds('/latest/meta-data/placement/region')).trim();
    if (!RE.region.test(r))
      throw new CloudError('server', `aws metadata: placement/region is "${r.slice(0, 40)}", not a region`);
    return (this.regionName = r);
  }

  /** Static keys from the token, or the instance role's, refreshed before they expire. */
  private credentials(): Promise<Creds> {
    if (this.creds === undefined) {
      return Promise.reject(
        new CloudError(
          'auth',
          'aws: the token must be ACCESS_KEY_ID:SECRET_ACCESS_KEY (or :SESSION_TOKEN after it); ' +
            'leave token_file/token_env out to use the instance role',
        ),
      );
    }
    if (this.creds !== 'role') return Promise.resolve(this.creds);
    return this.md.roleCredentials();
  }

  private client(): Promise<EC2Client> {
    this.clientP ??= this.makeClient().catch((e: unknown) => {
      this.clientP = undefined;
      throw e;
    });
    return this.clientP;
  }

  private async makeClient(): Promise<EC2Client> {
    const region = await this.region();
    const { EC2Client } = await loadSdk();
    const c = new EC2Client({
      region,
      ...(this.s.apiUrl !== undefined ? { endpoint: trimBase(this.s.apiUrl) } : {}),
      credentials: () => this.credentials(),
      maxAttempts: 1,
      // 'auto' would ask IMDS on its own; 'standard' only sets timeouts, which ours replace.
      defaultsMode: 'standard',
      customUserAgent: `floatd/${VERSION}`,
      requestHandler: {
        connectionTimeout: this.s.timeoutUs / US_PER_MS, // the SDK's unit
        requestTimeout: this.s.timeoutUs / US_PER_MS,
        throwOnRequestTimeout: true,
      },
    });
    (c.middlewareStack as unknown as Stack).add(describeAsGet, {
      step: 'build',
      priority: 'low',
      name: 'floatdDescribeAsGet',
    });
    return c;
  }

  /**
   * One EC2 request: exactly one attempt, reported to onCall, every failure a CloudError whose
   * message reads `aws GET /?Action=X → 401 AuthFailure: …` and never holds a secret.
   */
  private async call<T>(action: string, make: (sdk: Sdk) => object): Promise<T> {
    await this.credentials();
    const client = await this.client();
    const command = make(await loadSdk());
    const seen: Seen = { method: action.startsWith('Describe') ? 'GET' : 'POST' };
    const path = `/?Action=${action}`;
    const clock = this.s.clock ?? realClock;
    const timer = timeoutSignalUs(clock, this.s.timeoutUs);
    const deadline = timer.signal;
    const abortSignal = this.s.signal ? AbortSignal.any([deadline, this.s.signal]) : deadline;
    const startedUs = clock.nowUs();
    const report = (status: number | 'timeout' | 'network'): void => {
      this.s.onCall?.({ method: seen.method, path, status, ms: Math.round((clock.nowUs() - startedUs) / US_PER_MS) });
    };
    (command as { middlewareStack: Stack }).middlewareStack.add(
      observe(seen, report, () => (deadline.aborted ? 'timeout' : 'network')),
      { step: 'deserialize', priority: 'low', name: 'floatdObserve' },
    );
    try {
      return (await client.send(command as never, { abortSignal })) as T;
    } catch (e) {
      throw this.failure(e, `aws ${seen.method} ${path}`, seen, deadline);
    } finally {
      timer.clear();
    }
  }

  private failure(e: unknown, where: string, seen: Seen, deadline: AbortSignal): CloudError {
    return ec2Failure(this.s, (text) => this.scrub(text), e, where, seen, deadline);
  }

  /** Removes every secret this driver holds from a message. */
  private scrub(text: string): string {
    const secrets = [this.creds, this.md.roleCreds].flatMap((c) =>
      c && c !== 'role' ? [c.secretAccessKey, c.sessionToken ?? '', c.accessKeyId] : [],
    );
    return secrets.filter((x) => x.length >= 4).reduce((t, x) => t.split(x).join('[redacted]'), text);
  }

  private check(): void {
    if (this.problems.length) throw new CloudError('invalid', `aws: ${this.problems.join('; ')}`);
  }
}

const instanceId = (v: string, from: string): string => checkedId('aws', 'an instance id (i-…)', RE.instance, v, from);

export const aws: ProviderFactory = (s) => new Aws(s);
