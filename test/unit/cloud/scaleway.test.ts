import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import fc from 'fast-check';
import { scaleway } from '../../../src/cloud/providers/scaleway.js';
import { providers } from '../../../src/cloud/providers/index.js';
import { FloatingIpRunner } from '../../../src/cloud/runner.js';
import { realClock } from '../../../src/util/clock.js';
import type { FloatingIpConfig } from '../../../src/config/model.js';
import type { CloudErrorKind } from '../../../src/cloud/types.js';
import {
  startScalewayEmulator,
  type ScalewayEmulator,
  type ScalewayEmulatorOptions,
} from '../../emulators/scaleway.js';
import { TOKEN, canned, driverFor, providerContract, rejectsKind, type ContractFixture } from './provider-contract.js';

const IP = '203.0.113.50';
const A = '5e1ec7ed-0000-4000-8000-00000000000a';
const B = '5e1ec7ed-0000-4000-8000-00000000000b';
const C = '5e1ec7ed-0000-4000-8000-00000000000c';
const FIP = 'f1ee0000-aaaa-4bbb-8ccc-000000000001';

const startInstances = (
  actionDelayMs: number,
  extra: Partial<ScalewayEmulatorOptions> = {},
): Promise<ScalewayEmulator> =>
  startScalewayEmulator({
    token: TOKEN,
    actionDelayMs,
    servers: [{ id: A }, { id: B }, { id: C, zone: 'nl-ams-1' }],
    ips: [
      { address: IP, server: A },
      { address: '203.0.113.51', server: B },
      { address: '2001:db8:50::/64', server: A },
    ],
    ...extra,
  });
const startMetal = (actionDelayMs: number, extra: Partial<ScalewayEmulatorOptions> = {}): Promise<ScalewayEmulator> =>
  startScalewayEmulator({
    token: TOKEN,
    actionDelayMs,
    servers: [
      { id: A, product: 'elastic_metal' },
      { id: B, product: 'elastic_metal' },
    ],
    ips: [
      { address: '203.0.113.52', server: null, product: 'elastic_metal' },
      { address: IP, server: A, product: 'elastic_metal', id: FIP },
    ],
    ...extra,
  });

const fixture: ContractFixture = {
  provider: 'scaleway',
  factory: scaleway,
  address: IP,
  emuAddress: IP,
  nodes: [A, B],
  start: (o) => startInstances(o.actionDelayMs),
  async: true,
  holderPath: /^GET \/instance\/v1\/zones\/[^/]+\/ips/,
  assignPath: /^PATCH \/instance\/v1\/zones\/[^/]+\/ips\/[^/]+$/,
  pollPath: /^GET \/instance\/v1\/zones\/[^/]+\/ips\/[^/]+$/,
  badOptions: { mode: 'classic' },
};
const metal: ContractFixture = {
  ...fixture,
  start: (o) => startMetal(o.actionDelayMs),
  options: { mode: 'elastic_metal' },
  holderPath: /^GET \/flexible-ip\/v1alpha1\/zones\/[^/]+\/fips/,
  assignPath: /^POST \/flexible-ip\/v1alpha1\/zones\/[^/]+\/fips\/attach$/,
  pollPath: /^GET \/flexible-ip\/v1alpha1\/zones\/[^/]+\/fips\/[^/]+$/,
  badOptions: { mode: 'elastic_metal', zone: 'paris' },
};
describe('scaleway mode instance (zone from the metadata service)', () => providerContract(fixture));
describe('scaleway mode elastic_metal (id looked up by address)', () => providerContract(metal));

let emu: ScalewayEmulator | undefined;
after(async () => {
  await emu?.close();
});
const fresh = async (e: Promise<ScalewayEmulator>): Promise<ScalewayEmulator> => {
  await emu?.close();
  emu = await e;
  return emu;
};
const log = (e: ScalewayEmulator): string[] => e.faults.log.map((x) => `${x.method} ${x.path} ${x.status}`);

