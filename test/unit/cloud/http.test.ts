/**
 * The shared HTTP helper: status → kind table, retry hints, messages that name the request and
 * the provider's words but never the secret, every request reported once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Server } from 'node:http';
import { CloudError, type CloudErrorKind } from '../../../src/cloud/types.js';
import {
  httpRequest,
  optionMs,
  parseRetryAfter,
  resetEpochToMs,
  type ProviderDialect,
} from '../../../src/cloud/http.js';
import { closeServer, listen } from '../../emulators/kit.js';

/** Answers with the status, headers and body the request's query asks for. */
let server: Server;
let base: string;
before(async () => {
  ({ server, url: base } = await listen((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const headers = {
      'x-ua': req.headers['user-agent'] ?? '',
      ...(JSON.parse(q.get('h') ?? '{}') as Record<string, string>),
    };
    res.writeHead(Number(q.get('s') ?? 200), { 'content-type': 'application/json', ...headers });
    // b64: a body the path must not show as text (it may hold the token).
    const b64 = q.get('b64');
    res.end(b64 !== null ? Buffer.from(b64, 'base64url').toString('utf8') : (q.get('b') ?? ''));
  }));
});
after(async () => {
  await closeServer(server);
});

const dialect: ProviderDialect = {
  name: 'testcloud',
  errorDetail: (b) =>
    typeof b === 'object' && b !== null
      ? ({ code: (b as { id?: string }).id, message: (b as { message?: string }).message } as {
          code?: string;
          message?: string;
        })
      : typeof b === 'string' && b
        ? { message: b }
        : {},
  classify: (status, code) => (status === 422 && code === 'pending' ? 'busy' : undefined),
};

function expectedKind(status: number, code: string): CloudErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  if (status === 422 && code === 'pending') return 'busy';
  return 'invalid';
}

test("http: each 4xx/5xx has a kind; the message names method, path, status, provider's words, no token", async () => {
  await fc.assert(
    fc.asyncProperty(
      // 407 is left out: undici takes it for a proxy's challenge and fails the fetch ('network').
      fc.integer({ min: 400, max: 599 }).filter((s) => s !== 407),
      fc.constantFrom('pending', 'unprocessable_entity', 'not_found'),
      fc.string({ minLength: 8, maxLength: 40 }).filter((t) => /^[\x21-\x7e]+$/.test(t) && !t.includes('%')),
      fc.boolean(),
      async (status, code, token, echo) => {
        // A provider that echoes the token back in its message must still not leak it.
        const message = echo ? `bad token ${token}` : 'nope';
        const b64 = Buffer.from(JSON.stringify({ id: code, message })).toString('base64url');
        const path = `/v2/x?s=${status}&b64=${b64}`;
        const calls: unknown[] = [];
        try {
          await httpRequest({ token, timeoutUs: 2_000_000, onCall: (c) => calls.push(c) }, dialect, {
            method: 'POST',
            base,
            path,
            body: {},
          });
          assert.fail('resolved');
        } catch (e) {
          assert.ok(e instanceof CloudError);
          assert.equal(e.kind, expectedKind(status, code));
          assert.equal(e.status, status);
          assert.ok(!e.message.includes(token), e.message);
          assert.ok(e.message.startsWith(`testcloud POST ${path} → ${status} ${code}: `), e.message);
          assert.equal(calls.length, 1);
        }
      },
    ),
    { numRuns: 60 },
  );
});

test("http: Retry-After (seconds or date) wins, else the dialect's reset header; 2xx/3xx give JSON", async () => {
  const hinted = (h: Record<string, string>): string => `/r?s=429&h=${encodeURIComponent(JSON.stringify(h))}`;
  const withReset: ProviderDialect = { ...dialect, retryAfterMs: (hd, now) => resetEpochToMs(hd.get('x-reset'), now) };
  const err = async (path: string, d = withReset): Promise<CloudError> => {
    try {
      await httpRequest({ token: 't', timeoutUs: 1_000_000 }, d, { method: 'GET', base, path });
    } catch (e) {
      return e as CloudError;
    }
    throw new Error('resolved');
  };
  assert.equal((await err(hinted({ 'retry-after': '7' }))).retryAfterUs, 7_000_000);
  const reset = Math.floor(Date.now() / 1000) + 30;
  const r = (await err(hinted({ 'x-reset': String(reset) }))).retryAfterUs!;
  assert.ok(r > 28_000_000 && r <= 30_000_000, String(r));
  assert.equal((await err(hinted({}), dialect)).retryAfterUs, undefined);
  const ok = await httpRequest({ token: 't', timeoutUs: 1_000_000 }, dialect, {
    method: 'GET',
    base,
    path: `/ok?s=201&b=${encodeURIComponent('{"a":1}')}`,
  });
  assert.deepEqual(ok.json, { a: 1 });
  assert.match(ok.headers.get('x-ua') ?? '', /^floatd\/\d+\.\d+\.\d+$/);
  const moved = await httpRequest({ token: 't', timeoutUs: 1_000_000 }, dialect, {
    method: 'GET',
    base,
    path: '/m?s=301',
  });
  assert.equal(moved.status, 301, 'redirects are not followed (a redirect would carry the token elsewhere)');
});

test('http: parseRetryAfter and optionMs', () => {
  const now = Date.UTC(2026, 10, 25, 6, 0, 0);
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter('1.5', now), 1500);
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 06:00:10 GMT', now), 10_000);
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 05:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
  const problems: string[] = [];
  assert.equal(optionMs({ poll_interval: '0.25' }, 'poll_interval', 1000, problems), 250);
  assert.equal(optionMs({}, 'poll_interval', 1000, problems), 1000);
  assert.equal(optionMs({ poll_interval: '-1' }, 'poll_interval', 1000, problems), 1000);
  assert.deepEqual(problems, ['option poll_interval must be a positive number of seconds (got "-1")']);
});

test('a provider reply with CRLF (or any control character) stays on one line in the error message', async () => {
  const body = JSON.stringify({ id: 'bad', message: 'first line\r\nINFO forged line\nthird\x1b[31m' });
  const path = `/crlf?s=422&b64=${Buffer.from(body).toString('base64url')}`;
  const e = await httpRequest({ token: 't0ken-123456', timeoutUs: 1_000_000 }, dialect, {
    method: 'GET',
    base,
    path,
  }).then(
    () => undefined,
    (x: unknown) => x as CloudError,
  );
  assert.ok(e instanceof CloudError);
  assert.doesNotMatch(e.message, /[\r\n\x00-\x1f]/);
  assert.match(e.message, /422 bad: first line ⏎ INFO forged line ⏎ third\\x1b\[31m$/);
});
