import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { digitalocean } from '../../../src/cloud/providers/digitalocean.js';
import { closeServer, listen } from '../../emulators/kit.js';
import { startDigitalOceanEmulator, type DigitalOceanEmulator } from '../../emulators/digitalocean.js';
import {
  TOKEN,
  answered,
  driverFor,
  providerContract,
  rejectsKind,
  type ContractFixture,
} from './provider-contract.js';

const IP = '203.0.113.10';
const start = (
  actionDelayMs: number,
  extra: Partial<Parameters<typeof startDigitalOceanEmulator>[0]> = {},
): Promise<DigitalOceanEmulator> =>
  startDigitalOceanEmulator({
    token: TOKEN,
    actionDelayMs,
    droplets: [{ id: 101 }, { id: 102 }, { id: 103, region: 'ams3' }],
    reservedIps: [
      { ip: IP, dropletId: 101 },
      { ip: '203.0.113.11', dropletId: null },
      { ip: '2001:db8::10', dropletId: 101 },
      { ip: '203.0.113.12', dropletId: null, byoip: true },
    ],
    ...extra,
  });

const fixture: ContractFixture = {
  provider: 'digitalocean',
  factory: digitalocean,
  address: IP,
  emuAddress: IP,
  nodes: ['101', '102'],
  start: (o) => start(o.actionDelayMs),
  async: true,
  holderPath: /^GET \/v2\/reserved_ips\/203/,
  assignPath: /^POST \/v2\/reserved_ips\/.*\/actions$/,
  pollPath: /^GET .*actions/,
};
providerContract(fixture);

let emu: DigitalOceanEmulator | undefined;
after(async () => {
  await emu?.close();
});
const fresh = async (delay = 100): Promise<DigitalOceanEmulator> => {
  await emu?.close();
  emu = await start(delay);
  return emu;
};

test('digitalocean: assign is one POST (droplet_id a number), then polls of the action under the IP', async () => {
  const e = await fresh(120);
  const { p, calls } = driverFor(fixture, e, '102');
  await p.assign('102');
  assert.equal(calls[0]?.method, 'POST');
  assert.equal(calls[0]?.path, `/v2/reserved_ips/${IP}/actions`);
  assert.equal(calls[0]?.status, 201);
  assert.ok(calls.slice(1).every((c) => /^\/v2\/reserved_ips\/203\.0\.113\.10\/actions\/\d+$/.test(c.path)));
  const action = [...e.state.actions.values()].at(-1)!;
  assert.equal(action.type, 'assign_ip');
  assert.equal(action.resource_id, 3405803786); // 203.0.113.10 as a 32-bit integer
});

test('digitalocean: metadata reserved_ip/ipv4/active flips when the action completes, not before', async () => {
  const e = await fresh(200);
  const get = async (id: number, path: string): Promise<Response> =>
    fetch(e.metadataUrl(id) + path, { redirect: 'manual' });
  const active = async (id: number): Promise<string> => (await get(id, '/metadata/v1/reserved_ip/ipv4/active')).text();
  assert.equal(await active(101), 'true');
  assert.equal(await active(102), 'false');
  assert.equal(await (await get(101, '/metadata/v1/reserved_ip/ipv4/ip_address')).text(), IP);
  const { p } = driverFor(fixture, e, '102');
  const moving = p.assign('102');
  await answered(e, fixture.assignPath);
  assert.equal(await active(101), 'true', 'still on the old holder while the action runs');
  await moving;
  assert.equal(await active(101), 'false');
  assert.equal(await active(102), 'true');
  assert.equal((await get(101, '/metadata/v1/reserved_ip/ipv4/ip_address')).status, 404);
  const doc = (await (await get(102, '/metadata/v1.json')).json()) as {
    droplet_id: number;
    reserved_ip: { ipv4: { active: boolean; ip_address: string } };
  };
  assert.deepEqual([doc.droplet_id, doc.reserved_ip.ipv4.active, doc.reserved_ip.ipv4.ip_address], [102, true, IP]);
  // DO's index rules: a directory without its slash is a 301, with it a listing.
  const redirect = await get(102, '/metadata/v1/reserved_ip');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), '/metadata/v1/reserved_ip/');
  assert.deepEqual((await (await get(102, '/metadata/v1/reserved_ip/ipv4/')).text()).split('\n'), [
    'active',
    'ip_address',
  ]);
});

