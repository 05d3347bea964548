import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, hostHeaderIsLocal, type ApiProvider } from '../../../src/api/server.js';
import { checkBearer, loadToken, TokenError } from '../../../src/api/auth.js';
import { createLogger } from '../../../src/util/log.js';
import { Writable } from 'node:stream';
import { sampleStatus } from './status-fixture.js';

const TOKEN = 'a-long-enough-test-token-123';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  to: { socketPath: string } | { port: number },
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(
      { ...('port' in to ? { host: '127.0.0.1', port: to.port } : to), method, path, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function capture(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      lines.push(...c.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger({ json: true, stream }), lines };
}

async function withServer(
  fn: (s: { port: number; socket: string; calls: string[]; lines: string[] }) => Promise<void>,
  opts: { token?: string; dashboard?: boolean } = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-api-'));
  const socket = join(dir, 'run', 'floatd.sock');
  const calls: string[] = [];
  const provider: ApiProvider = {
    status: () => sampleStatus(),
    reload: async () => {
      calls.push('reload');
      return { ok: true, message: 'configuration unchanged; nothing to do' };
    },
    handover: (name, hold) => {
      calls.push(`handover ${name} ${hold}`);
      return { ok: true, message: `${name} handed over` };
    },
  };
  const { log, lines } = capture();
  const srv = new ApiServer({
    config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], socket, dashboard: opts.dashboard ?? true },
    provider,
    log,
    token: opts.token,
    processMetrics: false,
  });
  const l = await srv.start();
  try {
    await fn({ port: l.tcp[0]!.port, socket, calls, lines });
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('reads over TCP and the unix socket: status, instances, one instance, transitions, healthz', async () => {
  await withServer(async ({ port, socket }) => {
    for (const to of [{ port }, { socketPath: socket }]) {
      const st = await call(to, 'GET', '/api/v1/status');
      assert.equal(st.status, 200);
      assert.match(String(st.headers['content-type']), /application\/json/);
      const body = JSON.parse(st.body) as ReturnType<typeof sampleStatus>;
      assert.equal(body.instances[0]?.state, 'MASTER');
      assert.equal(body.instances[0]?.vips[0]?.address, '192.0.2.100/24');
      assert.equal(JSON.parse((await call(to, 'GET', '/api/v1/instances')).body).length, 2);
      assert.equal(JSON.parse((await call(to, 'GET', '/api/v1/instances/VI_6')).body).state, 'FAULT');
      assert.equal((await call(to, 'GET', '/api/v1/instances/nope')).status, 404);
      const tr = JSON.parse((await call(to, 'GET', '/api/v1/transitions?limit=1')).body) as { reasonKind: string }[];
      assert.deepEqual(
        tr.map((t) => t.reasonKind),
        ['priority_zero'],
      );
      assert.equal((await call(to, 'GET', '/healthz')).status, 200);
    }
    assert.equal(statSync(socket).mode & 0o777, 0o660); // never 0666: root and the socket group only
  });
});

test('/metrics is Prometheus text; / the self-contained dashboard; unknown paths 404, wrong methods 405', async () => {
  await withServer(async ({ port }) => {
    const m = await call({ port }, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(
      m.body,
      /^keepalived_vrrp_state\{iname="VI_1",intf="eth1",vrid="33",ip_address="192\.0\.2\.100"\} 2$/m,
    );
    const d = await call({ port }, 'GET', '/');
    assert.equal(d.status, 200);
    assert.match(d.body, /<title>floatd<\/title>/);
    assert.doesNotMatch(d.body, /<(script|link)[^>]+(src|href)=/, 'nothing loaded from elsewhere');
    assert.match(String(d.headers['content-security-policy']), /default-src 'none'/);
    assert.equal((await call({ port }, 'GET', '/nope')).status, 404);
    assert.equal((await call({ port }, 'POST', '/api/v1/status')).status, 405);
    assert.equal((await call({ port }, 'DELETE', '/api/v1/status')).status, 405);
  });
  await withServer(
    async ({ port }) => {
      assert.equal((await call({ port }, 'GET', '/')).status, 404);
    },
    { dashboard: false },
  );
});

test('a loopback listener refuses foreign Host names (DNS rebinding)', async () => {
  await withServer(async ({ port, socket }) => {
    assert.equal((await call({ port }, 'GET', '/api/v1/status', { host: 'evil.example:9610' })).status, 421);
    assert.equal((await call({ port }, 'GET', '/api/v1/status', { host: `localhost:${port}` })).status, 200);
    assert.equal((await call({ socketPath: socket }, 'GET', '/api/v1/status', { host: 'anything' })).status, 200);
  });
  assert.equal(hostHeaderIsLocal('[::1]:9610'), true);
  assert.equal(hostHeaderIsLocal('127.0.0.1'), true);
  assert.equal(hostHeaderIsLocal('192.0.2.1:80'), false);
});

test('actions: 403 with no token configured, never reaching the runtime', async () => {
  await withServer(async ({ port, calls }) => {
    const r = await call({ port }, 'POST', '/api/v1/reload', { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 403);
    assert.match(r.body, /token_file/);
    assert.deepEqual(calls, []);
  });
});

test('actions: 401 without or with a wrong bearer token; 200 with it; the token never reaches a log line', async () => {
  await withServer(
    async ({ port, socket, calls, lines }) => {
      const none = await call({ port }, 'POST', '/api/v1/reload');
      assert.equal(none.status, 401);
      assert.match(String(none.headers['www-authenticate']), /^Bearer/);
      assert.equal((await call({ port }, 'POST', '/api/v1/reload', { authorization: 'Bearer wrong' })).status, 401);
      assert.equal((await call({ port }, 'POST', '/api/v1/reload', { authorization: `Basic ${TOKEN}` })).status, 401);
      assert.deepEqual(calls, []);
      const ok = await call({ port }, 'POST', '/api/v1/reload', { authorization: `Bearer ${TOKEN}` });
      assert.equal(ok.status, 200);
      assert.equal(JSON.parse(ok.body).ok, true);
      const h = await call({ socketPath: socket }, 'POST', '/api/v1/instances/VI_1/handover?hold=5', {
        authorization: `Bearer ${TOKEN}`,
      });
      assert.equal(h.status, 200);
      assert.equal(
        (await call({ port }, 'POST', '/api/v1/instances/nope/handover', { authorization: `Bearer ${TOKEN}` })).status,
        404,
      );
      assert.equal(
        (await call({ port }, 'POST', '/api/v1/instances/VI_1/handover?hold=-1', { authorization: `Bearer ${TOKEN}` }))
          .status,
        400,
      );
      assert.deepEqual(calls, ['reload', 'handover VI_1 5']);
      assert.ok(lines.some((l) => l.includes('"event":"api.denied"')));
      assert.ok(lines.some((l) => l.includes('"event":"api.action"')));
      assert.ok(!lines.some((l) => l.includes(TOKEN)));
    },
    { token: TOKEN },
  );
});

test('a stale socket file is replaced; a live one is left to its owner', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-api-'));
  const socket = join(dir, 'floatd.sock');
  const { log, lines } = capture();
  try {
    // A socket someone still serves.
    const other = createServer(() => {});
    await new Promise<void>((r) => other.listen(socket, r));
    const a = new ApiServer({
      config: { enabled: true, listen: [], socket, dashboard: true },
      provider: { status: sampleStatus },
      log,
      processMetrics: false,
    });
    assert.equal((await a.start()).socket, undefined);
    assert.ok(lines.some((l) => l.includes('"event":"api.listen_error"') && l.includes('another process')));
    await a.close();
    // Stale: a regular file left where the socket was (as after a crash).
    await new Promise<void>((r) => other.close(() => r()));
    writeFileSync(socket, '');
    const b = new ApiServer({
      config: { enabled: true, listen: [], socket, dashboard: true },
      provider: { status: sampleStatus },
      log,
      processMetrics: false,
    });
    assert.equal((await b.start()).socket, socket);
    assert.equal((await call({ socketPath: socket }, 'GET', '/healthz')).status, 200);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadToken: file (warns when others can read it), env, too short, missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-tok-'));
  try {
    const f = join(dir, 'token');
    writeFileSync(f, `${TOKEN}\n`);
    chmodSync(f, 0o644);
    const a = loadToken({ tokenFile: f });
    assert.equal(a.token, TOKEN);
    assert.equal(a.warnings.length, 1);
    chmodSync(f, 0o600);
    assert.deepEqual(loadToken({ tokenFile: f }).warnings, []);
    assert.equal(loadToken({ tokenEnv: 'T' }, { T: TOKEN }).token, TOKEN);
    assert.equal(loadToken({}).token, undefined);
    assert.throws(() => loadToken({ tokenEnv: 'T' }, { T: 'short' }), TokenError);
    assert.throws(() => loadToken({ tokenEnv: 'T' }, {}), /not set/);
    assert.throws(() => loadToken({ tokenFile: join(dir, 'missing') }), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(checkBearer(`Bearer ${TOKEN}`, TOKEN), 'ok');
  assert.equal(checkBearer(`bearer ${TOKEN}x`, TOKEN), 'mismatch');
  assert.equal(checkBearer(undefined, TOKEN), 'missing');
  assert.equal(checkBearer(`Bearer ${TOKEN}`, undefined), 'disabled');
});
