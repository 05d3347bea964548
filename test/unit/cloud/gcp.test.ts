import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { gcp } from '../../../src/cloud/providers/gcp.js';
import { providers } from '../../../src/cloud/providers/index.js';
import { FloatingIpRunner } from '../../../src/cloud/runner.js';
import { realClock } from '../../../src/util/clock.js';
import { CloudError } from '../../../src/cloud/types.js';
import type { FloatingIpConfig } from '../../../src/config/model.js';
import { startGcpEmulator, type GcpEmulator, type GcpEmulatorOptions } from '../../emulators/gcp.js';
import {
  TOKEN,
  answered,
  driverFor,
  providerContract,
  rejectsKind,
  type ContractFixture,
} from './provider-contract.js';

const IP = '203.0.113.10/32';
const [A, B, C] = ['web-a', 'web-b', 'web-c'];
const OPTIONS = { project: 'floatd-test', zone: 'europe-west1-b' };
const start = (actionDelayMs: number, extra: Partial<GcpEmulatorOptions> = {}): Promise<GcpEmulator> =>
  startGcpEmulator({
    token: TOKEN,
    actionDelayMs,
    instances: [{ name: A }, { name: B }, { name: C, zone: 'europe-west1-c' }],
    aliases: [{ range: IP, instance: A }],
    ...extra,
  });

const fixture: ContractFixture = {
  provider: 'gcp',
  factory: gcp,
  address: IP,
  emuAddress: IP,
  nodes: [A, B],
  start: (o) => start(o.actionDelayMs),
  async: true,
  holderPath: /^GET \/compute\/v1\/projects\/[^/]+\/(aggregated\/instances|zones\/[^/]+\/instances)/,
  assignPath: /^PATCH \/compute\/v1\/projects\/[^/]+\/zones\/[^/]+\/instances\/[^/]+\/updateNetworkInterface$/,
  pollPath: /^GET \/compute\/v1\/projects\/[^/]+\/zones\/[^/]+\/operations\//,
  options: OPTIONS,
  // GET self + GET holder + (PATCH + polls while the operation runs) twice: remove, then add.
  maxAssignCalls: 2 + 2 * (1 + Math.ceil(150 / 50) + 1),
};
providerContract(fixture);

let emu: GcpEmulator | undefined;
after(async () => {
  await emu?.close();
});
const fresh = async (delay = 80, extra: Partial<GcpEmulatorOptions> = {}): Promise<GcpEmulator> => {
  await emu?.close();
  emu = await start(delay, extra);
  return emu;
};
const short = (path: string): string =>
  path.replace('/compute/v1/projects/floatd-test', '').replace(/operations\/[^/?]+/, 'operations/OP');
const aliases = (e: GcpEmulator, name: string): string[] =>
  e.state.instances.get(name)!.nics[0]!.aliasIpRanges.map((a) => a.ipCidrRange);

test('gcp: a move: GET self, GET holder, PATCH holder without the range, DONE, PATCH self with it, DONE', async () => {
  const e = await fresh(100);
  const { p, calls } = driverFor(fixture, e, B);
  assert.equal(p.needsLocalAddress, false);
  assert.equal(await p.holder(), A);
  const fpA = e.state.instances.get(A)!.nics[0]!.fingerprint;
  const fpB = e.state.instances.get(B)!.nics[0]!.fingerprint;
  calls.length = 0;
  await p.assign(B);
  const seq = calls
    .map((c) => `${c.method} ${short(c.path)}`)
    .filter((x, i, all) => !(x.includes('operations') && all[i - 1] === x));
  assert.deepEqual(seq, [
    `GET /zones/europe-west1-b/instances/${B}`,
    `GET /zones/europe-west1-b/instances/${A}`,
    `PATCH /zones/europe-west1-b/instances/${A}/updateNetworkInterface?networkInterface=nic0`,
    'GET /zones/europe-west1-b/operations/OP',
    `PATCH /zones/europe-west1-b/instances/${B}/updateNetworkInterface?networkInterface=nic0`,
    'GET /zones/europe-west1-b/operations/OP',
  ]);
  assert.ok(calls.length <= fixture.maxAssignCalls!, `${calls.length} calls`);
  assert.deepEqual(aliases(e, A), []);
  assert.deepEqual(aliases(e, B), [IP]);
  // Every update changes the NIC's fingerprint.
  assert.notEqual(e.state.instances.get(A)!.nics[0]!.fingerprint, fpA);
  assert.notEqual(e.state.instances.get(B)!.nics[0]!.fingerprint, fpB);
  // The holder is remembered: verifying costs one GET.
  calls.length = 0;
  assert.equal(await p.holder(), B);
  assert.deepEqual(
    calls.map((c) => short(c.path)),
    [`/zones/europe-west1-b/instances/${B}`],
  );
  console.log(`# gcp: a move took ${seq.length} distinct steps`);
});

