/**
 * Every non-2xx answer of the API is `{ "error": { "code", "message" } }` with a code that
 * docs/errors.md documents: each route driven with bad requests (no token, wrong token, foreign
 * Host, malformed Host, unknown path, wrong method, bad parameters, broken HTTP framing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, type ApiProvider } from '../../../src/api/server.js';
import { answerClientError } from '../../../src/api/responses.js';
import { verbRoutes } from '../../../src/api/verbs.js';
import { lbRoutes } from '../../../src/api/lb-routes.js';
import { operatorVerbs } from '../../../src/cli/operator-verbs.js';
import { EXIT_REFUSED, EXIT_UNAUTHORISED, runVerb } from '../../../src/cli/verbs.js';
import { MaintenanceStore } from '../../../src/cli/maintenance-store.js';
import { handover, type VerbHost } from '../../../src/daemon/verbs.js';
import { isErrorCode, type ErrorCode } from '../../../src/errors.js';
import { createLogger } from '../../../src/util/log.js';
import { sampleStatus } from './status-fixture.js';

const TOKEN = 'a-long-enough-test-token-123';
const log = createLogger({ level: 'silent' });

interface Answer {
  status: number;
  body: string;
  type: string;
}

function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Raw bytes in, the whole answer out (for what Node's parser refuses). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (got += c));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.write(text);
  });
}

/** Asserts the answer's status and that its body is the error shape with `code`, a documented one. */
function assertError(a: Answer, status: number, code: ErrorCode, what: string): void {
  assert.equal(a.status, status, `${what}: status (${a.body})`);
  assert.match(a.type, /^application\/json/, `${what}: JSON`);
  const b = JSON.parse(a.body) as { error?: { code?: unknown; message?: unknown } };
  assert.ok(isErrorCode(b.error?.code), `${what}: ${JSON.stringify(b.error?.code)} is a documented code`);
  assert.equal(b.error?.code, code, what);
  assert.equal(typeof b.error?.message, 'string', `${what}: a message`);
  assert.ok((b.error!.message as string).length > 0);
}

