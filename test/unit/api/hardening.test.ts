import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, parseSeconds, type ApiProvider } from '../../../src/api/server.js';
import { checkHostHeader, parseHostHeader } from '../../../src/api/host-check.js';
import { createLogger } from '../../../src/util/log.js';
import { sampleStatus } from './status-fixture.js';
import type { ApiConfig } from '../../../src/config/model.js';

const TOKEN = 'a-long-enough-test-token-123';
const quiet = createLogger({ level: 'silent' });

/** One raw HTTP/1.1 exchange (the test writes the request bytes itself); resolves the status code. */
function raw(to: { port: number } | { path: string }, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = 'port' in to ? connect({ host: '127.0.0.1', port: to.port }) : connect(to.path);
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      data += c;
    });
    s.on('error', reject);
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    s.write(request);
  });
}

function body(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      data += c;
    });
    s.on('error', reject);
    s.on('close', () => resolve(data));
    s.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  });
}

const get = (path: string, host: string | null, extra = ''): string =>
  `GET ${path} HTTP/1.1\r\n${host === null ? '' : `Host: ${host}\r\n`}${extra}Connection: close\r\n\r\n`;

async function withServer(
  fn: (s: { srv: ApiServer; port: number; socket: string; handovers: number[] }) => Promise<void>,
  cfg: Partial<ApiConfig> = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-hard-'));
  const socket = join(dir, 'floatd.sock');
  const handovers: number[] = [];
  const provider: ApiProvider = {
    status: () => sampleStatus(),
    handover: (_n, hold) => {
      handovers.push(hold);
      return { ok: true, message: 'ok' };
    },
  };
  const srv = new ApiServer({
    config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], socket, dashboard: true, ...cfg },
    provider,
    log: quiet,
    token: TOKEN,
    processMetrics: false,
  });
  const l = await srv.start();
  try {
    await fn({ srv, port: l.tcp[0]!.port, socket, handovers });
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Host parsing is strict: name or [v6], optional port; anything else is malformed', () => {
  assert.deepEqual(parseHostHeader('LOCALHOST:9610'), { host: 'localhost', kind: 'name', port: 9610 });
  assert.deepEqual(parseHostHeader('[::1]'), { host: '::1', kind: 'ipv6' });
  assert.deepEqual(parseHostHeader('[0:0:0:0:0:0:0:1]:80'), { host: '::1', kind: 'ipv6', port: 80 });
  for (const bad of [
    '[::1].evil.com',
    '[::1]x',
    '[::1',
    'a b',
    'localhost:',
    'localhost:99999',
    'localhost:1:2',
    '',
    '[127.0.0.1]',
    'local_host',
  ]) {
    assert.equal(parseHostHeader(bad), undefined, bad);
  }
});

test('only exact loopback names pass the DNS-rebinding check', () => {
  for (const ok of ['localhost', 'LOCALHOST', 'LocalHost:9610', '127.0.0.1', '127.1.2.3:9610', '[::1]:9610', '[::1]']) {
    assert.equal(checkHostHeader(ok), 'ok', ok);
  }
  for (const foreign of [
    '127.attacker.example:9610',
    '127.0.0.1.nip.io',
    'localhost.evil.com',
    '192.0.2.1:80',
    'evil.example',
    '[2001:db8::1]',
    '128.0.0.1',
  ]) {
    assert.equal(checkHostHeader(foreign), 'foreign', foreign);
  }
  assert.equal(checkHostHeader('[::1].evil.com'), 'malformed');
  // A configured listen address is its own name.
  assert.equal(checkHostHeader('198.51.100.7:9610', ['198.51.100.7']), 'ok');
  assert.equal(checkHostHeader('[2001:db8::7]:9610', ['2001:db8::7']), 'ok');
});

test('loopback listener: rebinding names 421, malformed Host or target 400 (never 500), LOCALHOST 200', async () => {
  await withServer(async ({ port }) => {
    assert.equal(await raw({ port }, get('/api/v1/status', '127.attacker.example:9610')), 421);
    assert.equal(await raw({ port }, get('/api/v1/status', '[::1].evil.com')), 400);
    assert.equal(await raw({ port }, get('/api/v1/status', 'LOCALHOST')), 200);
    assert.equal(await raw({ port }, get('/api/v1/status', `[::1]:${port}`)), 200);
    assert.equal(await raw({ port }, get('http://[::1', 'localhost')), 400);
    // An absolute-form target names the host as well; a foreign one is refused.
    assert.equal(await raw({ port }, get('http://evil.example/api/v1/status', 'localhost')), 421);
    assert.equal(await raw({ port }, get('http://localhost/api/v1/status', 'localhost')), 200);
    assert.equal(await raw({ port }, get('/api/v1/transitions?limit=', 'localhost')), 400);
  });
});

