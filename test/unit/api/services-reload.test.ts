/**
 * `floatd run`'s API services across reloads: a rotated token takes effect on SIGHUP, a changed
 * socket path is reopened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonServices } from '../../../src/cli/services.js';
import type { ApiConfig, FloatdConfig } from '../../../src/config/model.js';
import type { DaemonControl } from '../../../src/daemon/daemon.js';
import { createLogger } from '../../../src/util/log.js';
import { sampleStatus } from './status-fixture.js';

const log = createLogger({ level: 'silent' });

function post(socketPath: string, path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('reload: a rotated API token replaces the old; a new socket path is opened, the old one removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-services-'));
  const tokenFile = join(dir, 'token');
  const first = 'first-token-0123456789';
  const second = 'second-token-9876543210';
  writeFileSync(tokenFile, first, { mode: 0o600 });
  let api: ApiConfig = { enabled: true, listen: [], socket: join(dir, 'a.sock'), tokenFile, dashboard: false };
  let reloads = 0;
  const services = daemonServices(api, log, async () => ({ api }) as unknown as FloatdConfig);
  const ctl = {
    runtime: {
      status: () => sampleStatus(),
      start: async () => {},
      stop: async () => {},
      reload: async () => ({ ok: true, message: '' }),
      dataDump: () => '',
      statsDump: () => '',
    },
    reload: async () => {
      reloads++;
      return { ok: true, message: 'reloaded' };
    },
  } as unknown as DaemonControl;
  try {
    await services.onReady(ctl);
    assert.equal(await post(api.socket!, '/api/v1/reload', first), 200);
    assert.equal(await post(api.socket!, '/api/v1/reload', second), 401);

    writeFileSync(tokenFile, second);
    await services.onReloaded();
    assert.equal(await post(api.socket!, '/api/v1/reload', first), 401, 'the old token no longer works');
    assert.equal(await post(api.socket!, '/api/v1/reload', second), 200);

    const old = api.socket!;
    api = { ...api, socket: join(dir, 'b.sock') };
    await services.onReloaded();
    assert.equal(existsSync(old), false, 'the old socket is removed');
    assert.equal(await post(api.socket!, '/api/v1/reload', second), 200);
    assert.equal(reloads, 3);
  } finally {
    await services.onStopping();
    rmSync(dir, { recursive: true, force: true });
  }
});
