import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { hetzner } from '../../../src/cloud/providers/hetzner.js';
import { startHetznerEmulator, type HetznerEmulator, type HetznerEmulatorOptions } from '../../emulators/hetzner.js';
import {
  TOKEN,
  canned,
  answered,
  driverFor,
  providerContract,
  rejectsKind,
  type ContractFixture,
} from './provider-contract.js';

const IP = '203.0.113.20';
const start = (actionDelayMs: number, extra: Partial<HetznerEmulatorOptions> = {}): Promise<HetznerEmulator> =>
  startHetznerEmulator({
    token: TOKEN,
    actionDelayMs,
    servers: [{ id: 42 }, { id: 43 }],
    floatingIps: [
      { ip: IP, server: 42, id: 4711 },
      { ip: '2001:db8:1::', server: 42, id: 4712 },
    ],
    ...extra,
  });

const fixture: ContractFixture = {
  provider: 'hetzner',
  factory: hetzner,
  address: IP,
  emuAddress: IP,
  nodes: ['42', '43'],
  start: (o) => start(o.actionDelayMs),
  async: true,
  holderPath: /^GET \/v1\/floating_ips/,
  assignPath: /^POST \/v1\/floating_ips\/\d+\/actions\/assign$/,
  pollPath: /^GET \/v1\/actions/,
};
providerContract(fixture);

let emu: HetznerEmulator | undefined;
after(async () => {
  await emu?.close();
});
const fresh = async (delay = 80, extra: Partial<HetznerEmulatorOptions> = {}): Promise<HetznerEmulator> => {
  await emu?.close();
  emu = await start(delay, extra);
  return emu;
};

test('hetzner: the floating IP is found by address once (across pages), then addressed by id', async () => {
  const many = Array.from({ length: 120 }, (_, i) => ({ ip: `198.51.100.${i + 1}`, server: null }));
  const e = await fresh(80, { floatingIps: [...many, { ip: IP, server: 42, id: 9001 }] });
  const { p, calls } = driverFor(fixture, e, '43');
  assert.equal(await p.holder(), '42');
  assert.deepEqual(
    calls.map((c) => c.path),
    [
      '/v1/floating_ips?page=1&per_page=50',
      '/v1/floating_ips?page=2&per_page=50',
      '/v1/floating_ips?page=3&per_page=50',
      '/v1/floating_ips/9001',
    ],
  );
  calls.length = 0;
  await p.assign('43');
  assert.equal(calls[0]?.path, '/v1/floating_ips/9001/actions/assign');
  assert.ok(calls.slice(1).every((c) => /^\/v1\/actions\/\d+$/.test(c.path)));
  assert.equal(await p.holder(), '43');
});

test('hetzner: an id as the address, or ip_id, needs no look-up; an unknown address is not_found', async () => {
  const e = await fresh();
  const byId = driverFor({ ...fixture, address: '4711' }, e, '43');
  assert.equal(await byId.p.holder(), '42');
  assert.deepEqual(
    byId.calls.map((c) => c.path),
    ['/v1/floating_ips/4711'],
  );
  const byOpt = driverFor({ ...fixture, options: { ip_id: '4711' } }, e, '43');
  assert.equal(await byOpt.p.holder(), '42');
  assert.equal(byOpt.calls.length, 1);
  await rejectsKind(driverFor({ ...fixture, address: '192.0.2.99' }, e, '43').p.holder(), 'not_found');
  await rejectsKind(driverFor({ ...fixture, options: { ip_id: 'abc' } }, e, '43').p.holder(), 'invalid');
});

test('hetzner: a floating IPv6 /64 is found by any address inside it', async () => {
  const e = await fresh();
  const { p } = driverFor({ ...fixture, address: '2001:db8:1::1' }, e, '43');
  assert.equal(p.needsLocalAddress, true);
  assert.equal(await p.holder(), '42');
  await p.assign('43');
  assert.equal(e.holder('2001:db8:1::'), '43');
});

test('hetzner: 422 floating_ip_assigned to self counts as done', async () => {
  const e = await fresh();
  const { p, calls } = driverFor({ ...fixture, address: '4711' }, e, '42');
  await p.assign('42');
  assert.deepEqual(
    calls.map((c) => `${c.method} ${c.status}`),
    ['POST 422', 'GET 200'],
  );
  assert.equal(e.holder(IP), '42');
});

test('hetzner: where the API refuses to reassign, the driver unassigns first and then assigns', async () => {
  const e = await fresh(60, { refuseReassign: true });
  const { p, calls } = driverFor({ ...fixture, address: '4711' }, e, '43');
  await p.assign('43');
  assert.equal(e.holder(IP), '43');
  const posts = calls.filter((c) => c.method === 'POST').map((c) => `${c.path} ${c.status}`);
  assert.deepEqual(posts, [
    '/v1/floating_ips/4711/actions/assign 422',
    '/v1/floating_ips/4711/actions/unassign 201',
    '/v1/floating_ips/4711/actions/assign 201',
  ]);
});

test("hetzner: busy is 423 locked in Hetzner's words; the limiter's 429 gives a retry within a second", async () => {
  const e = await fresh(200);
  const moving = driverFor(fixture, e, '43').p.assign('43');
  await answered(e, fixture.assignPath);
  const err = await rejectsKind(driverFor({ ...fixture, address: '4711' }, e, '42').p.assign('42'), 'busy');
  assert.match(err.message, /^hetzner POST \/v1\/floating_ips\/4711\/actions\/assign → 423 locked: /);
  await moving;
  e.setRateLimit({ limit: 1, windowMs: 3_600_000 });
  const { p } = driverFor({ ...fixture, address: '4711' }, e, '42');
  await p.holder();
  const rl = await rejectsKind(p.holder(), 'rate_limited');
  assert.ok(
    rl.retryAfterUs !== undefined && rl.retryAfterUs > 0 && rl.retryAfterUs <= 1_000_000,
    `retryAfterUs ${rl.retryAfterUs}`,
  );
});

test("hetzner: the metadata service answers like Hetzner's (YAML summary, instance-id leaf)", async () => {
  const e = await fresh();
  const summary = await (await fetch(`${e.metadataUrl(43)}/hetzner/v1/metadata`)).text();
  assert.match(summary, /^instance-id: 43$/m);
  assert.equal(await (await fetch(`${e.metadataUrl(43)}/hetzner/v1/metadata/instance-id`)).text(), '43');
  assert.equal((await fetch(`${e.metadataUrl(43)}/hetzner/v1/metadata/nope`)).status, 404);
  const p = hetzner({
    address: IP,
    token: TOKEN,
    apiUrl: `${e.apiUrl}/v1`,
    metadataUrl: e.metadataUrl(43),
    timeoutUs: 1_000_000,
    options: {},
  });
  assert.equal(await p.whoAmI(), '43');
  assert.equal(await p.holder(), '42');
});

test('hetzner: only 423 locked is busy; 423 protected (any other 423) is invalid, not retried as busy', async () => {
  for (const [code, kind] of [
    ['locked', 'busy'],
    ['protected', 'invalid'],
    ['resource_locked', 'invalid'],
  ] as const) {
    const s = await canned(423, { error: { code, message: `floating ip is ${code}`, details: {} } });
    try {
      const p = hetzner({
        address: '4711',
        token: TOKEN,
        apiUrl: s.url,
        instanceId: '42',
        timeoutUs: 1_000_000,
        options: {},
      });
      const e = await rejectsKind(p.assign('42'), kind);
      assert.match(e.message, new RegExp(`423 ${code}: floating ip is ${code}$`));
    } finally {
      await s.close();
    }
  }
});
