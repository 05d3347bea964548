/**
 * An off-host API listener needs the bearer token for reads too (issue 16, least privilege):
 * here bound to 0.0.0.0 (not loopback, so "off-host" to floatd) and reached at 127.0.0.1.
 * Loopback and the unix socket keep open reads; /healthz stays open everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../../../src/api/server.js';
import { createLogger } from '../../../src/util/log.js';
import { sampleStatus } from '../api/status-fixture.js';

const TOKEN = 'offhost-token-0123456789';

function get(to: { port: number } | { socketPath: string }, path: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...('port' in to ? { host: '127.0.0.1', port: to.port } : to),
        path,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function serve(
  token: string | undefined,
  fn: (ports: { off: number; loop: number; socket: string }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-offhost-'));
  const socket = join(dir, 'floatd.sock');
  const srv = new ApiServer({
    config: {
      enabled: true,
      listen: [
        { host: '0.0.0.0', port: 0 },
        { host: '127.0.0.1', port: 0 },
      ],
      socket,
      dashboard: true,
    },
    provider: { status: () => sampleStatus() },
    log: createLogger({ level: 'silent' }),
    token,
    processMetrics: false,
  });
  const l = await srv.start();
  try {
    await fn({ off: l.tcp[0]!.port, loop: l.tcp[1]!.port, socket });
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('off-host: reads need the token (401 without, 200 with); /healthz open; loopback, socket unchanged', async () => {
  await serve(TOKEN, async ({ off, loop, socket }) => {
    for (const p of ['/api/v1/status', '/api/v1/instances', '/metrics', '/api/v1/transitions', '/api/v1/maintenance']) {
      assert.equal(await get({ port: off }, p), 401, `${p} off-host without a token`);
    }
    assert.equal(await get({ port: off }, '/api/v1/status', 'wrong-token-0123456789'), 401);
    assert.equal(await get({ port: off }, '/api/v1/status', TOKEN), 200);
    assert.equal(await get({ port: off }, '/metrics', TOKEN), 200);
    assert.equal(await get({ port: off }, '/healthz'), 200);
    assert.equal(
      await get({ port: off }, '/'),
      200,
      'the dashboard page (no data in it) loads; its polls need the token',
    );
    assert.equal(await get({ port: loop }, '/api/v1/status'), 200, 'loopback reads stay open');
    assert.equal(await get({ socketPath: socket }, '/api/v1/status'), 200, 'socket reads stay open (0660)');
  });
});

test('off-host without a token configured: 403 for reads, not open', async () => {
  await serve(undefined, async ({ off }) => {
    assert.equal(await get({ port: off }, '/api/v1/status'), 403);
    assert.equal(await get({ port: off }, '/healthz'), 200);
  });
});
