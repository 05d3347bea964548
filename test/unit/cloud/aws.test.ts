import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { EC2Client, AssociateAddressCommand, DescribeAddressesCommand, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { aws } from '../../../src/cloud/providers/aws.js';
import { classifyEc2 } from '../../../src/cloud/providers/aws-ec2.js';
import { parseAwsToken } from '../../../src/cloud/providers/aws-imds.js';
import { FloatingIpRunner } from '../../../src/cloud/runner.js';
import { providers } from '../../../src/cloud/providers/index.js';
import { realClock } from '../../../src/util/clock.js';
import type { ProviderSettings } from '../../../src/cloud/types.js';
import { startAwsEmulator, type AwsEmulator, type AwsEmulatorOptions } from '../../emulators/aws.js';
import { TOKEN, driverFor, providerContract, rejectsKind, type ContractFixture } from './provider-contract.js';

const IP = '203.0.113.90';
const A = 'i-0123456789abcdef0';
const B = 'i-0fedcba9876543210';
const C = 'i-0c0c0c0c0c0c0c0c0';
const KEY = 'AKIAFLOATDTEST000001';
/** An AWS token is the access key id and the secret: the contract's TOKEN plays the secret. */
const awsToken = (secret: string): string => `${KEY}:${secret}`;
const ALLOC = 'eipalloc-0a1b2c3d4e5f60789';

const start = (actionDelayMs: number, extra: Partial<AwsEmulatorOptions> = {}): Promise<AwsEmulator> =>
  startAwsEmulator({
    credentials: [{ accessKeyId: KEY, secretAccessKey: TOKEN }],
    actionDelayMs,
    instances: [{ id: A }, { id: B }, { id: C, role: null }],
    addresses: [
      { publicIp: IP, allocationId: ALLOC, instanceId: A },
      { publicIp: '198.51.100.200', instanceId: null },
    ],
    secondaryIps: [{ ip: '10.0.1.100', instanceId: A }],
    routeTables: [
      { id: 'rtb-0aaaaaaaaaaaaaaa1', routes: [{ ip: '192.168.100.10', instanceId: A }] },
      { id: 'rtb-0bbbbbbbbbbbbbbb2', routes: [] },
    ],
    ...extra,
  });

const fixture: ContractFixture = {
  provider: 'aws',
  factory: (s) => aws({ ...s, token: awsToken(s.token) }),
  address: IP,
  emuAddress: IP,
  nodes: [A, B],
  start: (o) => start(o.actionDelayMs),
  async: false,
  holderPath: /^GET \/\?Action=DescribeAddresses$/,
  assignPath: /^POST \/\?Action=AssociateAddress$/,
  pollPath: /^GET \/\?Action=DescribeAddresses$/,
  // AssociateAddress + a DescribeAddresses per 50 ms until the 150 ms lag is over (+ IMDS for
  // the ENI when whoAmI did not read it).
  maxAssignCalls: 8,
  options: { region: 'us-east-1' },
};
providerContract(fixture);

let emu: AwsEmulator | undefined;
after(async () => {
  await emu?.close();
});
const fresh = async (delay = 0, extra: Partial<AwsEmulatorOptions> = {}): Promise<AwsEmulator> => {
  await emu?.close();
  emu = await start(delay, extra);
  return emu;
};
/** The contract's settings with a whole AWS token (an override `token` is used as given). */
const drive = (
  e: AwsEmulator,
  node: string,
  options: Record<string, string> = {},
  over: Partial<ProviderSettings> = {},
): ReturnType<typeof driverFor> =>
  driverFor({ ...fixture, factory: aws, options: { region: 'us-east-1', ...options } }, e, node, {
    token: awsToken(TOKEN),
    ...over,
  });
const apiCalls = (e: AwsEmulator): string[] => e.calls.map((c) => `${c.action} ${c.status}`);

test('aws: a move: IMDS (token, id, mac → ENI), DescribeAddresses, AssociateAddress, Describe till ours', async () => {
  const e = await fresh(120);
  const { p, calls } = drive(e, B);
  assert.equal(await p.whoAmI(), B);
  assert.deepEqual(
    calls.map((c) => `${c.method} ${c.path}`).sort(),
    [
      'GET /latest/meta-data/instance-id',
      'GET /latest/meta-data/mac',
      `GET /latest/meta-data/network/interfaces/macs/${e.instances.get(B)!.mac}/interface-id`,
      'PUT /latest/api/token',
    ].sort(),
  );
  assert.equal(await p.holder(), A);
  calls.length = 0;
  await p.assign(B);
  assert.equal(e.holder(IP), B);
  assert.equal(calls[0]?.method, 'POST');
  assert.equal(calls[0]?.path, '/?Action=AssociateAddress');
  assert.ok(calls.length >= 3 && calls.length <= 6, `${calls.length} calls`);
  assert.ok(calls.slice(1).every((c) => c.method === 'GET' && c.path === '/?Action=DescribeAddresses'));
  const assoc = e.calls.find((c) => c.action === 'AssociateAddress')!;
  assert.deepEqual(
    { ...assoc.params, Version: undefined },
    {
      Action: 'AssociateAddress',
      Version: undefined,
      AllocationId: ALLOC,
      NetworkInterfaceId: e.instances.get(B)!.eni,
      AllowReassociation: 'true',
    },
  );
  // The describe carried its parameters in the URL (GET), and EC2 now shows the address on B's primary IP.
  assert.equal(e.calls[0]?.params['PublicIp.1'], IP);
  assert.equal(await p.holder(), B);
  const meta = await (
    await fetch(`${e.metadataUrl(B)}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
    })
  ).text();
  const pub = await (
    await fetch(`${e.metadataUrl(B)}/latest/meta-data/public-ipv4`, { headers: { 'x-aws-ec2-metadata-token': meta } })
  ).text();
  assert.equal(pub, IP);
  console.log(
    `# aws: a move took ${calls.length} HTTP calls after whoAmI/holder ` +
      `(${calls.map((c) => `${c.method} ${c.path}`).join(', ')})`,
  );
});

test('aws: the node that holds the address already makes no AssociateAddress (runner: whoami + holder)', async () => {
  const e = await fresh();
  const r = new FloatingIpRunner(
    {
      name: 'web',
      provider: 'aws',
      address: IP,
      tokenEnv: 'AWS_TEST_TOKEN',
      apiUrl: e.apiUrl,
      metadataUrl: e.metadataUrl(A),
      options: { timeout: '1', reconcile_interval: '60' },
      pos: { file: 't', line: 1, col: 1 },
    },
    {
      log: pino({ level: 'silent' }),
      clock: realClock,
      factories: providers,
      env: { AWS_TEST_TOKEN: awsToken(TOKEN) },
    },
  );
  try {
    r.setDesire('hold', 'test');
    for (let i = 0; i < 300 && r.status().phase !== 'held'; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(r.status().phase, 'held');
    assert.equal(r.status().callsThisFailover, 2);
    assert.deepEqual(apiCalls(e), ['DescribeAddresses 200']);
  } finally {
    r.stop();
  }
});

test('aws: bad credentials are auth at once (wrong secret: 1 request, malformed: 0), never in a message', async () => {
  const e = await fresh();
  const wrong = drive(e, B, {}, { token: `${KEY}:not-the-secret-4711` });
  const err = await rejectsKind(wrong.p.holder(), 'auth');
  assert.equal(err.status, 401);
  assert.match(
    err.message,
    new RegExp(
      String.raw`^aws GET \/\?Action=DescribeAddresses → 401 AuthFailure: ` +
        'AWS was not able to validate the provided access credentials$',
    ),
  );
  assert.equal(e.calls.length, 1);
  for (const token of ['just-a-secret-4711', 'akia-lowercase:secret-4711', `${KEY}:`, `${KEY}:a:b:c`]) {
    const bad = drive(e, B, {}, { token });
    const m = await rejectsKind(bad.p.assign(B), 'auth');
    assert.match(m.message, /ACCESS_KEY_ID:SECRET_ACCESS_KEY/);
    assert.ok(!m.message.includes('secret-4711'), m.message);
    assert.equal(bad.calls.filter((c) => c.path.startsWith('/?')).length, 0);
  }
  assert.equal(e.calls.length, 1, 'no API request with a malformed token');
  assert.equal(e.holder(IP), A);
  // A session token must come along with temporary keys.
  const e2 = await fresh(0, {
    credentials: [{ accessKeyId: KEY, secretAccessKey: TOKEN, sessionToken: 'session-4711-abcdef' }],
  });
  await rejectsKind(drive(e2, B, {}, { token: awsToken(TOKEN) }).p.holder(), 'auth');
  assert.equal(await drive(e2, B, {}, { token: `${awsToken(TOKEN)}:session-4711-abcdef` }).p.holder(), A);
});

test("aws: throttling (503 RequestLimitExceeded) is rate_limited, 1 s wait; a proxy's Retry-After wins", async () => {
  const e = await fresh();
  const { p } = drive(e, B, { action_timeout: '0.2', poll_interval: '0.05' });
  e.setRateLimit({ limit: 1, windowMs: 60_000 });
  await p.holder();
  const err = await rejectsKind(p.holder(), 'rate_limited');
  assert.equal(err.status, 503);
  assert.match(err.message, /RequestLimitExceeded: Request limit exceeded\.$/);
  assert.equal(err.retryAfterUs, 1_000_000);
  // Buckets are per action: a mutation still has its own tokens (the Describe polls after it do not).
  await rejectsKind(p.assign(B), 'timeout');
  assert.ok(e.calls.some((c) => c.action === 'AssociateAddress' && c.status === 200));
  assert.equal(e.holder(IP), B);
  const e2 = await fresh();
  e2.faults.add({ kind: 'status', status: 429, retryAfterS: 3, match: /DescribeAddresses/ });
  assert.equal((await rejectsKind(drive(e2, B).p.holder(), 'rate_limited')).retryAfterUs, 3_000_000);
});

test('aws: a 5xx on AssociateAddress is server, holder unchanged; EC2 error codes decide the kind', async () => {
  const e = await fresh();
  const { p } = drive(e, B);
  e.faults.add({ kind: 'status', status: 500, match: /^POST \/\?Action=AssociateAddress$/ });
  const err = await rejectsKind(p.assign(B), 'server');
  assert.match(err.message, /^aws POST \/\?Action=AssociateAddress → 500 InternalError/);
  assert.equal(e.holder(IP), A);
  const table: [number, string | undefined, string][] = [
    [401, 'AuthFailure', 'auth'],
    [403, 'UnauthorizedOperation', 'auth'],
    [503, 'RequestLimitExceeded', 'rate_limited'],
    [400, 'Throttling', 'rate_limited'],
    [400, 'InvalidAllocationID.NotFound', 'not_found'],
    [400, 'InvalidAddress.NotFound', 'not_found'],
    [400, 'InvalidInstanceID.NotFound', 'not_found'],
    [400, 'InvalidNetworkInterfaceID.NotFound', 'not_found'],
    [400, 'Resource.AlreadyAssociated', 'busy'],
    [500, 'InternalError', 'server'],
    [503, 'Unavailable', 'server'],
    [400, 'InvalidParameterValue', 'invalid'],
    [400, 'InvalidParameterCombination', 'invalid'],
    [400, 'MissingParameter', 'invalid'],
    [502, undefined, 'server'],
    [404, undefined, 'not_found'],
    [400, undefined, 'invalid'],
  ];
  for (const [status, code, kind] of table) assert.equal(classifyEc2(status, code), kind, `${status} ${code}`);
});

test('aws: no secret of the token ever reaches a message, whatever fails', async () => {
  const e = await fresh(0, {
    credentials: [{ accessKeyId: KEY, secretAccessKey: TOKEN, sessionToken: 'sess-9f8e7d6c5b4a' }],
  });
  const token = `${awsToken(TOKEN)}:sess-9f8e7d6c5b4a`;
  const faults: Parameters<AwsEmulator['faults']['add']>[0][] = [
    { kind: 'status', status: 400 },
    { kind: 'status', status: 401 },
    { kind: 'status', status: 403 },
    { kind: 'status', status: 429 },
    { kind: 'status', status: 500 },
    { kind: 'status', status: 503 },
    { kind: 'hang', holdMs: 2000 },
  ];
  for (const f of faults) {
    e.faults.add(f);
    const { p } = drive(e, B, {}, { token, timeoutUs: 200_000 });
    const err = await p.assign(B).then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    assert.ok(err, `${f.kind} should fail`);
    for (const secret of [TOKEN, 'sess-9f8e7d6c5b4a', token]) assert.ok(!err.message.includes(secret), err.message);
  }
  const dead = drive(e, B, {}, { token, apiUrl: 'http://127.0.0.1:1' });
  const err = await rejectsKind(dead.p.holder(), 'network');
  assert.ok(!err.message.includes(TOKEN));
});

test('aws: mode secondary_ip moves the private IP with AllowReassignment and needs it on the interface', async () => {
  const e = await fresh(60);
  const { p, calls } = drive(e, B, { mode: 'secondary_ip', poll_interval: '0.05' });
  assert.equal(p.needsLocalAddress, true);
  assert.equal(driverFor(fixture, e, B).p.needsLocalAddress, false);
  const q = aws({
    address: '10.0.1.100',
    token: awsToken(TOKEN),
    apiUrl: e.apiUrl,
    metadataUrl: e.metadataUrl(B),
    timeoutUs: 2_000_000,
    options: { region: 'us-east-1', mode: 'secondary_ip', poll_interval: '0.05' },
  });
  assert.equal(await q.whoAmI(), B);
  assert.equal(await q.holder(), A);
  await q.assign(B);
  assert.equal(e.holder('10.0.1.100'), B);
  assert.equal(await q.holder(), B);
  const assign = e.calls.find((c) => c.action === 'AssignPrivateIpAddresses')!;
  assert.equal(assign.params.AllowReassignment, 'true');
  assert.equal(assign.params['PrivateIpAddress.1'], '10.0.1.100');
  assert.equal(assign.params.NetworkInterfaceId, e.instances.get(B)!.eni);
  assert.equal(
    e.calls.find((c) => c.action === 'DescribeNetworkInterfaces')?.params['Filter.1.Name'],
    'addresses.private-ip-address',
  );
  // IMDS of B now lists it among the ENI's private IPs; A's no longer does.
  const tok = await (
    await fetch(`${e.metadataUrl(B)}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
    })
  ).text();
  const ips = await (
    await fetch(`${e.metadataUrl(B)}/latest/meta-data/network/interfaces/macs/${e.instances.get(B)!.mac}/local-ipv4s`, {
      headers: { 'x-aws-ec2-metadata-token': tok },
    })
  ).text();
  assert.deepEqual(ips.split('\n'), ['10.0.1.11', '10.0.1.100']);
  assert.equal(calls.length, 0);
});

test('aws: mode route replaces the /32 in every table (creating it); a table left behind is not ours', async () => {
  const e = await fresh();
  const opts = {
    region: 'us-east-1',
    mode: 'route',
    route_table: 'rtb-0aaaaaaaaaaaaaaa1, rtb-0bbbbbbbbbbbbbbb2',
    poll_interval: '0.05',
  };
  const mk = (node: string): ReturnType<typeof aws> =>
    aws({
      address: '192.168.100.10',
      token: awsToken(TOKEN),
      apiUrl: e.apiUrl,
      metadataUrl: e.metadataUrl(node),
      timeoutUs: 2_000_000,
      options: opts,
    });
  const b = mk(B);
  assert.equal(b.needsLocalAddress, true);
  assert.equal(await b.whoAmI(), B);
  // Table 2 has no route yet: A holds it in table 1 only, which is not "settled" for B.
  assert.equal(await b.holder(), A);
  await b.assign(B);
  assert.deepEqual(
    apiCalls(e).filter((c) => !c.startsWith('Describe')),
    ['ReplaceRoute 200', 'ReplaceRoute 400', 'CreateRoute 200'],
  );
  assert.equal(await b.holder(), B);
  // Someone points table 2 back at A: the holder is not B any more, so the reconciler moves it again.
  const c = new EC2Client({
    region: 'us-east-1',
    endpoint: e.apiUrl,
    credentials: { accessKeyId: KEY, secretAccessKey: TOKEN },
    maxAttempts: 1,
  });
  try {
    await c.send(
      new ReplaceRouteCommand({
        RouteTableId: 'rtb-0bbbbbbbbbbbbbbb2',
        DestinationCidrBlock: '192.168.100.10/32',
        InstanceId: A,
      }),
    );
  } finally {
    c.destroy();
  }
  assert.equal(await b.holder(), A);
  assert.equal(e.holder('192.168.100.10'), B, 'the emulator reports the first table');
  const gone = aws({
    address: '192.168.100.10',
    token: awsToken(TOKEN),
    apiUrl: e.apiUrl,
    metadataUrl: e.metadataUrl(B),
    timeoutUs: 2_000_000,
    options: { ...opts, route_table: 'rtb-0ccccccccccccccc3' },
  });
  const err = await rejectsKind(gone.holder(), 'not_found');
  assert.match(err.message, /InvalidRouteTableID\.NotFound: The routeTable ID 'rtb-0ccccccccccccccc3' does not exist$/);
});

test('aws: instance_id in the config skips IMDS entirely — the ENI comes from DescribeNetworkInterfaces', async () => {
  const e = await fresh();
  const { p, calls } = drive(e, B, {}, { instanceId: B, metadataUrl: 'http://127.0.0.1:1' });
  assert.equal(await p.whoAmI(), B);
  await p.assign(B);
  assert.equal(e.holder(IP), B);
  assert.ok(
    calls.every((c) => c.path.startsWith('/?Action=')),
    calls.map((c) => c.path).join(', '),
  );
  const d = e.calls.find((c) => c.action === 'DescribeNetworkInterfaces')!;
  assert.deepEqual(
    [d.params['Filter.1.Name'], d.params['Filter.1.Value.1'], d.params['Filter.2.Name'], d.params['Filter.2.Value.1']],
    ['attachment.instance-id', B, 'attachment.device-index', '0'],
  );
  // network_interface spares even that call.
  const q = drive(
    e,
    A,
    { network_interface: e.instances.get(A)!.eni },
    { instanceId: A, metadataUrl: 'http://127.0.0.1:1' },
  );
  const before = e.calls.length;
  await q.p.assign(A);
  assert.deepEqual(
    e.calls.slice(before).map((c) => c.action),
    ['DescribeAddresses', 'AssociateAddress', 'DescribeAddresses'],
  );
});

test('aws: no token → the instance role from IMDS (region from placement); no role is a clear auth error', async () => {
  const e = await fresh();
  const p = aws({
    address: IP,
    token: '',
    apiUrl: e.apiUrl,
    metadataUrl: e.metadataUrl(B),
    timeoutUs: 2_000_000,
    options: { poll_interval: '0.05' },
  });
  assert.equal(await p.holder(), A);
  await p.assign(B);
  assert.equal(e.holder(IP), B);
  // The role's keys are temporary: the API saw them with their session token (else AuthFailure).
  assert.ok(e.calls.every((c) => c.status === 200));
  const noRole = aws({
    address: IP,
    token: '',
    apiUrl: e.apiUrl,
    metadataUrl: e.metadataUrl(C),
    timeoutUs: 2_000_000,
    options: { region: 'us-east-1' },
  });
  const err = await rejectsKind(noRole.holder(), 'auth');
  assert.match(err.message, /no instance role/);
});

test('aws: IMDSv2 token semantics, and the driver replaces a token the service stopped taking', async () => {
  const e = await fresh();
  const url = e.metadataUrl(A);
  assert.equal((await fetch(`${url}/latest/api/token`, { method: 'PUT' })).status, 400);
  assert.equal(
    (
      await fetch(`${url}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21601' },
      })
    ).status,
    400,
  );
  assert.equal(
    (
      await fetch(`${url}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60', 'x-forwarded-for': '10.0.0.9' },
      })
    ).status,
    403,
  );
  assert.equal((await fetch(`${url}/latest/meta-data/instance-id`)).status, 401);
  const tokB = await (
    await fetch(`${e.metadataUrl(B)}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
    })
  ).text();
  assert.equal(
    (await fetch(`${url}/latest/meta-data/instance-id`, { headers: { 'x-aws-ec2-metadata-token': tokB } })).status,
    401,
    "another instance's token",
  );
  const { p, calls } = drive(e, A);
  assert.equal(await p.whoAmI(), A);
  e.forgetImdsTokens();
  calls.length = 0;
  assert.equal(await p.whoAmI(), A);
  assert.deepEqual(
    calls.map((c) => `${c.method} ${c.path} ${c.status}`),
    ['GET /latest/meta-data/instance-id 401', 'PUT /latest/api/token 200', 'GET /latest/meta-data/instance-id 200'],
  );
});

test('aws: bad options are invalid up front, with what was expected', async () => {
  const e = await fresh();
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ mode: 'elastic' }, IP, /mode must be one of eip, secondary_ip, route/],
    [{ mode: 'route' }, IP, /mode route needs route_table/],
    [{ mode: 'route', route_table: 'rtb-1' }, IP, /route_table entries must look like rtb-/],
    [{ route_table: 'rtb-0aaaaaaaaaaaaaaa1' }, IP, /route_table applies to mode route only/],
    [{ mode: 'secondary_ip', allocation_id: ALLOC }, '10.0.1.100', /allocation_id applies to mode eip only/],
    [{ allocation_id: 'eip-1' }, IP, /allocation_id must look like eipalloc-/],
    [{ network_interface: 'eth0' }, IP, /network_interface must look like eni-/],
    [{ region: 'Frankfurt' }, IP, /region must look like us-east-1/],
    [{}, '2001:db8::1', /must be an IPv4 address or the Elastic IP's allocation id/],
    [{ mode: 'secondary_ip' }, ALLOC, /"eipalloc-0a1b2c3d4e5f60789" must be an IPv4 address$/],
    [{ action_timeout: '0' }, IP, /action_timeout must be a positive number/],
  ];
  for (const [options, address, re] of cases) {
    const { p, calls } = driverFor({ ...fixture, address, options }, e, B);
    const err = await rejectsKind(p.holder(), 'invalid');
    assert.match(err.message, re);
    await rejectsKind(p.whoAmI(), 'invalid');
    assert.equal(calls.length, 0);
  }
  await rejectsKind(drive(e, B).p.assign('web-b'), 'invalid');
  // The allocation id may stand for the address.
  const byId = driverFor({ ...fixture, address: ALLOC }, e, B);
  assert.equal(await byId.p.holder(), A);
  assert.equal(e.calls.at(-1)?.params['AllocationId.1'], ALLOC);
  assert.deepEqual(parseAwsToken(''), 'role');
  assert.deepEqual(parseAwsToken(`${KEY}:s:t`), { accessKeyId: KEY, secretAccessKey: 's', sessionToken: 't' });
});