test('gcp: the VM that already has the range makes no PATCH; other alias ranges on the NICs are kept', async () => {
  const e = await fresh(60, {
    aliases: [
      { range: IP, instance: A },
      { range: '203.0.113.64/28', instance: A },
      { range: '203.0.113.20', instance: B },
    ],
  });
  const { p, calls } = driverFor(fixture, e, A);
  await p.assign(A);
  assert.deepEqual(
    calls.map((c) => c.method),
    ['GET'],
  );
  const { p: pb } = driverFor(fixture, e, B);
  await pb.assign(B);
  assert.deepEqual(aliases(e, A), ['203.0.113.64/28']);
  assert.deepEqual(aliases(e, B), ['203.0.113.20/32', IP]);
});

test('gcp: a holder in another zone is found through the aggregated list and moved in its own zone', async () => {
  const e = await fresh(60, { aliases: [{ range: IP, instance: C }] });
  const { p, calls } = driverFor(fixture, e, B);
  await p.assign(B);
  assert.equal(e.holder(IP), B);
  const paths = calls.map((c) => `${c.method} ${short(c.path)}`);
  assert.ok(paths.includes('GET /aggregated/instances?maxResults=500'), paths.join('\n'));
  assert.ok(
    paths.includes(`PATCH /zones/europe-west1-c/instances/${C}/updateNetworkInterface?networkInterface=nic0`),
    paths.join('\n'),
  );
  assert.ok(paths.includes('GET /zones/europe-west1-c/operations/OP'), paths.join('\n'));
});

test('gcp: the holder is looked for through bounded pages of the aggregated list, then remembered', async () => {
  const many = Array.from({ length: 1100 }, (_, i) => ({
    name: `vm-${i}`,
    zone: i % 2 ? 'europe-west1-c' : 'europe-west1-d',
  }));
  const e = await fresh(60, { instances: [...many, { name: A }, { name: B }], aliases: [{ range: IP, instance: A }] });
  const { p, calls } = driverFor(fixture, e, B);
  assert.equal(await p.holder(), A);
  assert.equal(calls.filter((c) => c.path.includes('/aggregated/instances')).length, 3);
  assert.ok(calls[1]!.path.includes('&pageToken='));
  calls.length = 0;
  assert.equal(await p.holder(), A);
  assert.equal(calls.length, 1);
  e.setHolder(IP, null);
  assert.equal(await p.holder(), null);
});