async function withServer(
  fn: (port: number) => Promise<void>,
  o: { token?: string; dashboard?: boolean } = { token: TOKEN },
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-errbody-'));
  const st = sampleStatus();
  const host: VerbHost = {
    machine: (n) => {
      const i = st.instances.find((x) => x.name === n);
      return i && { state: i.state === 'MASTER' ? 'MASTER' : 'BACKUP', effectivePriority: 100 };
    },
    nowUs: () => 0,
    step: () => undefined,
    held: () => false,
  };
  const rt = {
    status: () => st,
    switchover: (n: string, h: number) => handover(host, n, h, true),
    holdChanged: () => ({ ok: true, message: 'ok' }),
  };
  const verbs = operatorVerbs(
    () => rt,
    new MaintenanceStore(join(dir, 'maintenance.json')),
    log,
    () => 'now',
  );
  const provider: ApiProvider = {
    status: () => st,
    reload: async () => ({ ok: false, code: 'CONFIG_UNUSABLE', message: '/etc/k.conf:3:5: error: bad' }),
    handover: (n, h) => handover(host, n, h, false),
  };
  const srv = new ApiServer({
    config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], dashboard: o.dashboard ?? true },
    provider,
    log,
    ...(o.token ? { token: o.token } : {}),
    processMetrics: false,
    routes: [...verbRoutes(verbs), ...lbRoutes()],
  });
  const l = await srv.start();
  try {
    await fn(l.tcp[0]!.port);
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const VS_RS = 'vs=192.0.2.100:80/TCP&rs=192.0.2.10:80';
/** Every action route: [method, path]. */
const ACTIONS: [string, string][] = [
  ['POST', '/api/v1/reload'],
  ['POST', '/api/v1/instances/VI_1/handover'],
  ['POST', '/api/v1/switchover'],
  ['POST', '/api/v1/instances/VI_1/switchover'],
  ['POST', '/api/v1/maintenance?state=on'],
  ['POST', '/api/v1/instances/VI_1/maintenance?state=on'],
  ['POST', '/api/v1/lb/drain?rs=192.0.2.10:80'],
  ['POST', `/api/v1/lb/real-servers?${VS_RS}`],
  ['DELETE', `/api/v1/lb/real-servers?${VS_RS}`],
];
const READS = [
  '/healthz',
  '/api/v1/status',
  '/api/v1/instances',
  '/api/v1/instances/VI_1',
  '/api/v1/transitions',
  '/metrics',
  '/',
];

test('actions: no token 401, wrong token 401, foreign Host 421, malformed Host 400 — each a coded body', async () => {
  await withServer(async (port) => {
    for (const [m, path] of ACTIONS) {
      assertError(await call(port, m, path), 401, 'UNAUTHORIZED', `${m} ${path} without a token`);
      const wrong = { authorization: 'Bearer not-the-token-at-all' };
      assertError(await call(port, m, path, wrong), 401, 'UNAUTHORIZED', `${m} ${path} with a wrong token`);
      const auth = { authorization: `Bearer ${TOKEN}` };
      const evil = await call(port, m, path, { ...auth, host: 'evil.example' });
      assertError(evil, 421, 'FORBIDDEN_HOST', `${m} ${path} Host evil.example`);
      assertError(await call(port, m, path, { ...auth, host: 'a b' }), 400, 'BAD_REQUEST', `${m} ${path} Host a b`);
    }
    for (const path of READS) {
      assertError(await call(port, 'GET', path, { host: 'evil.example' }), 421, 'FORBIDDEN_HOST', `GET ${path}`);
      assertError(await call(port, 'DELETE', path), 405, 'METHOD_NOT_ALLOWED', `DELETE ${path}`);
      assertError(await call(port, 'POST', path), 405, 'METHOD_NOT_ALLOWED', `POST ${path}`);
    }
  });
});

test('no token configured: every action 403 ACTIONS_DISABLED; the dashboard off is DASHBOARD_OFF', async () => {
  await withServer(
    async (port) => {
      for (const [m, path] of ACTIONS)
        assertError(await call(port, m, path), 403, 'ACTIONS_DISABLED', `${m} ${path} with actions off`);
      assertError(await call(port, 'GET', '/'), 404, 'DASHBOARD_OFF', 'GET / with the dashboard off');
    },
    { dashboard: false },
  );
});

test('bad parameters, unknown names and paths, refusals: each with its code (and ok/message kept)', async () => {
  await withServer(async (port) => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const post = (p: string): Promise<Answer> => call(port, 'POST', p, auth);
    const bad: [string, string][] = [
      ['POST', '/api/v1/instances/VI_1/handover?hold=abc'],
      ['POST', '/api/v1/instances/VI_1/handover?hold=86401'],
      ['POST', '/api/v1/switchover?hold=-1'],
      ['POST', '/api/v1/instances/VI_1/switchover?hold='],
      ['POST', '/api/v1/maintenance?state=maybe'],
      ['POST', '/api/v1/maintenance'],
      ['POST', '/api/v1/instances/VI_1/maintenance?state=ON'],
      ['POST', '/api/v1/lb/drain?rs=nonsense'],
      ['POST', '/api/v1/lb/drain?rs=192.0.2.10:80&state=half'],
      ['GET', '/api/v1/transitions?limit=ten'],
      ['POST', '/api/v1/lb/drain?rs=192.0.2.10:80&timeout=soon'],
      ['POST', '/api/v1/lb/real-servers?rs=192.0.2.10:80'],
      ['POST', '/api/v1/lb/real-servers?vs=192.0.2.100:80/TCP&rs=192.0.2.10'],
      ['POST', `/api/v1/lb/real-servers?${VS_RS}&weight=heavy`],
      ['POST', `/api/v1/lb/real-servers?${VS_RS}&checks_from=nowhere`],
      ['DELETE', '/api/v1/lb/real-servers?vs=192.0.2.100:80/TCP'],
    ];
    for (const [m, p] of bad) assertError(await call(port, m, p, auth), 400, 'BAD_PARAMETER', `${m} ${p}`);
    for (const p of ['/nope', '/api/v1', '/api/v1/instances/VI_1/explode'])
      for (const m of ['GET', 'POST']) assertError(await call(port, m, p, auth), 404, 'NOT_FOUND', `${m} ${p}`);
    assertError(await call(port, 'PUT', '/nope'), 405, 'METHOD_NOT_ALLOWED', 'PUT /nope');
    assertError(await call(port, 'GET', '/api/v1/instances/nope'), 404, 'NO_SUCH_INSTANCE', 'GET unknown instance');
    for (const p of [
      '/api/v1/instances/nope/handover',
      '/api/v1/instances/nope/switchover',
      '/api/v1/instances/nope/maintenance?state=on',
      '/api/v1/switchover?instance=nope',
    ])
      assertError(await post(p), 404, 'NO_SUCH_INSTANCE', `POST ${p}`);
    assertError(await post('/api/v1/instances/VI_6/handover'), 409, 'NOT_MASTER', 'hand-over of a FAULT instance');
    const so = await post('/api/v1/instances/VI_6/switchover');
    assertError(so, 409, 'NOT_MASTER', 'switchover of a FAULT instance');
    assert.equal(JSON.parse(so.body).ok, false, 'a refusal keeps ok: false');
    const rl = await post('/api/v1/reload');
    assertError(rl, 409, 'CONFIG_UNUSABLE', 'a refused reload');
    const b = JSON.parse(rl.body) as { ok: boolean; message: string; code: string };
    assert.deepEqual([b.ok, b.code, b.message], [false, 'CONFIG_UNUSABLE', '/etc/k.conf:3:5: error: bad']);
    assertError(await post('/api/v1/lb/drain?rs=192.0.2.10:80'), 404, 'LB_NOT_CONFIGURED', 'drain without an LB');
    assertError(await post(`/api/v1/lb/real-servers?${VS_RS}`), 404, 'LB_NOT_CONFIGURED', 'add without an LB');
    const del = await call(port, 'DELETE', `/api/v1/lb/real-servers?${VS_RS}`, auth);
    assertError(del, 404, 'LB_NOT_CONFIGURED', 'remove without an LB');
    // Bad bodies: too large (413), or a body beside checks_from (400).
    const rsPath = `/api/v1/lb/real-servers?${VS_RS}`;
    const big = await call(port, 'POST', rsPath, auth, `weight 1\n${'#'.repeat(20_000)}\n`);
    assertError(big, 413, 'BODY_TOO_LARGE', 'a body over 16 KiB');
    const both = await call(port, 'POST', `${rsPath}&checks_from=192.0.2.11:80`, auth, 'TCP_CHECK {\n}\n');
    assertError(both, 400, 'BAD_PARAMETER', 'a body and checks_from');
    assert.equal((await post('/api/v1/instances/VI_1/handover?hold=1')).status, 200, 'the good request still works');
  });
});