test('digitalocean: the emulator locks the IP while an action runs and shows it', async () => {
  const e = await fresh(200);
  const { p } = driverFor(fixture, e, '102');
  const moving = p.assign('102');
  await answered(e, fixture.assignPath);
  const res = await fetch(`${e.apiUrl}/v2/reserved_ips/${IP}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const j = (await res.json()) as { reserved_ip: { locked: boolean; droplet: { id: number } } };
  assert.equal(j.reserved_ip.locked, true);
  assert.equal(j.reserved_ip.droplet.id, 101);
  assert.ok(
    res.headers.get('ratelimit-limit') && res.headers.get('ratelimit-remaining') && res.headers.get('ratelimit-reset'),
  );
  await moving;
});

test("digitalocean: the busy error carries DO's own words", async () => {
  const e = await fresh(200);
  const moving = driverFor(fixture, e, '102').p.assign('102');
  await answered(e, fixture.assignPath);
  const err = await rejectsKind(driverFor(fixture, e, '101').p.assign('101'), 'busy');
  assert.match(
    err.message,
    new RegExp(
      String.raw`^digitalocean POST \/v2\/reserved_ips\/203\.0\.113\.10\/actions → 422 unprocessable_entity: ` +
        String.raw`The reserved IP already has a pending event\.$`,
    ),
  );
  assert.equal(err.retryable, true);
  await moving;
});

test("digitalocean: non-busy refusals are 'invalid' (other region, droplet holds one, unknown droplet)", async () => {
  const e = await fresh(50);
  e.setHolder('203.0.113.11', 102);
  const { p } = driverFor(fixture, e, '102');
  await rejectsKind(p.assign('103'), 'invalid'); // ams3 droplet, nyc3 IP
  await rejectsKind(p.assign('102'), 'invalid'); // 102 holds another reserved IP (one per droplet)
  await rejectsKind(p.assign('999'), 'invalid');
  await rejectsKind(p.assign('not-a-droplet'), 'invalid');
  assert.equal(e.holder(IP), '101');
});

test('digitalocean: an address the account does not have is not_found', async () => {
  const e = await fresh();
  const p = digitalocean({
    address: '203.0.113.99',
    token: TOKEN,
    apiUrl: e.apiUrl,
    timeoutUs: 1_000_000,
    options: {},
  });
  const err = await rejectsKind(p.holder(), 'not_found');
  assert.match(err.message, /→ 404 not_found: The resource you requested could not be found\./);
});

test('digitalocean: the legacy floating_ips path and an api_url ending in /v2 work the same', async () => {
  const e = await fresh(60);
  const { p, calls } = driverFor({ ...fixture, options: { mode: 'floating_ips' } }, e, '102', {
    apiUrl: `${e.apiUrl}/v2/`,
  });
  assert.equal(await p.holder(), '101');
  await p.assign('102');
  assert.equal(await p.holder(), '102');
  assert.ok(calls.every((c) => c.path.startsWith(`/v2/floating_ips/${IP}`)));
});

test('digitalocean: reserved IPv6 needs the address on an interface and moves through /v2/reserved_ipv6', async () => {
  const e = await fresh(60);
  const { p, calls } = driverFor({ ...fixture, address: '2001:db8::10' }, e, '102');
  assert.equal(p.needsLocalAddress, true);
  assert.equal(driverFor(fixture, e, '102').p.needsLocalAddress, false);
  assert.equal(await p.holder(), '101');
  await p.assign('102');
  assert.equal(e.holder('2001:db8::10'), '102');
  assert.ok(calls.some((c) => /^\/v2\/actions\/\d+$/.test(c.path)));
});

test('digitalocean: metadata that is not a droplet id, or an address that is no IP, is invalid', async () => {
  const { server, url } = await listen((_req, res) => {
    res.end('i-0abc');
  });
  try {
    const p = digitalocean({ address: IP, token: TOKEN, metadataUrl: url, timeoutUs: 1_000_000, options: {} });
    const err = await rejectsKind(p.whoAmI(), 'invalid');
    assert.match(err.message, /"i-0abc", not a droplet id/);
  } finally {
    await closeServer(server);
  }
  const p2 = digitalocean({ address: 'lb.example', token: TOKEN, timeoutUs: 1_000_000, options: {} });
  await rejectsKind(p2.holder(), 'invalid');
});

test('digitalocean: a burst 429 says retry-after; an hourly one only ratelimit-reset, which is used', async () => {
  await emu?.close();
  emu = await start(50, { burstLimit: { limit: 2, windowMs: 60_000 } });
  const { p } = driverFor(fixture, emu, '102');
  await p.holder();
  await p.holder();
  const burst = await rejectsKind(p.holder(), 'rate_limited');
  assert.ok(
    burst.retryAfterUs !== undefined && burst.retryAfterUs >= 59_000_000 && burst.retryAfterUs <= 60_000_000,
    `burst ${burst.retryAfterUs}`,
  );
  await emu.close();
  emu = await start(50, { rateLimit: { limit: 1, windowMs: 3_600_000 } });
  const { p: p2 } = driverFor(fixture, emu, '102');
  await p2.holder();
  const res = await fetch(`${emu.apiUrl}/v2/reserved_ips/${IP}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), null);
  assert.equal(res.headers.get('ratelimit-limit'), '1');
  assert.equal(res.headers.get('ratelimit-remaining'), '0');
  const hourly = await rejectsKind(p2.holder(), 'rate_limited');
  assert.ok(
    hourly.retryAfterUs !== undefined && hourly.retryAfterUs > 3_500_000_000 && hourly.retryAfterUs <= 3_601_000_000,
    `hourly ${hourly.retryAfterUs}`,
  );
});