test('gcp: a stale fingerprint (412 conditionNotMet) is busy', async () => {
  const e = await fresh(150);
  const { p } = driverFor(fixture, e, B);
  const moving = p.assign(B);
  await answered(e, /^PATCH .*\/instances\/web-a\//);
  // Someone else updates web-b's NIC after the driver read its fingerprint.
  e.state.instances.get(B)!.nics[0]!.fingerprint = 'c3RhbGUtZnA=';
  const err = await rejectsKind(moving, 'busy');
  assert.equal(err.status, 412);
  assert.match(
    err.message,
    /^gcp PATCH \S+\/instances\/web-b\/updateNetworkInterface\?networkInterface=nic0 → 412 conditionNotMet: /,
  );
  assert.equal(e.holder(IP), null, 'freed from web-a, not yet on web-b: the reconciler retries');
  await driverFor(fixture, e, B).p.assign(B);
  assert.equal(e.holder(IP), B);
});

test('gcp: a range taken by another VM between our removal and our add is busy, naming that VM', async () => {
  const e = await fresh(100);
  const { p } = driverFor(fixture, e, B);
  // Our add is held up on its way, so that the range can turn up elsewhere before it lands.
  e.faults.add({ kind: 'slow', delayMs: 150, match: /^PATCH .*\/instances\/web-b\// });
  const moving = p.assign(B);
  await answered(e, /^PATCH .*\/instances\/web-a\//);
  while (e.state.releasing.size > 0) await new Promise((r) => setTimeout(r, 5));
  // Freed from web-a; now web-c takes it (another tool, another cluster).
  e.state.instances.get(C)!.nics[0]!.aliasIpRanges.push({ ipCidrRange: IP });
  const err = await rejectsKind(moving, 'busy');
  assert.match(err.message, /already in use by instance 'web-c'.*now on web-c/);
  assert.equal(e.holder(IP), C);
});

test('gcp emulator: refuses a range another VM holds (400), a 2nd update during one (resourceNotReady)', async () => {
  const e = await fresh(200);
  const base = `${e.apiUrl}/compute/v1/projects/floatd-test/zones/europe-west1-b/instances`;
  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const nicOf = async (name: string): Promise<{ fingerprint: string }> =>
    (
      (await (await fetch(`${base}/${name}`, { headers: auth })).json()) as {
        networkInterfaces: { fingerprint: string }[];
      }
    ).networkInterfaces[0]!;
  const patch = async (
    name: string,
    body: unknown,
  ): Promise<{
    status: number;
    json: { error?: { message: string; errors: { reason: string }[] }; status?: string };
  }> => {
    const r = await fetch(`${base}/${name}/updateNetworkInterface?networkInterface=nic0`, {
      method: 'PATCH',
      headers: auth,
      body: JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as never };
  };
  const taken = await patch(B, {
    aliasIpRanges: [{ ipCidrRange: '203.0.113.10' }],
    fingerprint: (await nicOf(B)).fingerprint,
  });
  assert.equal(taken.status, 400);
  assert.match(taken.json.error!.message, /already in use by instance 'web-a'/);
  const stale = await patch(B, { aliasIpRanges: [], fingerprint: 'bm90LWl0' });
  assert.equal(stale.status, 412);
  assert.equal(stale.json.error!.errors[0]!.reason, 'conditionNotMet');
  const outside = await patch(B, {
    aliasIpRanges: [{ ipCidrRange: '192.0.2.7/32' }],
    fingerprint: (await nicOf(B)).fingerprint,
  });
  assert.match(outside.json.error!.message, /not within the primary range/);
  const first = await patch(A, { aliasIpRanges: [], fingerprint: (await nicOf(A)).fingerprint });
  assert.equal(first.status, 200);
  assert.equal(first.json.status, 'PENDING');
  const again = await patch(A, { aliasIpRanges: [{ ipCidrRange: IP }], fingerprint: (await nicOf(A)).fingerprint });
  assert.equal(again.status, 400);
  assert.equal(again.json.error!.errors[0]!.reason, 'resourceNotReady');
  // Still being released by web-a: nobody else may take it until the operation is DONE.
  const early = await patch(B, { aliasIpRanges: [{ ipCidrRange: IP }], fingerprint: (await nicOf(B)).fingerprint });
  assert.equal(early.json.error!.errors[0]!.reason, 'resourceNotReady');
});

test('gcp: alias_range names the subnet secondary range the address comes from', async () => {
  const e = await fresh(50, { aliases: [{ range: '198.51.100.7', instance: A, subnetworkRangeName: 'vips' }] });
  const { p } = driverFor({ ...fixture, address: '198.51.100.7', options: { ...OPTIONS, alias_range: 'vips' } }, e, B);
  assert.equal(await p.holder(), A);
  await p.assign(B);
  assert.deepEqual(e.state.instances.get(B)!.nics[0]!.aliasIpRanges, [
    { ipCidrRange: '198.51.100.7/32', subnetworkRangeName: 'vips' },
  ]);
  // Without it the range is looked for in the primary range and refused.
  e.setHolder('198.51.100.7', null);
  const err = await rejectsKind(driverFor({ ...fixture, address: '198.51.100.7' }, e, A).p.assign(A), 'invalid');
  assert.match(err.message, /→ 400 invalid: .*not within the primary range/);
});

test('gcp: project/zone default from the metadata server, read once, with Metadata-Flavor: Google', async () => {
  const e = await fresh();
  const { p, calls } = driverFor({ ...fixture, options: {} }, e, B);
  const m0 = e.metadataFaults.log.length;
  assert.equal(await p.whoAmI(), B);
  await p.assign(B);
  assert.equal(await p.holder(), B);
  const metaPaths = e.metadataFaults.log.slice(m0).map((x) => x.path);
  assert.deepEqual(metaPaths.sort(), [
    '/computeMetadata/v1/instance/name',
    '/computeMetadata/v1/instance/zone',
    '/computeMetadata/v1/project/project-id',
  ]);
  assert.ok(
    calls.every(
      (c) => c.path.startsWith('/compute/v1/projects/floatd-test/') || c.path.startsWith('/computeMetadata/'),
    ),
  );

  const bare = await fetch(`${e.metadataUrl(B)}/computeMetadata/v1/instance/name`);
  assert.equal(bare.status, 403);
  const ok = await fetch(`${e.metadataUrl(B)}/computeMetadata/v1/instance/zone`, {
    headers: { 'Metadata-Flavor': 'Google' },
  });
  assert.equal(ok.headers.get('metadata-flavor'), 'Google');
  assert.equal(await ok.text(), 'projects/424242424242/zones/europe-west1-b');
  const proxied = await fetch(`${e.metadataUrl(B)}/computeMetadata/v1/instance/name`, {
    headers: { 'Metadata-Flavor': 'Google', 'X-Forwarded-For': '192.0.2.1' },
  });
  assert.equal(proxied.status, 403);
  // The guest agent reads the aliases from here: after the move web-b's NIC lists the range.
  const nics = (await (
    await fetch(`${e.metadataUrl(B)}/computeMetadata/v1/instance/network-interfaces/?recursive=true`, {
      headers: { 'Metadata-Flavor': 'Google' },
    })
  ).json()) as { ipAliases: string[] }[];
  assert.deepEqual(nics[0]!.ipAliases, [IP]);
});

test('gcp: a server that is not a GCE metadata server (no Metadata-Flavor answer header) is refused', async () => {
  const srv = createServer((_req, res) => {
    res.end('web-b');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (srv.address() as { port: number }).port;
    const p = gcp({
      address: IP,
      token: TOKEN,
      metadataUrl: `http://127.0.0.1:${port}`,
      timeoutUs: 1_000_000,
      options: {},
    });
    const err = await rejectsKind(p.whoAmI(), 'invalid');
    assert.match(err.message, /Metadata-Flavor/);
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test("gcp: no token: the service account's from the metadata server, cached until near expiry", async () => {
  const e = await fresh(50, { tokenExpiresInS: 1 });
  const tokenPath = /service-accounts\/default\/token$/;
  const tokenFetches = (): number => e.metadataFaults.log.filter((x) => tokenPath.test(x.path)).length;
  const { p } = driverFor(fixture, e, B, { token: '' });
  assert.equal(await p.holder(), A);
  assert.equal(await p.holder(), A);
  assert.equal(tokenFetches(), 1, 'the token is reused');
  await new Promise((r) => setTimeout(r, 600)); // half of a 1 s lifetime: renewed
  await p.holder();
  assert.equal(tokenFetches(), 2);
  await p.assign(B);
  assert.equal(e.holder(IP), B);

  // A token the API refuses is dropped, and the next call asks the metadata server again.
  e.faults.add({ kind: 'status', status: 401 });
  const before = tokenFetches();
  const err = await rejectsKind(p.holder(), 'auth');
  assert.ok(!err.message.includes(TOKEN));
  await p.holder();
  assert.equal(tokenFetches(), before + 1);

  const e2 = await fresh(50, { instances: [{ name: A }, { name: B, serviceAccount: false }] });
  const none = await rejectsKind(driverFor(fixture, e2, B, { token: '' }).p.holder(), 'auth');
  assert.match(none.message, /no service account/);
});

test('gcp: 403 rate limit is rate_limited, 403 permission is auth, 429 without Retry-After waits 5 s', async () => {
  const bodies: [number, string][] = [
    [403, 'rateLimitExceeded'],
    [403, 'userRateLimitExceeded'],
    [403, 'forbidden'],
    [403, 'quotaExceeded'],
    [400, 'resourceNotReady'],
    [409, 'alreadyExists'],
    [500, 'backendError'],
  ];
  let next: [number, string] = bodies[0]!;
  const srv = createServer((_req, res) => {
    const [status, reason] = next;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: {
          code: status,
          message: `said with ${reason}`,
          errors: [{ message: `said with ${reason}`, domain: 'global', reason }],
        },
      }),
    );
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (srv.address() as { port: number }).port;
    const p = gcp({
      address: IP,
      token: TOKEN,
      apiUrl: `http://127.0.0.1:${port}`,
      timeoutUs: 1_000_000,
      options: OPTIONS,
    });
    const kinds: Record<string, string> = {};
    for (const b of bodies) {
      next = b;
      const err = await p.holder().then(
        () => undefined,
        (x: unknown) => x as CloudError,
      );
      assert.ok(err instanceof CloudError);
      assert.match(err.message, new RegExp(`→ ${b[0]} ${b[1]}: said with ${b[1]}$`));
      kinds[b[1]] = err.kind;
      if (err.kind === 'rate_limited') assert.equal(err.retryAfterUs, 5_000_000);
    }
    assert.deepEqual(kinds, {
      rateLimitExceeded: 'rate_limited',
      userRateLimitExceeded: 'rate_limited',
      forbidden: 'auth',
      quotaExceeded: 'invalid',
      resourceNotReady: 'busy',
      alreadyExists: 'busy',
      backendError: 'server',
    });
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
  const e = await fresh();
  e.setRateLimit({ limit: 1, windowMs: 60_000 });
  const { p } = driverFor(fixture, e, B);
  await p.holder();
  const rl = await rejectsKind(p.holder(), 'rate_limited');
  assert.equal(rl.retryAfterUs, 5_000_000);
  assert.match(rl.message, /→ 429 rateLimitExceeded: Quota exceeded/);
});

test('gcp: an outage (5xx on every request) is server on every call; a failed PATCH leaves the holder', async () => {
  const e = await fresh();
  const { p } = driverFor(fixture, e, B);
  e.faults.add({ kind: 'status', status: 503, times: 3 });
  for (let i = 0; i < 3; i++)
    assert.equal((await rejectsKind(i === 2 ? p.assign(B) : p.holder(), 'server')).status, 503);
  e.faults.add({ kind: 'status', status: 500, match: fixture.assignPath });
  await rejectsKind(p.assign(B), 'server');
  assert.equal(e.holder(IP), A);
});

test('gcp: mode route moves a static route (delete, insert) by global operations; the OS has the address', async () => {
  const VIP = '198.51.100.77/32';
  const e = await fresh(60, { aliases: [], routes: [{ name: 'floatd-vip', destRange: VIP, instance: A }] });
  const opts = { ...OPTIONS, mode: 'route', ip_id: 'floatd-vip' };
  const { p, calls } = driverFor({ ...fixture, address: '198.51.100.77', options: opts }, e, B);
  assert.equal(p.needsLocalAddress, true);
  assert.equal(await p.holder(), A);
  calls.length = 0;
  await p.assign(B);
  assert.equal(e.holder(VIP), B);
  assert.equal(await p.holder(), B);
  const steps = calls.map((c) => `${c.method} ${short(c.path)}`).filter((x, i, all) => all[i - 1] !== x);
  assert.deepEqual(steps, [
    'GET /global/routes/floatd-vip',
    'DELETE /global/routes/floatd-vip',
    'GET /global/operations/OP',
    'POST /global/routes',
    'GET /global/operations/OP',
    'GET /global/routes/floatd-vip',
  ]);
  const r = e.state.routes.get('floatd-vip')!;
  assert.deepEqual([r.network, r.destRange, r.hop.name], ['default', VIP, B]);

  // No route yet: the default name, and the network of our own NIC.
  const { p: p2 } = driverFor({ ...fixture, address: '198.51.100.80', options: { ...OPTIONS, mode: 'route' } }, e, A);
  assert.equal(await p2.holder(), null);
  await p2.assign(A);
  assert.equal(e.state.routes.get('floatd-198-51-100-80-32')?.hop.name, A);
  // A route of that name for another range is not ours to move.
  const wrong = await rejectsKind(
    driverFor({ ...fixture, address: '198.51.100.81', options: { ...opts } }, e, A).p.holder(),
    'invalid',
  );
  assert.match(wrong.message, /route floatd-vip is for 198\.51\.100\.77\/32/);
  // A failed insert is undone by the emulator and reported as server.
  e.faults.add({ kind: 'action_error', match: /^POST / });
  await rejectsKind(driverFor({ ...fixture, address: '198.51.100.77', options: opts }, e, A).p.assign(A), 'server');
  assert.equal(e.holder(VIP), null);
});

test('gcp: options are checked before any call', async () => {
  const e = await fresh();
  const bad: [string, Record<string, string>, RegExp][] = [
    [IP, { ...OPTIONS, mode: 'vip' }, /mode must be alias or route/],
    ['2001:db8::10', OPTIONS, /alias IP ranges are IPv4/],
    ['203.0.113.10/24', OPTIONS, /does not start on a \/24 boundary/],
    ['web-vip', OPTIONS, /not an IP address/],
    [IP, { ...OPTIONS, zone: 'Europe West' }, /zone must be a zone name/],
    [IP, { ...OPTIONS, project: 'x' }, /project must be a project id/],
    [IP, { ...OPTIONS, network_interface: 'eth0' }, /network_interface must be nic0/],
    [IP, { ...OPTIONS, network: 'default' }, /network applies to mode route only/],
    [IP, { ...OPTIONS, mode: 'route', ip_id: 'Bad_Name' }, /ip_id must be a route name/],
    [IP, { ...OPTIONS, mode: 'route', alias_range: 'vips' }, /alias_range applies to mode alias only/],
  ];
  for (const [address, options, re] of bad) {
    const { p, calls } = driverFor({ ...fixture, address, options }, e, B, { options });
    assert.match((await rejectsKind(p.holder(), 'invalid')).message, re);
    assert.equal(calls.length, 0);
  }
  await rejectsKind(driverFor(fixture, e, B, { instanceId: '1234567' }).p.whoAmI(), 'invalid');
  // IPv6 is fine for a route.
  const v6 = driverFor({ ...fixture, address: '2001:db8::10' }, e, B, { options: { ...OPTIONS, mode: 'route' } });
  assert.equal(await v6.p.holder(), null);
  assert.match(v6.calls[0]!.path, /\/global\/routes\/floatd-2001-db8--10-128$/);
});

test('gcp: via the runner, an address already held costs no PATCH; a bad token fails once, no storm', async () => {
  const e = await fresh();
  const dir = mkdtempSync(join(tmpdir(), 'floatd-gcp-'));
  const runners: FloatingIpRunner[] = [];
  const runner = (node: string, tokenFile: string): FloatingIpRunner => {
    const cfg: FloatingIpConfig = {
      name: 'web',
      provider: 'gcp',
      address: IP,
      tokenFile,
      apiUrl: e.apiUrl,
      metadataUrl: e.metadataUrl(node),
      options: { poll_interval: '0.05', timeout: '1', backoff_base: '0.05', reconcile_interval: '60', ...OPTIONS },
      pos: { file: 'test', line: 1, col: 1 },
    };
    const r = new FloatingIpRunner(cfg, { log: pino({ level: 'silent' }), clock: realClock, factories: providers });
    runners.push(r);
    return r;
  };
  const until = async (cond: () => boolean): Promise<void> => {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > 3000) throw new Error('not within 3 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    writeFileSync(join(dir, 'good'), TOKEN);
    writeFileSync(join(dir, 'bad'), 'ya29.not-the-token');
    const ra = runner(A, join(dir, 'good'));
    assert.equal(ra.needsLocalAddress, false);
    ra.setDesire('hold', 'test');
    await until(() => ra.status().phase === 'held');
    assert.equal(ra.status().callsThisFailover, 2, 'whoami + holder');
    assert.equal(e.faults.count('PATCH'), 0);
    ra.stop();

    const n0 = e.snapshot().requests;
    const rb = runner(B, join(dir, 'bad'));
    rb.setDesire('hold', 'test');
    await until(() => rb.status().phase === 'failed');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(e.snapshot().requests - n0, 1);
    assert.match(rb.status().lastError ?? '', /→ 401 authError/);
    assert.ok(!(rb.status().lastError ?? '').includes('not-the-token'));
    assert.equal(e.holder(IP), A);
  } finally {
    for (const r of runners) r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
