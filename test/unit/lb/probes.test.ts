import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseConfigText } from '../../../src/config/index.js';
import type { LvsCheckConfig } from '../../../src/config/lvs-model.js';
import { probeFor, type ProbedCheck } from '../../../src/lb/probes.js';
import { realClock } from '../../../src/util/clock.js';

function checkOf(body: string): LvsCheckConfig {
  const r = parseConfigText(
    `virtual_server 127.0.0.1 80 {
  lvs_sched rr
  real_server 127.0.0.1 80 {
${body}
  }
}`,
    't.conf',
  );
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  return r.config.virtualServers![0]!.realServers[0]!.checks[0]!;
}

async function server(handler: http.RequestListener): Promise<{ port: number; close(): void; hosts: string[] }> {
  const hosts: string[] = [];
  const s = http.createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as AddressInfo).port, close: () => s.close(), hosts };
}

const run = (ch: LvsCheckConfig, port: number) =>
  probeFor(ch as ProbedCheck, { address: '127.0.0.1', port }, realClock)(new AbortController().signal);

test('HTTP_GET: status ranges, md5 digest of the body, virtualhost as Host; connect_port overrides', async () => {
  const body = 'hello floatd\n';
  const srv = await server((req, res) => {
    res.statusCode = req.url === '/down' ? 503 : 200;
    res.end(body);
  });
  try {
    const md5 = createHash('md5').update(body).digest('hex');
    const ok = checkOf(`HTTP_GET {
      url {
        path /
        digest ${md5}
      }
      virtualhost www.example.test
      connect_port ${srv.port}
    }`);
    assert.equal((await run(ok, 1)).ok, true);
    assert.equal(srv.hosts.at(-1), 'www.example.test');
    const bad = checkOf(`HTTP_GET {
      url {
        path /
        digest ${'0'.repeat(32)}
      }
    }`);
    const r = await run(bad, srv.port);
    assert.equal(r.ok, false);
    assert.match(r.detail, /digest [0-9a-f]{32}, expected 0{32}/);
    const down = checkOf(`HTTP_GET {
      url {
        path /down
      }
    }`);
    assert.match((await run(down, srv.port)).detail, /HTTP 503/);
    const accept503 = checkOf(`HTTP_GET {
      url {
        path /down
        status_code 503
      }
    }`);
    assert.equal((await run(accept503, srv.port)).ok, true);
  } finally {
    srv.close();
  }
});

test('a server that accepts and never answers fails after connect_timeout (the loop is never blocked)', async () => {
  const hung = net.createServer(() => undefined);
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  const port = (hung.address() as AddressInfo).port;
  try {
    const ch = checkOf(`HTTP_GET {
      url {
        path /
      }
      connect_timeout 0.2
    }`);
    const t0 = performance.now();
    let ticks = 0;
    const iv = setInterval(() => ticks++, 10);
    const r = await run(ch, port);
    clearInterval(iv);
    assert.equal(r.ok, false);
    assert.match(r.detail, /timed out after 200 ms/);
    assert.ok(performance.now() - t0 < 1000);
    // A blocking probe would allow at most one tick; a loaded machine still gives several.
    assert.ok(ticks >= 3, `the event loop kept running (${ticks} ticks)`);
  } finally {
    hung.close();
  }
});

test('TCP_CHECK: connect succeeds or is refused', async () => {
  const srv = await server((_q, s) => s.end());
  try {
    const ch = checkOf('TCP_CHECK {\n    }');
    assert.equal((await run(ch, srv.port)).ok, true);
  } finally {
    srv.close();
  }
  const ch = checkOf('TCP_CHECK {\n    }');
  const r = await run(ch, srv.port);
  assert.equal(r.ok, false);
  assert.match(r.detail, /ECONNREFUSED/);
});

test('MISC_CHECK: exit 0 up, 1 down, misc_dynamic 2..255 up with weight status − 2, misc_timeout kills', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-misc-'));
  const script = join(dir, 'chk.sh');
  writeFileSync(script, '#!/bin/sh\n[ "$1" = sleep ] && sleep 5\nexit "$1"\n');
  chmodSync(script, 0o755);
  const misc = (arg: string, extra = ''): LvsCheckConfig =>
    checkOf(`MISC_CHECK {
      misc_path "${script} ${arg}"
      misc_timeout 0.3
${extra}
    }`);
  assert.equal((await run(misc('0'), 0)).ok, true);
  assert.equal((await run(misc('1'), 0)).ok, false);
  assert.deepEqual(await run(misc('7', '      misc_dynamic'), 0).then((r) => [r.ok, r.weight]), [true, 5]);
  assert.equal((await run(misc('7'), 0)).ok, false, 'without misc_dynamic any non-zero exit is down');
  const t = await run(misc('sleep'), 0);
  assert.equal(t.ok, false);
  assert.match(t.detail, /timed out/);
});
