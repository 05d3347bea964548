/**
 * The whole cloud path without a lab: the reconciler's runner (src/cloud/runner.ts) driving
 * each real driver against its emulator on loopback — a node told to hold converges to
 * "held" with the provider showing it, injected throttling and 5xx are ridden out within the
 * call budget, and a wrong token fails without a storm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FloatingIpRunner } from '../../../src/cloud/runner.js';
import { providers } from '../../../src/cloud/providers/index.js';
import { realClock } from '../../../src/util/clock.js';
import type { FloatingIpConfig } from '../../../src/config/model.js';
import { emulators } from '../../emulators/serve.js';
import { TOKEN } from './provider-contract.js';

/** `token`: where a provider's token has a shape of its own (AWS: ACCESS_KEY_ID:SECRET_ACCESS_KEY). */
const FIXTURES: Record<string, { nodes: [string, string]; address: string; token?: string }> = {
  digitalocean: { nodes: ['101', '102'], address: '203.0.113.10' },
  hetzner: { nodes: ['42', '43'], address: '203.0.113.20' },
  vultr: {
    nodes: ['2b9bf5fb-1644-4e0a-b706-1116ab64d783', '792199bb-620a-4e2c-ba3d-126c58f7f9d4'],
    address: '203.0.113.30',
  },
  linode: { nodes: ['123', '234'], address: '203.0.113.40' },
  gcp: { nodes: ['lb-1', 'lb-2'], address: '203.0.113.66/32' },
  scaleway: {
    nodes: ['6c0ffee0-5ca1-4e00-8000-000000000001', '6c0ffee0-5ca1-4e00-8000-000000000002'],
    address: '203.0.113.70',
  },
  aws: {
    nodes: ['i-0a11a11a11a11a11a', 'i-0b22b22b22b22b22b'],
    address: '203.0.113.80',
    token: `AKIAFLOATDRUNNER0001:${TOKEN}`,
  },
};

async function until(what: string, cond: () => boolean, limitMs: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

for (const [provider, fx] of Object.entries(FIXTURES)) {
  test(`runner + ${provider} + emulator: hold converges, verifies; rides out faults; bad token: no storm`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'floatd-runner-'));
    const token = fx.token ?? TOKEN;
    const emu = await emulators[provider]!({
      token,
      nodes: [...fx.nodes],
      ips: [{ address: fx.address, holder: fx.nodes[0] }],
      actionDelayMs: 100,
    });
    const runners: FloatingIpRunner[] = [];
    const runner = (node: string, tokenFile: string): FloatingIpRunner => {
      const cfg: FloatingIpConfig = {
        name: 'web',
        provider,
        address: fx.address,
        tokenFile,
        apiUrl: emu.apiUrl,
        metadataUrl: emu.metadataUrl(node),
        options: {
          poll_interval: '0.05',
          timeout: '5',
          backoff_base: '0.05',
          backoff_max: '0.5',
          reconcile_interval: '60',
        },
        pos: { file: 'test', line: 1, col: 1 },
      };
      const r = new FloatingIpRunner(cfg, { log: pino({ level: 'silent' }), clock: realClock, factories: providers });
      runners.push(r);
      return r;
    };
    try {
      const good = join(dir, 'token');
      writeFileSync(good, token + '\n');
      const [a, b] = fx.nodes;

      // 1. b becomes MASTER: whoami, holder, assign (+ polls), verify.
      const rb = runner(b, good);
      const before = emu.snapshot().requests;
      rb.setDesire('hold', 'test');
      const ms = await until('b held', () => rb.status().phase === 'held', 5000);
      assert.equal(emu.holder(fx.address), b);
      assert.equal(rb.status().holder, b);
      assert.equal(rb.status().callsThisFailover, 4);
      console.log(
        `# ${provider}: runner converged in ${ms} ms, 4 calls, ${emu.snapshot().requests - before} API requests`,
      );
      rb.setDesire('release', 'test');

      // 2. a takes it back through a 429 and a 503 on its first API requests.
      emu.faults.add({ kind: 'status', status: 429, retryAfterS: 0, times: 1 });
      emu.faults.add({ kind: 'status', status: 503, times: 1 });
      const ra = runner(a, good);
      ra.setDesire('hold', 'test');
      await until('a held despite faults', () => ra.status().phase === 'held', 8000);
      assert.equal(emu.holder(fx.address), a);
      assert.ok(ra.status().callsThisFailover <= 10, `${ra.status().callsThisFailover} calls`);

      // 3. A wrong token: the runner fails once and waits (error_retry), no retry storm.
      const bad = join(dir, 'bad');
      writeFileSync(bad, 'not-the-token\n');
      const rx = runner(b, bad);
      const n0 = emu.snapshot().requests;
      rx.setDesire('hold', 'test');
      await until('bad token failed', () => rx.status().phase === 'failed', 3000);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(emu.snapshot().requests - n0 <= 2, `${emu.snapshot().requests - n0} requests with a bad token`);
      assert.ok(!(rx.status().lastError ?? '').includes('not-the-token'));
      assert.equal(emu.holder(fx.address), a);
    } finally {
      for (const r of runners) r.stop();
      await emu.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
