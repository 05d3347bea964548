import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { httpProbe, statusOk, tcpProbe } from '../../../src/track/net-checks.js';
import { TrackerSet, type TrackingChange } from '../../../src/track/tracker-set.js';
import type { HttpCheckSpec } from '../../../src/track/types.js';
import { US_PER_MS as MS } from '../../../src/util/clock.js';

const signal = (): AbortSignal => new AbortController().signal;

async function server(
  handler: http.RequestListener,
): Promise<{ url: string; srv: http.Server; sockets: () => number }> {
  const srv = http.createServer(handler);
  let conns = 0;
  srv.on('connection', () => conns++);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, srv, sockets: () => conns };
}

const close = (srv: net.Server): Promise<void> =>
  new Promise((r) => {
    (srv as http.Server).closeAllConnections?.();
    srv.close(() => r());
  });

const spec = (url: string, over: Partial<HttpCheckSpec> = {}): HttpCheckSpec => ({
  kind: 'http',
  name: 'chk_web',
  url,
  intervalUs: 50 * MS,
  timeoutUs: 500 * MS,
  weight: 0,
  reverse: false,
  rise: 1,
  fall: 1,
  initFail: false,
  ...over,
});

test('status ranges: default 2xx; configured ranges inclusive', () => {
  assert.equal(statusOk(204, undefined), true);
  assert.equal(statusOk(301, undefined), false);
  assert.equal(statusOk(301, [[200, 399]]), true);
  assert.equal(
    statusOk(503, [
      [200, 200],
      [503, 503],
    ]),
    true,
  );
});

test('HTTP check: status, body substring, Host header, over one keep-alive connection', async () => {
  let hostSeen = '';
  const s = await server((req, res) => {
    hostSeen = req.headers.host ?? '';
    if (req.url === '/health') {
      res.end('status: ok');
      return;
    }
    res.statusCode = 503;
    res.end('down');
  });
  try {
    const ok = httpProbe(spec(`${s.url}/health`, { expectBody: 'ok', host: 'www.example.test' }));
    for (let i = 0; i < 5; i++) {
      const r = await ok.probe(signal());
      assert.equal(r.ok, true, r.detail);
      assert.equal(r.detail, 'HTTP 200');
    }
    assert.equal(hostSeen, 'www.example.test');
    assert.equal(s.sockets(), 1, 'checks reuse one keep-alive connection');
    ok.close();
    const body = httpProbe(spec(`${s.url}/health`, { expectBody: 'healthy' }));
    assert.equal((await body.probe(signal())).detail, 'HTTP 200 but the body lacks "healthy"');
    body.close();
    const bad = httpProbe(spec(`${s.url}/other`));
    assert.equal((await bad.probe(signal())).detail, 'HTTP 503 (expected 200-299)');
    bad.close();
    const allowed = httpProbe(spec(`${s.url}/other`, { expectStatus: [[503, 503]] }));
    assert.equal((await allowed.probe(signal())).ok, true);
    allowed.close();
  } finally {
    await close(s.srv);
  }
});

test('HTTP check: the timeout covers a server that trickles its body (keepalived #1822)', async () => {
  const s = await server((_req, res) => {
    res.writeHead(200);
    const t = setInterval(() => res.write('.'), 20);
    res.on('close', () => clearInterval(t));
  });
  try {
    const p = httpProbe(spec(s.url, { expectBody: 'never', timeoutUs: 200 * MS }));
    const t0 = Date.now();
    const r = await p.probe(signal());
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'timed out after 200 ms');
    assert.ok(Date.now() - t0 < 1000);
    p.close();
  } finally {
    await close(s.srv);
  }
});

test('HTTP and TCP checks report refused connections', async () => {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  const common = {
    name: 't',
    intervalUs: 100 * MS,
    timeoutUs: 500 * MS,
    weight: 0,
    reverse: false,
    rise: 1,
    fall: 1,
    initFail: false,
  };
  const up = tcpProbe({ kind: 'tcp', host: '127.0.0.1', port, ...common });
  assert.deepEqual(
    { ...(await up.probe(signal())), durationMs: 0 },
    { ok: true, detail: `connected to 127.0.0.1:${port}`, durationMs: 0 },
  );
  await close(srv);
  const down = await tcpProbe({ kind: 'tcp', host: '127.0.0.1', port, ...common }).probe(signal());
  assert.equal(down.ok, false);
  assert.equal(down.detail, 'connect ECONNREFUSED');
  const h = httpProbe(spec(`http://127.0.0.1:${port}/`));
  assert.equal((await h.probe(signal())).detail, 'connect ECONNREFUSED');
  h.close();
});

test('HTTP check at a 50 ms interval with rise 3 / fall 2 follows a real server going down and up', async () => {
  let healthy = true;
  const s = await server((_req, res) => {
    res.statusCode = healthy ? 200 : 500;
    res.end();
  });
  const changes: Array<{ at: number; c: TrackingChange }> = [];
  const t0 = Date.now();
  const set = new TrackerSet(
    {
      checks: [spec(s.url, { rise: 3, fall: 2, timeoutUs: 200 * MS })],
      files: [],
      processes: [],
      instances: [
        { name: 'VI_1', basePriority: 100, tracks: [{ kind: 'script', name: 'chk_web', weight: -50, reverse: false }] },
      ],
    },
    { onChange: (_i, c) => changes.push({ at: Date.now() - t0, c }) },
  );
  try {
    await set.start();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(changes.length, 0, 'a weighted check that starts up changes nothing');
    healthy = false;
    const down = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.c.priorityDelta, -50);
    assert.match(changes[0]?.c.reason ?? '', /^chk_web failed \(HTTP 500/);
    const lag = (changes[0]?.at ?? 0) - down;
    assert.ok(lag >= 50 && lag < 300, `went down after ${lag} ms (fall 2 × 50 ms)`);
    healthy = true;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(changes.length, 2);
    assert.equal(changes[1]?.c.priorityDelta, 0);
    assert.equal(set.status('VI_1')[0]?.type, 'http');
  } finally {
    await set.stop();
    await close(s.srv);
  }
});
