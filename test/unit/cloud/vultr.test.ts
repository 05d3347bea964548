import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { vultr } from '../../../src/cloud/providers/vultr.js';
import { startVultrEmulator, type VultrEmulator, type VultrEmulatorOptions } from '../../emulators/vultr.js';
import { TOKEN, driverFor, providerContract, rejectsKind, type ContractFixture } from './provider-contract.js';

const IP = '203.0.113.30';
const A = '2b9bf5fb-1644-4e0a-b706-1116ab64d783';
const B = '792199bb-620a-4e2c-ba3d-126c58f7f9d4';
const start = (actionDelayMs: number, extra: Partial<VultrEmulatorOptions> = {}): Promise<VultrEmulator> =>
  startVultrEmulator({
    token: TOKEN,
    actionDelayMs,
    instances: [{ id: A }, { id: B }, { id: 'c0ffee00-0000-4000-8000-000000000003', region: 'sea' }],
    reservedIps: [
      { ip: IP, instanceId: A, id: '6a31648d-ebfa-4d43-9a00-9c9f0e5048f5' },
      { ip: '2001:db8:2::', instanceId: null },
    ],
    ...extra,
  });

const fixture: ContractFixture = {
  provider: 'vultr',
  factory: vultr,
  address: IP,
  emuAddress: IP,
  nodes: [A, B],
  start: (o) => start(o.actionDelayMs),
  async: false,
  holderPath: /^GET \/v2\/reserved-ips/,
  assignPath: /^POST \/v2\/reserved-ips\/.*\/attach$/,
  pollPath: /^GET \/v2\/reserved-ips\/[^/]+$/,
  // attach (refused) + look + detach + polls until free + attach + polls until ours
  maxAssignCalls: 4 + 2 * (Math.ceil(150 / 50) + 2),
};
providerContract(fixture);

let emu: VultrEmulator | undefined;
after(async () => {
  await emu?.close();
});
const fresh = async (delay = 80, extra: Partial<VultrEmulatorOptions> = {}): Promise<VultrEmulator> => {
  await emu?.close();
  emu = await start(delay, extra);
  return emu;
};

test('vultr: a move: attach (refused: held elsewhere) → detach → wait free → attach → wait until ours', async () => {
  const e = await fresh(100);
  const { p, calls } = driverFor({ ...fixture, address: '6a31648d-ebfa-4d43-9a00-9c9f0e5048f5' }, e, B);
  await p.assign(B);
  assert.equal(e.holder(IP), B);
  const posts = calls
    .filter((c) => c.method === 'POST')
    .map((c) => `${c.path.replace(/^\/v2\/reserved-ips\/[^/]+/, '')} ${c.status}`);
  assert.deepEqual(posts, ['/attach 400', '/detach 204', '/attach 204']);
  console.log(`# vultr: a move from another instance took ${calls.length} HTTP calls`);
});

test('vultr: where attach moves an attached IP directly, a move is one POST and polls', async () => {
  const e = await fresh(100, { allowReassign: true });
  const { p, calls } = driverFor(fixture, e, B);
  await p.holder(); // finds the id
  calls.length = 0;
  await p.assign(B);
  assert.equal(calls.filter((c) => c.method === 'POST').length, 1);
  assert.equal(e.holder(IP), B);
});

test('vultr: attaching to the instance that has it is done at once; another region is invalid', async () => {
  const e = await fresh();
  const { p } = driverFor(fixture, e, A);
  await p.assign(A);
  assert.equal(e.holder(IP), A);
  e.setHolder(IP, null);
  const err = await rejectsKind(p.assign('c0ffee00-0000-4000-8000-000000000003'), 'invalid');
  assert.match(
    err.message,
    /^vultr POST \/v2\/reserved-ips\/[^/]+\/attach → 400 Reserved IP and instance must be in the same region\.$/,
  );
});

test('vultr: the id is found by address through the cursor pages, IPv6 by subnet', async () => {
  const many = Array.from({ length: 700 }, (_, i) => ({ ip: `198.51.100.${(i % 250) + 1}`, instanceId: null }));
  const e = await fresh(80, {
    reservedIps: [...many, { ip: IP, instanceId: A }, { ip: '2001:db8:2::', instanceId: A }],
  });
  const { p, calls } = driverFor(fixture, e, B);
  assert.equal(await p.holder(), A);
  assert.equal(calls.filter((c) => c.path.startsWith('/v2/reserved-ips?')).length, 2);
  const v6 = driverFor({ ...fixture, address: '2001:db8:2::8' }, e, B);
  assert.equal(await v6.p.holder(), A);
  await rejectsKind(driverFor({ ...fixture, address: '192.0.2.77' }, e, B).p.holder(), 'not_found');
});

test('vultr: metadata v1.json and v1/instance-v2-id; a 429 without headers retries after a second', async () => {
  const e = await fresh();
  assert.equal(await (await fetch(`${e.metadataUrl(B)}/v1/instance-v2-id`)).text(), B);
  const p = vultr({
    address: IP,
    token: TOKEN,
    apiUrl: `${e.apiUrl}/v2`,
    metadataUrl: e.metadataUrl(B),
    timeoutUs: 1_000_000,
    options: {},
  });
  assert.equal(await p.whoAmI(), B);
  e.setRateLimit({ limit: 1, windowMs: 1000 });
  await p.holder().catch(() => undefined);
  const err = await rejectsKind(p.holder(), 'rate_limited');
  assert.equal(err.retryAfterUs, 1_000_000);
});