test("what Node's parser refuses is answered with a coded JSON body too", async () => {
  await withServer(async (port) => {
    const parse = (answer: string): { status: number; code: unknown } => {
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(answer);
      const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      return { status: Number(m?.[1]), code: (JSON.parse(body) as { error: { code: unknown } }).error.code };
    };
    assert.deepEqual(parse(await raw(port, 'GARBAGE\r\n\r\n')), { status: 400, code: 'BAD_REQUEST' });
    const big = `GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`;
    assert.deepEqual(parse(await raw(port, big)), { status: 431, code: 'HEADERS_TOO_LARGE' });
    assertError(await call(port, 'GET', '//'), 400, 'BAD_REQUEST', 'a target URL cannot parse');
  });
});

test('a request timeout from Node is a 408 REQUEST_TIMEOUT body; nothing is written after a response began', () => {
  const fake = (inFlight?: { headersSent: boolean }): { written: string[]; destroyed: boolean } & Duplex => {
    const d = new PassThrough() as PassThrough & { written: string[]; destroyed: boolean; _httpMessage?: unknown };
    d.written = [];
    d.on('error', () => undefined); // destroy(e) emits it, as a socket would
    d.write = ((c: string) => d.written.push(c) > 0) as typeof d.write;
    if (inFlight) d._httpMessage = inFlight;
    return d;
  };
  const s = fake();
  answerClientError(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), s);
  assert.match(s.written.join(''), /^HTTP\/1\.1 408 Request Timeout\r\n[^]*"code":"REQUEST_TIMEOUT"/);
  assert.equal(s.destroyed, true);
  const busy = fake({ headersSent: true });
  answerClientError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), busy);
  assert.deepEqual(busy.written, [], 'a response already under way is not corrupted');
  assert.equal(busy.destroyed, true);
});

test('the CLI verbs print E_CODE: message and exit 1 (refused) or 4 (not authorised)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-errcli-'));
  const good = join(dir, 'good.token');
  const wrong = join(dir, 'wrong.token');
  writeFileSync(good, TOKEN, { mode: 0o600 });
  writeFileSync(wrong, 'a-different-token-0123456789', { mode: 0o600 });
  const sink = (): { text: () => string } & Writable => {
    let t = '';
    const w = new Writable({
      write(c: Buffer, _e, cb) {
        t += c.toString();
        cb();
      },
    });
    return Object.assign(w, { text: () => t });
  };
  try {
    await withServer(async (port) => {
      const url = `http://127.0.0.1:${port}/`;
      const run = async (v: Parameters<typeof runVerb>[0], tokenFile: string): Promise<[number, string]> => {
        const err = sink();
        const code = await runVerb(v, { url, tokenFile, out: sink(), err });
        return [code, err.text()];
      };
      const [c1, e1] = await run({ kind: 'switchover', instance: 'VI_6' }, good);
      assert.equal(c1, EXIT_REFUSED);
      assert.match(e1, /^floatd switchover: E_NOT_MASTER: VI_6 is BACKUP, not MASTER/);
      const [c2, e2] = await run({ kind: 'maintenance', state: 'on', instance: 'nope' }, good);
      assert.equal(c2, EXIT_REFUSED);
      assert.match(e2, /^floatd maintenance on: E_NO_SUCH_INSTANCE: no instance nope/);
      const [c3, e3] = await run({ kind: 'reload' }, good);
      assert.equal(c3, EXIT_REFUSED);
      assert.match(e3, /^floatd reload: E_CONFIG_UNUSABLE: \/etc\/k\.conf:3:5: error: bad\n$/);
      const [c4, e4] = await run({ kind: 'reload' }, wrong);
      assert.equal(c4, EXIT_UNAUTHORISED);
      assert.match(e4, /^floatd reload: E_UNAUTHORIZED: wrong token/);
      const [c5, e5] = await run({ kind: 'reload' }, join(dir, 'missing.token'));
      assert.equal(c5, EXIT_UNAUTHORISED);
      assert.match(e5, /^floatd reload: E_API_TOKEN_UNUSABLE: cannot read the API token file/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