test('scaleway: a move is one PATCH naming the new server (no detach), then polls until attached', async () => {
  const e = await fresh(startInstances(120));
  const { p, calls } = driverFor({ ...fixture, options: { zone: 'fr-par-1' } }, e, B);
  assert.equal(await p.holder(), A);
  await p.assign(B);
  const l = log(e);
  assert.equal(l[0], `GET /instance/v1/zones/fr-par-1/ips/${IP} 200`);
  assert.equal(l[1], `PATCH /instance/v1/zones/fr-par-1/ips/${IP} 200`);
  assert.ok(
    l.slice(2).every((x) => x === `GET /instance/v1/zones/fr-par-1/ips/${IP} 200`),
    l.join('\n'),
  );
  assert.ok(l.length >= 4 && l.length <= 6, `${l.length} requests`);
  assert.equal(calls.length, l.length, 'a zone option means no metadata call');
  assert.equal(e.holder(IP), B);
  assert.equal(await p.holder(), B);
  console.log(`# scaleway: a move took ${l.length - 1} API requests after holder() (1 PATCH + polls)`);
});

test('scaleway: a pending PATCH shows the old server; an answer with the move done makes assign one call', async () => {
  const e = await fresh(startInstances(150));
  const { p } = driverFor({ ...fixture, options: { zone: 'fr-par-1' } }, e, B);
  const path = `/instance/v1/zones/fr-par-1/ips/${IP}`;
  const h = { 'x-auth-token': TOKEN, 'content-type': 'application/json' };
  const patched = (await (
    await fetch(e.apiUrl + path, { method: 'PATCH', headers: h, body: JSON.stringify({ server: B }) })
  ).json()) as { ip: { state: string; server: { id: string } } };
  assert.deepEqual([patched.ip.state, patched.ip.server.id], ['pending', A]);
  const again = await fetch(e.apiUrl + path, { method: 'PATCH', headers: h, body: JSON.stringify({ server: A }) });
  assert.equal(again.status, 409);
  assert.deepEqual(await again.json(), {
    message: 'resource is in a transient state',
    type: 'transient_state',
    resource: 'instance_ip',
    resource_id: [...e.state.ips.values()][0]!.id,
    current_state: 'pending',
  });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(e.holder(IP), B);
  assert.equal(await p.holder(), B);

  const e2 = await fresh(startInstances(150, { instantInstance: true }));
  const { p: p2, calls } = driverFor({ ...fixture, options: { zone: 'fr-par-1' } }, e2, B);
  await p2.assign(B);
  assert.deepEqual(
    calls.map((c) => `${c.method} ${c.status}`),
    ['PATCH 200'],
  );
  assert.equal(e2.holder(IP), B);
});