test('digitalocean: 422 for assigning a droplet its own IP counts as done (one look at the holder)', async () => {
  const e = await fresh(50);
  const { p, calls } = driverFor(fixture, e, '101');
  await p.assign('101');
  assert.deepEqual(
    calls.map((c) => `${c.method} ${c.status}`),
    ['POST 422', 'GET 200'],
  );
  assert.equal(e.holder(IP), '101');
});

test('digitalocean: a droplet with a pending event refuses the assign (422) → busy', async () => {
  const e = await fresh(50);
  e.dropletEvent(102, 5000);
  const err = await rejectsKind(driverFor(fixture, e, '102').p.assign('102'), 'busy');
  assert.match(err.message, /→ 422 unprocessable_entity: Droplet already has a pending event\.$/);
  assert.equal(e.holder(IP), '101');
});

test('digitalocean: a BYOIP address whose actions 404 is followed through the IP itself', async () => {
  const e = await fresh(120);
  const { p, calls } = driverFor({ ...fixture, address: '203.0.113.12' }, e, '102');
  await p.assign('102');
  assert.equal(e.holder('203.0.113.12'), '102');
  const polls = calls.slice(1);
  assert.ok(polls.some((c) => c.status === 404 && /\/actions\/\d+$/.test(c.path)));
  assert.deepEqual(polls.at(-1), {
    ...polls.at(-1)!,
    method: 'GET',
    path: '/v2/reserved_ips/203.0.113.12',
    status: 200,
  });
  assert.ok(calls.length <= 1 + 2 * (Math.ceil(120 / 50) + 2), `${calls.length} calls`);
});