test('aws emulator: reassociates unless AllowReassociation=false, Describe lags, EC2-envelope errors', async () => {
  const e = await fresh(200);
  const c = new EC2Client({
    region: 'us-east-1',
    endpoint: e.apiUrl,
    credentials: { accessKeyId: KEY, secretAccessKey: TOKEN },
    maxAttempts: 1,
  });
  try {
    const eniB = e.instances.get(B)!.eni;
    await assert.rejects(
      c.send(new AssociateAddressCommand({ AllocationId: ALLOC, NetworkInterfaceId: eniB, AllowReassociation: false })),
      { name: 'Resource.AlreadyAssociated' },
    );
    await assert.rejects(
      c.send(new AssociateAddressCommand({ AllocationId: 'eipalloc-0000000000000000f', NetworkInterfaceId: eniB })),
      { name: 'InvalidAllocationID.NotFound' },
    );
    await assert.rejects(
      c.send(new AssociateAddressCommand({ AllocationId: ALLOC, NetworkInterfaceId: 'eni-0000000000000000f' })),
      { name: 'InvalidNetworkInterfaceID.NotFound' },
    );
    await assert.rejects(c.send(new DescribeAddressesCommand({ PublicIps: ['192.0.2.99'] })), {
      name: 'InvalidAddress.NotFound',
    });
    const r = await c.send(new AssociateAddressCommand({ AllocationId: ALLOC, InstanceId: B }));
    assert.match(r.AssociationId ?? '', /^eipassoc-[0-9a-f]{17}$/);
    assert.equal(e.holder(IP), B);
    const before = await c.send(new DescribeAddressesCommand({ AllocationIds: [ALLOC] }));
    assert.equal(before.Addresses?.[0]?.InstanceId, A, 'eventually consistent: not shown yet');
    await new Promise((res) => setTimeout(res, 250));
    const shown = await c.send(new DescribeAddressesCommand({ Filters: [{ Name: 'instance-id', Values: [B] }] }));
    assert.deepEqual(
      shown.Addresses?.map((a) => [a.PublicIp, a.NetworkInterfaceId, a.PrivateIpAddress]),
      [[IP, eniB, '10.0.1.11']],
    );
    const raw = await fetch(`${e.apiUrl}/?Action=DescribeAddresses&Version=2016-11-15`);
    assert.equal(raw.status, 401);
    assert.match(
      await raw.text(),
      new RegExp(
        String.raw`^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>AuthFailure<\/Code>` +
          String.raw`<Message>AWS was not able to validate the provided access credentials<\/Message>` +
          String.raw`<\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$`,
      ),
    );
    const state = (await (await fetch(`${e.apiUrl}/_emulator/state`)).json()) as {
      holders: Record<string, string | null>;
    };
    assert.deepEqual(state.holders, { [IP]: B, '198.51.100.200': null, '10.0.1.100': A, '192.168.100.10': A });
  } finally {
    c.destroy();
  }
});