test('scaleway: a node already holding the address makes no assign call (runner + driver + emulator)', async () => {
  const e = await fresh(startInstances(50));
  const dir = mkdtempSync(join(tmpdir(), 'floatd-scw-'));
  const runners: FloatingIpRunner[] = [];
  try {
    const good = join(dir, 'token');
    writeFileSync(good, TOKEN + '\n');
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'scw-secret-0000-not-it\n');
    const runner = (node: string, tokenFile: string): FloatingIpRunner => {
      const cfg: FloatingIpConfig = {
        name: 'web',
        provider: 'scaleway',
        address: IP,
        tokenFile,
        apiUrl: e.apiUrl,
        metadataUrl: e.metadataUrl(node),
        options: {
          poll_interval: '0.05',
          timeout: '1',
          backoff_base: '0.05',
          backoff_max: '0.5',
          reconcile_interval: '60',
        },
        pos: { file: 'test', line: 1, col: 1 },
      };
      const r = new FloatingIpRunner(cfg, { log: pino({ level: 'silent' }), clock: realClock, factories: providers });
      runners.push(r);
      return r;
    };
    const ra = runner(A, good);
    assert.equal(ra.needsLocalAddress, true);
    ra.setDesire('hold', 'test');
    const t0 = Date.now();
    while (ra.status().phase !== 'held' && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ra.status().phase, 'held');
    assert.equal(e.faults.count('PATCH'), 0);
    assert.deepEqual(log(e), [`GET /instance/v1/zones/fr-par-1/ips/${IP} 200`]);

    // A wrong key: one refused request, then the runner waits (no retry storm), key never shown.
    const rx = runner(B, bad);
    const n0 = e.faults.log.length;
    rx.setDesire('hold', 'test');
    const t1 = Date.now();
    while (rx.status().phase !== 'failed' && Date.now() - t1 < 3000) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.status().phase, 'failed');
    assert.deepEqual(log(e).slice(n0), [`GET /instance/v1/zones/fr-par-1/ips/${IP} 401`]);
    assert.match(rx.status().lastError ?? '', /401 denied_authentication: authentication is denied/);
    assert.ok(!(rx.status().lastError ?? '').includes('scw-secret'));
    assert.equal(e.holder(IP), A);
  } finally {
    for (const r of runners) r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("scaleway: the emulator wants X-Auth-Token (a Bearer header is not Scaleway's), 403 is auth too", async () => {
  const e = await fresh(startInstances(50));
  const path = `${e.apiUrl}/instance/v1/zones/fr-par-1/ips/${IP}`;
  const bearer = await fetch(path, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(bearer.status, 401);
  assert.deepEqual(await bearer.json(), {
    message: 'authentication is denied',
    type: 'denied_authentication',
    method: 'api_key',
    reason: 'not_found',
  });
  assert.equal((await fetch(path, { headers: { 'x-auth-token': TOKEN } })).status, 200);
  const { p } = driverFor(fixture, e, B);
  e.faults.add({ kind: 'status', status: 403, match: fixture.holderPath });
  const err = await rejectsKind(p.holder(), 'auth');
  assert.match(
    err.message,
    new RegExp(
      String.raw`^scaleway GET \/instance\/v1\/zones\/fr-par-1\/ips\/203\.0\.113\.50 → 403 permissions_denied: ` +
        'insufficient permissions$',
    ),
  );
});

test('scaleway: 429 from the limiter carries Retry-After and X-RateLimit-* (reset in seconds from now)', async () => {
  const e = await fresh(startInstances(50));
  e.setRateLimit({ limit: 1, windowMs: 20_000 });
  const { p } = driverFor({ ...fixture, options: { zone: 'fr-par-1' } }, e, B);
  await p.holder();
  const err = await rejectsKind(p.holder(), 'rate_limited');
  assert.equal(err.status, 429);
  assert.ok(
    err.retryAfterUs !== undefined && err.retryAfterUs > 15_000_000 && err.retryAfterUs <= 20_000_000,
    String(err.retryAfterUs),
  );
  assert.match(err.message, /→ 429 too_many_requests: too many requests$/);
  const res = await fetch(`${e.apiUrl}/instance/v1/zones/fr-par-1/ips/${IP}`, { headers: { 'x-auth-token': TOKEN } });
  const reset = Number(res.headers.get('x-ratelimit-reset'));
  // The kit counts whole seconds, so the window can read one second long.
  assert.ok(reset > 15 && reset <= 21, `reset ${reset}`);
  assert.equal(res.headers.get('x-ratelimit-remaining'), '0');
});

const direct = (apiUrl: string, over: Record<string, string> = {}, token = TOKEN) =>
  scaleway({ address: IP, token, apiUrl, timeoutUs: 1_000_000, options: { zone: 'fr-par-1', ...over } });

test('scaleway: a 429 waits per Retry-After, else body (reset_seconds, reset_at), else X-RateLimit-Reset', async () => {
  // [body, headers, lo, hi]: the expected wait in ms, compared with the error's µs.
  const cases: [Record<string, unknown>, Record<string, string>, number, number][] = [
    [
      { type: 'too_many_requests', help_message: 'slow down', reset_seconds: 13 },
      { 'retry-after': '4', 'x-ratelimit-reset': '30' },
      4000,
      4000,
    ],
    [
      { type: 'too_many_requests', help_message: 'slow down', reset_seconds: 13 },
      { 'x-ratelimit-reset': '30' },
      13_000,
      13_000,
    ],
    [
      { type: 'too_many_requests', help_message: '', reset_at: new Date(Date.now() + 9000).toISOString() },
      {},
      7000,
      9000,
    ],
    [{ type: 'too_many_requests', help_message: '' }, { 'x-ratelimit-reset': '30' }, 30_000, 30_000],
    [
      { type: 'too_many_requests', help_message: '' },
      { 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 5) },
      3000,
      5000,
    ],
  ];
  for (const [body, headers, lo, hi] of cases) {
    const s = await canned(429, body, headers);
    try {
      const e = await rejectsKind(direct(s.url).holder(), 'rate_limited');
      assert.ok(
        e.retryAfterUs !== undefined && e.retryAfterUs >= lo * 1000 && e.retryAfterUs <= hi * 1000,
        `${JSON.stringify(headers)}: ${e.retryAfterUs}`,
      );
    } finally {
      await s.close();
    }
  }
});

test('scaleway: error types decide the kind, whatever the status', async () => {
  const cases: [number, Record<string, unknown> | string, CloudErrorKind, RegExp][] = [
    [
      409,
      {
        type: 'transient_state',
        message: 'resource is in a transient state',
        resource: 'instance_ip',
        resource_id: 'x',
        current_state: 'pending',
      },
      'busy',
      /409 transient_state: resource is in a transient state \(instance_ip x, state pending\)$/,
    ],
    // Issue 15 item 22: a resource Scaleway locked and a failed precondition do not pass by waiting.
    [
      423,
      { type: 'locked', resource: 'instance_server', resource_id: 'y' },
      'invalid',
      /423 locked: \(instance_server y\)$/,
    ],
    [
      412,
      { type: 'precondition_failed', precondition: 'resource_still_in_use', help_message: 'detach first' },
      'invalid',
      /412 precondition_failed: detach first$/,
    ],
    [
      403,
      { type: 'resource_expired', resource: 'api_key', resource_id: 'SCWX', expired_since: '2026-01-01T00:00:00Z' },
      'auth',
      /403 resource_expired: \(api_key SCWX\)$/,
    ],
    [
      400,
      { type: 'resource_expired', resource: 'instance_ip', resource_id: 'z', expired_since: '2026-01-01T00:00:00Z' },
      'invalid',
      /400 resource_expired/,
    ],
    [409, { message: 'conflict' }, 'busy', /409 conflict$/],
    [408, 'request timeout', 'timeout', /408 request timeout$/],
    [
      400,
      {
        type: 'invalid_arguments',
        message: 'invalid argument(s)',
        details: [{ argument_name: 'server', reason: 'format' }],
      },
      'invalid',
      /400 invalid_arguments: invalid argument\(s\) \(server: format\)$/,
    ],
    [403, { type: 'quotas_exceeded', message: 'quota(s) exceeded' }, 'invalid', /403 quotas_exceeded/],
    [410, { type: 'expired', resource: 'account_token', resource_id: 'SCWX' }, 'auth', /410 expired/],
    [
      404,
      { type: 'not_found', resource: 'instance_ip', resource_id: IP },
      'not_found',
      /404 not_found: \(instance_ip 203\.0\.113\.50\)$/,
    ],
    [503, { type: 'out_of_stock', resource: 'instance_server' }, 'server', /503 out_of_stock/],
    [502, '<html>bad gateway</html>', 'server', /502 <html>bad gateway<\/html>$/],
  ];
  for (const [status, body, kind, words] of cases) {
    const s = await canned(status, body);
    try {
      const e = await rejectsKind(direct(s.url).holder(), kind);
      assert.match(e.message, words);
      assert.equal(e.status, status);
    } finally {
      await s.close();
    }
  }
});

test('scaleway: the secret key never reaches an error message, even when echoed back (property)', async () => {
  const s = await canned(500, {});
  let echo = '';
  const srv = createServer((req, res) => {
    req.resume();
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ type: 'invalid_arguments', message: `bad key ${echo}` }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const echoUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 8, maxLength: 40 }).filter((t) => /^[\x21-\x7e]+$/.test(t)),
        async (key) => {
          echo = key;
          for (const url of [s.url, echoUrl]) {
            const e = await direct(url, {}, key)
              .assign(B)
              .then(
                () => undefined,
                (x: unknown) => x as Error,
              );
            assert.ok(e instanceof Error && !e.message.includes(key), e?.message);
          }
        },
      ),
      { numRuns: 25 },
    );
  } finally {
    await s.close();
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('scaleway: bad options are invalid before any call, in words that say what to fix', async () => {
  const e = await fresh(startInstances(50));
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ mode: 'classic' }, IP, /mode must be instance or elastic_metal \(got "classic"\)/],
    [{ zone: 'par1' }, IP, /zone must be a Scaleway zone such as fr-par-1 \(got "par1"\)/],
    [{ ip_id: '42' }, IP, /ip_id must be the flexible IP's UUID \(got "42"\)/],
    [{}, 'web.example.com', /address "web\.example\.com" is neither an IP address nor a flexible IP id/],
    [{ action_timeout: '-1' }, IP, /action_timeout must be a positive number/],
  ];
  for (const [options, address, words] of cases) {
    const { p, calls } = driverFor({ ...fixture, address }, e, B, { options });
    const err = await rejectsKind(p.holder(), 'invalid');
    assert.match(err.message, words);
    await rejectsKind(p.assign(B), 'invalid');
    assert.equal(calls.length, 0);
  }
  // A server id must be a UUID, from the config or the metadata service.
  await rejectsKind(driverFor(fixture, e, B, { instanceId: '1234' }).p.whoAmI(), 'invalid');
  await rejectsKind(driverFor(fixture, e, B).p.assign('not-a-uuid'), 'invalid');
});

