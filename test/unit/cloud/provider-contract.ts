/**
 * The behaviour every cloud driver must show against its emulator, as one suite each provider
 * test file runs with its own fixture: who am I, who holds it, assign and verify, drift, and
 * every failure class (auth, throttling, 5xx, hang, refused connection, busy, action error).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CloudError,
  type CloudErrorKind,
  type CloudProvider,
  type ProviderFactory,
  type ProviderSettings,
} from '../../../src/cloud/types.js';
import type { EmulatorHandle } from '../../emulators/kit.js';

export const TOKEN = 'test-token-4f9a1c2e7b';

/** A loopback server that answers every request with one status, body and headers. */
export async function canned(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

export interface ContractFixture {
  provider: string;
  factory: ProviderFactory;
  /** The address as written in the config. */
  address: string;
  /** The address as the emulator keys it (holder()). */
  emuAddress: string;
  /** Node that holds the address at start, and the one that takes it over. */
  nodes: [string, string];
  start(o: { actionDelayMs: number }): Promise<EmulatorHandle>;
  /** Asynchronous actions (busy while one runs; can end in error). */
  async: boolean;
  /** Requests the driver polls with while a change takes effect (none: the API is synchronous). */
  pollPath?: RegExp;
  /** Most HTTP calls one assign may take (default: 2 + a poll per 50 ms of the 150 ms change + 3). */
  maxAssignCalls?: number;
  /** Path a failing API request matches, for faults aimed at the first call of holder(). */
  holderPath: RegExp;
  assignPath: RegExp;
  options?: Record<string, string>;
  /** Options the driver must refuse (default: a poll_interval that is not a number). */
  badOptions?: Record<string, string>;
}

export interface Call {
  method: string;
  path: string;
  status: number | 'timeout' | 'network';
  ms: number;
}

export function driverFor(
  f: ContractFixture,
  emu: EmulatorHandle,
  node: string,
  over: Partial<ProviderSettings> = {},
): { p: CloudProvider; calls: Call[] } {
  const calls: Call[] = [];
  const p = f.factory({
    address: f.address,
    token: TOKEN,
    apiUrl: emu.apiUrl,
    metadataUrl: emu.metadataUrl(node),
    timeoutUs: 2_000_000,
    options: { poll_interval: '0.05', ...f.options },
    onCall: (c) => calls.push(c),
    ...over,
  });
  return { p, calls };
}

export async function rejectsKind(pr: Promise<unknown>, kind: CloudErrorKind): Promise<CloudError> {
  try {
    await pr;
  } catch (e) {
    assert.ok(e instanceof CloudError, `expected CloudError, got ${String(e)}`);
    assert.equal(e.kind, kind, `expected kind ${kind}, got ${e.kind}: ${e.message}`);
    return e;
  }
  assert.fail(`expected CloudError ${kind}, but it resolved`);
}

/** Waits (bounded) until the emulator has answered a request matching `re` ("METHOD /path"). */
export async function answered(emu: EmulatorHandle, re: RegExp, limitMs = 3000): Promise<void> {
  const t0 = Date.now();
  while (
    !emu.faults.log.some((e) => re.test(`${e.method} ${e.path}`) && typeof e.status === 'number' && e.status < 300)
  ) {
    if (Date.now() - t0 > limitMs) throw new Error(`no successful ${re} within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function providerContract(f: ContractFixture): void {
  const [a, b] = f.nodes;
  const DELAY = 150;
  let emu: EmulatorHandle;
  const fresh = async (): Promise<EmulatorHandle> => {
    if (emu) await emu.close();
    emu = await f.start({ actionDelayMs: DELAY });
    return emu;
  };
  after(async () => {
    await emu?.close();
  });

  test(`${f.provider}: whoAmI reads each node's metadata service; instance_id skips it`, async () => {
    await fresh();
    assert.equal(await driverFor(f, emu, a).p.whoAmI(), a);
    assert.equal(await driverFor(f, emu, b).p.whoAmI(), b);
    const before = emu.metadataFaults.log.length;
    const { p, calls } = driverFor(f, emu, a, { instanceId: b });
    assert.equal(await p.whoAmI(), b);
    assert.equal(emu.metadataFaults.log.length, before);
    assert.equal(calls.length, 0);
  });

  test(`${f.provider}: holder, assign follows the provider to completion, holder then reports self`, async () => {
    await fresh();
    const { p, calls } = driverFor(f, emu, b);
    assert.equal(await p.holder(), a);
    const self = await p.whoAmI();
    const t0 = Date.now();
    const before = calls.length;
    await p.assign(self);
    const ms = Date.now() - t0;
    const assignCalls = calls.slice(before);
    if (f.async) assert.ok(ms >= DELAY - 20, `assign returned after ${ms} ms, before the ${DELAY} ms action finished`);
    assert.equal(emu.holder(f.emuAddress), b);
    assert.equal(await p.holder(), b);
    // Bounded: one mutating call (plus lookups) and a poll per interval while the action runs.
    const most = f.maxAssignCalls ?? 2 + Math.ceil(DELAY / 50) + 3;
    assert.ok(assignCalls.length >= 1 && assignCalls.length <= most, `assign made ${assignCalls.length} calls`);
    assert.ok(
      assignCalls.every((c) => typeof c.status === 'number' && c.status < 500),
      'no failed call on the happy path',
    );
    console.log(
      `# ${f.provider}: assign took ${ms} ms and ${assignCalls.length} HTTP calls ` +
        `(${assignCalls.map((c) => `${c.method} ${c.path}`).join(', ')})`,
    );
  });

  test(`${f.provider}: the node that already holds it sees itself; drift is reported`, async () => {
    await fresh();
    const { p } = driverFor(f, emu, a);
    assert.equal(await p.holder(), await p.whoAmI());
    emu.setHolder(f.emuAddress, b);
    assert.equal(await p.holder(), b);
    emu.setHolder(f.emuAddress, null);
    assert.equal(await p.holder(), null);
  });

  test(`${f.provider}: a wrong token is 'auth' at once; the message names the request, not the token`, async () => {
    await fresh();
    const bad = `${TOKEN}-revoked`;
    const { p } = driverFor(f, emu, b, { token: bad });
    const t0 = Date.now();
    const e = await rejectsKind(p.holder(), 'auth');
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(e.status, 401);
    assert.ok(!e.message.includes(bad) && !e.message.includes(TOKEN), e.message);
    assert.match(e.message, new RegExp(`^${f.provider} GET /\\S+ → 401`));
    const e2 = await rejectsKind(p.assign(b), 'auth');
    assert.ok(!e2.message.includes(TOKEN));
    assert.equal(emu.holder(f.emuAddress), a);
  });

  test(`${f.provider}: 429 is 'rate_limited' with retryAfterUs from the provider's headers`, async () => {
    await fresh();
    const { p } = driverFor(f, emu, b);
    emu.faults.add({ kind: 'status', status: 429, retryAfterS: 7, match: f.holderPath });
    const e = await rejectsKind(p.holder(), 'rate_limited');
    assert.equal(e.retryAfterUs, 7_000_000);
    // The emulator's own limiter: two requests a minute, then refused (holder() may take one
    // request or, where it looks the address up first, more).
    emu.setRateLimit({ limit: 2, windowMs: 60_000 });
    let e2: unknown;
    for (let i = 0; i < 4 && e2 === undefined; i++)
      await p.holder().catch((e: unknown) => {
        e2 = e;
      });
    assert.ok(e2 instanceof CloudError && e2.kind === 'rate_limited', `expected rate_limited, got ${String(e2)}`);
    assert.ok(
      e2.retryAfterUs !== undefined && e2.retryAfterUs > 0 && e2.retryAfterUs <= 61_000_000,
      `retryAfterUs ${e2.retryAfterUs}`,
    );
  });

  test(`${f.provider}: 5xx is 'server'; a refused connection is 'network'`, async () => {
    await fresh();
    const { p } = driverFor(f, emu, b);
    emu.faults.add({ kind: 'status', status: 503, match: f.holderPath });
    const e = await rejectsKind(p.holder(), 'server');
    assert.equal(e.status, 503);
    assert.equal(await p.holder(), a, 'the next call works again');
    const port = await deadPort();
    const { p: p2, calls } = driverFor(f, emu, b, { apiUrl: `http://127.0.0.1:${port}` });
    await rejectsKind(p2.holder(), 'network');
    assert.equal(calls.at(-1)?.status, 'network');
  });

  test(`${f.provider}: a hung request is 'timeout' within timeoutMs`, async () => {
    await fresh();
    const { p, calls } = driverFor(f, emu, b, { timeoutUs: 300_000 });
    emu.faults.add({ kind: 'hang', match: f.holderPath, holdMs: 5000 });
    const t0 = Date.now();
    await rejectsKind(p.holder(), 'timeout');
    const ms = Date.now() - t0;
    assert.ok(ms >= 280 && ms < 2000, `timed out after ${ms} ms`);
    assert.equal(calls.at(-1)?.status, 'timeout');
    emu.metadataFaults.add({ kind: 'hang', holdMs: 5000 });
    await rejectsKind(p.whoAmI(), 'timeout');
  });

  test(`${f.provider}: a stopping daemon cancels a request in flight`, async () => {
    await fresh();
    const ac = new AbortController();
    const { p } = driverFor(f, emu, b, { signal: ac.signal });
    emu.faults.add({ kind: 'hang', match: f.holderPath, holdMs: 5000 });
    const pr = p.holder();
    setTimeout(() => ac.abort(), 50);
    const e = await rejectsKind(pr, 'network');
    assert.match(e.message, /cancelled/);
  });

  test(`${f.provider}: a bad option is refused as 'invalid' on every call`, async () => {
    await fresh();
    const { p, calls } = driverFor(f, emu, b, { options: f.badOptions ?? { poll_interval: 'soon' } });
    await rejectsKind(p.holder(), 'invalid');
    assert.equal(calls.length, 0);
  });

  if (f.async) asyncContract(f, fresh);
  if (f.pollPath)
    pollContract(f, f.pollPath, fresh, (e) => {
      emu = e;
    });
}

function asyncContract(f: ContractFixture, fresh: () => Promise<EmulatorHandle>): void {
  const [a, b] = f.nodes;
  test(`${f.provider}: assign while another action runs on the address is 'busy'`, async () => {
    const emu = await fresh();
    const { p: pa } = driverFor(f, emu, a);
    const { p: pb } = driverFor(f, emu, b);
    // Node b starts taking it; node a, still believing it should hold it, tries to take it back.
    const moving = pb.assign(b);
    await answered(emu, f.assignPath);
    await rejectsKind(pa.assign(a), 'busy');
    await moving;
    assert.equal(emu.holder(f.emuAddress), b);
  });

  test(`${f.provider}: an action that ends in error is 'server' and the holder stays`, async () => {
    const emu = await fresh();
    const { p } = driverFor(f, emu, b);
    emu.faults.add({ kind: 'action_error', match: f.assignPath });
    await rejectsKind(p.assign(b), 'server');
    assert.equal(emu.holder(f.emuAddress), a);
    assert.equal(await p.holder(), a);
  });
}

function pollContract(
  f: ContractFixture,
  pollPath: RegExp,
  fresh: () => Promise<EmulatorHandle>,
  replace: (e: EmulatorHandle) => void,
): void {
  const b = f.nodes[1];
  test(`${f.provider}: a failed poll is asked again; a change that never ends: timeout at action_timeout`, async () => {
    let emu = await fresh();
    const { p, calls } = driverFor(f, emu, b);
    // A poll while the change runs answers 500: the driver polls again rather than give up on a running change.
    const moving = p.assign(b);
    await answered(emu, f.assignPath);
    emu.faults.add({ kind: 'status', status: 500, match: pollPath });
    await moving;
    assert.ok(calls.some((c) => c.status === 500));
    assert.equal(emu.holder(f.emuAddress), b);

    await emu.close();
    emu = await f.start({ actionDelayMs: 5000 });
    replace(emu);
    const { p: p2, calls: c2 } = driverFor(f, emu, b, {
      options: { poll_interval: '0.05', action_timeout: '0.3', ...f.options },
    });
    const t0 = Date.now();
    const e = await rejectsKind(p2.assign(b), 'timeout');
    assert.ok(Date.now() - t0 < 1500);
    assert.match(e.message, /did not finish/);
    assert.ok(c2.length <= (f.maxAssignCalls ?? 3) + 6, `${c2.length} calls`);
  });
}
