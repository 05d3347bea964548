import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { linode } from '../../../src/cloud/providers/linode.js';
import { startLinodeEmulator, type LinodeEmulator, type LinodeEmulatorOptions } from '../../emulators/linode.js';
import { TOKEN, canned, driverFor, providerContract, rejectsKind, type ContractFixture } from './provider-contract.js';

const IP = '203.0.113.40';
const start = (extra: Partial<LinodeEmulatorOptions> = {}): Promise<LinodeEmulator> =>
  startLinodeEmulator({
    token: TOKEN,
    linodes: [{ id: 123 }, { id: 234 }, { id: 345, region: 'eu-west' }],
    ips: [
      { address: IP, linodeId: 123 },
      { address: '203.0.113.41', linodeId: 234 },
    ],
    ...extra,
  });

const fixture: ContractFixture = {
  provider: 'linode',
  factory: linode,
  address: IP,
  emuAddress: IP,
  nodes: ['123', '234'],
  start: () => start(),
  async: false,
  holderPath: /^GET \/v4\/networking\/ips\//,
  assignPath: /^POST \/v4\/networking\/ips\/assign$/,
  badOptions: { mode: 'share' },
};
providerContract(fixture);

let emu: LinodeEmulator | undefined;
after(async () => {
  await emu?.close();
});
const fresh = async (extra: Partial<LinodeEmulatorOptions> = {}): Promise<LinodeEmulator> => {
  await emu?.close();
  emu = await start(extra);
  return emu;
};

test('linode: assign is one POST /networking/ips/assign, the region learnt from the IP (or configured)', async () => {
  const e = await fresh();
  const { p, calls } = driverFor(fixture, e, '234');
  await p.assign('234');
  assert.deepEqual(
    calls.map((c) => `${c.method} ${c.path} ${c.status}`),
    ['GET /v4/networking/ips/203.0.113.40 200', 'POST /v4/networking/ips/assign 200'],
  );
  assert.equal(e.holder(IP), '234');
  const { p: p2, calls: c2 } = driverFor({ ...fixture, options: { region: 'us-east' } }, e, '123');
  await p2.assign('123');
  assert.deepEqual(
    c2.map((c) => c.method),
    ['POST'],
  );
  assert.equal(e.holder(IP), '123');
});

test("linode: the API's refusals are invalid, in Linode's words", async () => {
  const e = await fresh({ ips: [{ address: IP, linodeId: 123 }] });
  const { p } = driverFor(fixture, e, '234');
  await rejectsKind(p.assign('345'), 'invalid'); // another region
  // Moving 123's address away is fine (it keeps its primary IPv4); a shared IP cannot move.
  await fetch(`${e.apiUrl}/v4/networking/ips/share`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ linode_id: 234, ips: [IP] }),
  });
  const err = await rejectsKind(p.assign('234'), 'invalid');
  assert.match(
    err.message,
    /^linode POST \/v4\/networking\/ips\/assign → 400 address: Shared IP addresses cannot be swapped between Linodes$/,
  );
  assert.equal(e.holder(IP), '123');
});

test('linode: the emulator keeps every Linode with a public IPv4', async () => {
  const e = await fresh();
  const primary = '192.0.2.124'; // 123's own address
  const res = await fetch(`${e.apiUrl}/v4/networking/ips/assign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      region: 'us-east',
      assignments: [
        { address: primary, linode_id: 234 },
        { address: IP, linode_id: 234 },
      ],
    }),
  });
  assert.equal(res.status, 400);
  assert.match(JSON.stringify(await res.json()), /Linode 123 must have at least one public IPv4/);
  assert.equal(res.headers.get('x-ratelimit-limit'), '1600');
});

test('linode: metadata wants its own token (400 without expiry, 401 without token); whoAmI gets one', async () => {
  const e = await fresh();
  const m = e.metadataUrl(234);
  assert.equal((await fetch(`${m}/v1/token`, { method: 'PUT' })).status, 400);
  assert.equal((await fetch(`${m}/v1/instance`)).status, 401);
  const { p, calls } = driverFor(fixture, e, '234');
  assert.equal(await p.whoAmI(), '234');
  assert.deepEqual(
    e.metadataFaults.log.slice(-2).map((x) => `${x.method} ${x.path} ${x.status}`),
    ['PUT /v1/token 200', 'GET /v1/instance 200'],
  );
  assert.equal(calls.length, 2);
  const t = await (
    await fetch(`${m}/v1/token`, { method: 'PUT', headers: { 'metadata-token-expiry-seconds': '60' } })
  ).text();
  const net = (await (
    await fetch(`${m}/v1/network`, { headers: { 'metadata-token': t, accept: 'application/json' } })
  ).json()) as { ipv4: { public: string[] } };
  assert.ok(net.ipv4.public.includes('203.0.113.41/32'));
});

test('linode: a 429 from the limiter says when to come back', async () => {
  const e = await fresh();
  e.setRateLimit({ limit: 1, windowMs: 60_000 });
  const p = linode({ address: IP, token: TOKEN, apiUrl: `${e.apiUrl}/v4`, timeoutUs: 1_000_000, options: {} });
  assert.equal(await p.holder(), '123');
  const err = await rejectsKind(p.holder(), 'rate_limited');
  assert.ok(
    err.retryAfterUs !== undefined && err.retryAfterUs > 50_000_000 && err.retryAfterUs <= 60_000_000,
    `retryAfterUs ${err.retryAfterUs}`,
  );
});

test('linode: 400 "Linode busy." is busy, 408 a timeout (linodego retries both); other 400s invalid', async () => {
  const cases: [number, unknown, string][] = [
    [400, { errors: [{ reason: 'Linode busy.' }] }, 'busy'],
    [408, { errors: [{ reason: 'Request Timeout' }] }, 'timeout'],
    [400, { errors: [{ field: 'region', reason: 'region is not valid' }] }, 'invalid'],
  ];
  for (const [status, body, kind] of cases) {
    const s = await canned(status, body);
    try {
      const p = linode({
        address: IP,
        token: TOKEN,
        apiUrl: s.url,
        instanceId: '123',
        timeoutUs: 1_000_000,
        options: { region: 'us-east' },
      });
      await rejectsKind(p.holder(), kind as 'busy');
    } finally {
      await s.close();
    }
  }
});