test('scaleway: zone from metadata (location.zone_id) unless set; another zone does not see the IP', async () => {
  const e = await fresh(
    startInstances(50, {
      ips: [
        { address: IP, server: A },
        { address: '198.51.100.7', server: C, zone: 'nl-ams-1' },
      ],
    }),
  );
  const { p, calls } = driverFor({ ...fixture, address: '198.51.100.7' }, e, C);
  assert.equal(await p.whoAmI(), C);
  assert.equal(await p.holder(), C);
  assert.deepEqual(
    calls.map((c) => c.path),
    ['/conf?format=json', '/instance/v1/zones/nl-ams-1/ips/198.51.100.7'],
  );
  const wrong = driverFor({ ...fixture, address: '198.51.100.7', options: { zone: 'fr-par-1' } }, e, C);
  const err = await rejectsKind(wrong.p.holder(), 'not_found');
  assert.match(err.message, /404 not_found: resource is not found \(instance_ip 198\.51\.100\.7\)$/);
  assert.equal(wrong.calls.length, 1);
});

test('scaleway: a routed IPv6 is found by prefix through the list pages (once), then named by id', async () => {
  const many = Array.from({ length: 230 }, (_, i) => ({ address: `198.51.100.${(i % 250) + 1}`, server: null }));
  const e = await fresh(
    startInstances(60, {
      ips: [...many, { address: '2001:db8:50::/64', server: A, id: FIP }, { address: IP, server: A }],
    }),
  );
  const { p, calls } = driverFor({ ...fixture, address: '2001:db8:50::8', options: { zone: 'fr-par-1' } }, e, B);
  assert.equal(await p.holder(), A);
  assert.deepEqual(
    calls.map((c) => c.path),
    [
      '/instance/v1/zones/fr-par-1/ips?per_page=100&page=1',
      '/instance/v1/zones/fr-par-1/ips?per_page=100&page=2',
      '/instance/v1/zones/fr-par-1/ips?per_page=100&page=3',
      `/instance/v1/zones/fr-par-1/ips/${FIP}`,
    ],
  );
  calls.length = 0;
  await p.assign(B);
  assert.ok(calls.every((c) => c.path === `/instance/v1/zones/fr-par-1/ips/${FIP}`));
  assert.equal(e.holder('2001:db8:50::/64'), B);
  await rejectsKind(
    driverFor({ ...fixture, address: '2001:db8:99::1', options: { zone: 'fr-par-1' } }, e, B).p.holder(),
    'not_found',
  );
});