test('hold= and hold=%20 are 400, not a hold of 0 s', async () => {
  assert.equal(parseSeconds(null, 60), 60);
  assert.equal(parseSeconds('0', 60), 0);
  assert.equal(parseSeconds('2.5', 60), 2.5);
  for (const bad of ['', ' ', '1e3', '-1', '0x10', '+5', 'Infinity', '5 '])
    assert.equal(parseSeconds(bad, 60), undefined, JSON.stringify(bad));
  await withServer(async ({ port, handovers }) => {
    const post = (q: string): string =>
      `POST /api/v1/instances/VI_1/handover${q} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN}\r\n` +
      `Content-Length: 0\r\nConnection: close\r\n\r\n`;
    assert.equal(await raw({ port }, post('?hold=')), 400);
    assert.equal(await raw({ port }, post('?hold=%20')), 400);
    assert.equal(await raw({ port }, post('?hold=1e1')), 400);
    assert.deepEqual(handovers, []);
    assert.equal(await raw({ port }, post('?hold=0')), 200);
    assert.deepEqual(handovers, [0]);
  });
});

test('the unix socket is 0660 (never 0666) and takes socket_group', async () => {
  await withServer(
    async ({ socket }) => {
      const st = statSync(socket);
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, 4); // adm, from /etc/group
    },
    { socketGroup: 'adm' },
  );
  await withServer(async ({ socket }) => {
    assert.equal(statSync(socket).mode & 0o777, 0o660);
    assert.equal(statSync(socket).gid, process.getgid!()); // floatd's own group by default
  });
});

function openIdle(to: { port: number } | { path: string }, n: number): Promise<Socket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve) => {
          const s = 'port' in to ? connect({ host: '127.0.0.1', port: to.port }) : connect(to.path);
          s.on('error', () => undefined);
          s.once('connect', () => resolve(s));
        }),
    ),
  );
}

const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await new Promise((r) => setImmediate(r));
};

test('half-open connections: each listener holds at most max_connections; a real request still succeeds', async () => {
  await withServer(
    async ({ srv, port, socket }) => {
      for (const to of [{ port }, { path: socket }]) {
        // 200 connections that never send a byte (the attack held 20,000 from `nobody`).
        const idle = await openIdle(to, 200);
        const what = 'port' in to ? `127.0.0.1:${port}` : socket;
        const c = (): { open: number; evicted: number } => srv.connectionCounts().find((x) => x.what === what)!;
        await until(() => c().open + c().evicted >= 200, 2000);
        assert.ok(c().open <= 16, `open ${c().open}`);
        assert.ok(c().evicted >= 184, `evicted ${c().evicted}`);
        // The half-open ones keep coming, yet a client that sends its request is answered.
        assert.equal(await raw(to, get('/healthz', 'localhost')), 200);
        for (const s of idle) s.destroy();
      }
      const m = await body(port, '/metrics');
      assert.match(
        m,
        new RegExp(`floatd_api_connections_closed_total\\{listener="127\\.0\\.0\\.1:${port}",why="evicted"\\} (\\d+)`),
      );
      const evicted = Number(
        new RegExp(
          `floatd_api_connections_closed_total\\{listener="127\\.0\\.0\\.1:${port}",why="evicted"\\} (\\d+)`,
        ).exec(m)![1],
      );
      assert.ok(evicted >= 184, `metric says ${evicted} evicted`);
      assert.match(m, /floatd_api_connections\{listener="[^"]+"\} \d+/);
    },
    { maxConnections: 16 },
  );
});

test('a connection that never sends its headers is closed by the headers timeout', { timeout: 40_000 }, async () => {
  await withServer(async ({ srv, port }) => {
    const [s] = await openIdle({ port }, 1);
    let closedAt = 0;
    const t0 = performance.now();
    s!.on('close', () => {
      closedAt = performance.now();
    });
    s!.resume(); // a paused socket would never read the server's FIN
    // Nominally 5 s; the bound is loose for a loaded CI machine.
    await until(() => closedAt > 0, 25_000);
    assert.ok(closedAt > 0, `a half-open connection was never closed: ${JSON.stringify(srv.connectionCounts())}`);
    assert.ok(closedAt - t0 >= 4900, `closed after ${Math.round(closedAt - t0)} ms, before the idle time`);
    assert.equal(srv.connectionCounts()[1]?.open ?? 0, 0);
  });
});

test('refused API calls are rate-limited: 200 wrong-token calls make one line, and a count at close', async () => {
  const lines: string[] = [];
  const log = createLogger({
    json: true,
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        lines.push(...c.toString().split('\n').filter(Boolean));
        cb();
      },
    }),
  });
  const srv = new ApiServer({
    config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], dashboard: false },
    provider: { status: () => sampleStatus(), reload: async () => ({ ok: true, message: 'x' }) },
    log,
    token: TOKEN,
    processMetrics: false,
  });
  const port = (await srv.start()).tcp[0]!.port;
  const post =
    `POST /api/v1/reload HTTP/1.1\r\nHost: localhost\r\n` +
    `Authorization: Bearer wrong-token-wrong-token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
  for (let i = 0; i < 200; i++) assert.equal(await raw({ port }, post), 401);
  const denied = (): Record<string, unknown>[] =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.event === 'api.denied');
  assert.equal(denied().length, 1);
  await srv.close();
  assert.equal(denied().length, 2);
  assert.equal(denied()[1]!.suppressed, 199);
});