test('scaleway: Elastic Metal attach moves the flexible IP directly (updating → attached); one id lookup', async () => {
  const e = await fresh(startMetal(100));
  const { p, calls } = driverFor(metal, e, B);
  assert.equal(await p.whoAmI(), B);
  assert.equal(await p.holder(), A);
  assert.equal(await p.holder(), A);
  const base = '/flexible-ip/v1alpha1/zones/fr-par-1/fips';
  assert.deepEqual(
    calls.map((c) => c.path),
    ['/conf?format=json', `${base}?page=1&page_size=100`, `${base}/${FIP}`, `${base}/${FIP}`],
  );
  calls.length = 0;
  await p.assign(B);
  assert.equal(calls[0]!.path, `${base}/attach`);
  assert.ok(calls.slice(1).every((c) => c.method === 'GET' && c.path === `${base}/${FIP}`));
  assert.ok(!calls.some((c) => c.path.endsWith('/detach')));
  assert.equal(e.holder(IP), B);
  // An unknown flexible IP id: Scaleway answers 403 for it, so it reads as auth.
  await rejectsKind(
    driverFor(
      { ...metal, options: { mode: 'elastic_metal', ip_id: 'f1ee0000-aaaa-4bbb-8ccc-0000000000ff' } },
      e,
      B,
    ).p.holder(),
    'auth',
  );
  const det = await fetch(`${e.apiUrl}${base}/detach`, {
    method: 'POST',
    headers: { 'x-auth-token': TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({ fips_ids: [FIP] }),
  });
  const j = (await det.json()) as { total_count: number; flexible_ips: { status: string; server_id: string }[] };
  assert.deepEqual([j.total_count, j.flexible_ips[0]!.status, j.flexible_ips[0]!.server_id], [1, 'detaching', B]);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await p.holder(), null);
});

test('scaleway: metadata /conf?format=json and plain /conf show the server, its zone, its attached IPs', async () => {
  const e = await fresh(startInstances(50));
  const j = (await (await fetch(`${e.metadataUrl(A)}/conf?format=json`)).json()) as {
    id: string;
    location: { zone_id: string };
    public_ips_v4: { address: string; provisioning_mode: string }[];
  };
  assert.equal(j.id, A);
  assert.equal(j.location.zone_id, 'fr-par-1');
  assert.deepEqual(
    j.public_ips_v4.map((x) => x.address),
    [IP],
  );
  const plain = await (await fetch(`${e.metadataUrl(B)}/conf`)).text();
  assert.match(plain, new RegExp(`^ID=${B}$`, 'm'));
  assert.match(plain, /^LOCATION_ZONE_ID=fr-par-1$/m);
  assert.match(plain, /^PUBLIC_IPS_V4_0_ADDRESS=203\.0\.113\.51$/m);
  assert.equal((await fetch(`${e.metadataUrl(B)}/user_data`)).status, 404);
});
