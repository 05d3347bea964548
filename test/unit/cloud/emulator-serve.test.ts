/**
 * The emulator as a separate process (what the network-namespace lab runs): it prints its
 * URLs, a driver in this process moves the address, the control endpoints inject faults and
 * report state, the state file follows, SIGTERM ends it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { providers } from '../../../src/cloud/providers/index.js';
import { rejectsKind, TOKEN } from './provider-contract.js';

const here = fileURLToPath(import.meta.url);
const ts = here.endsWith('.ts');
const script = join(dirname(here), '..', '..', 'emulators', ts ? 'serve.ts' : 'serve.js');

interface Started {
  child: ChildProcess;
  info: { provider: string; apiUrl: string; controlUrl: string; metadata: Record<string, string> };
}

async function serve(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [...(ts ? ['--import', 'tsx'] : []), script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening`)));
    setTimeout(() => reject(new Error('serve did not print its URLs within 20 s')), 20_000).unref();
  });
  return { child, info: JSON.parse(line) as Started['info'] };
}

const stopped = (c: ChildProcess): Promise<number | null> => new Promise((r) => c.once('exit', (code) => r(code)));

test('serve: a digitalocean emulator in its own process, driven through the control endpoints', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-serve-'));
  try {
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    const stateFile = join(dir, 'state.json');
    const { child, info } = await serve([
      'digitalocean',
      '--port',
      '0',
      '--token-file',
      join(dir, 'token'),
      '--droplets',
      '101,102',
      '--ip',
      '203.0.113.10=101',
      '--action-delay-ms',
      '100',
      '--state-file',
      stateFile,
    ]);
    try {
      assert.equal(info.provider, 'digitalocean');
      assert.deepEqual(Object.keys(info.metadata), ['101', '102']);
      const settings = {
        address: '203.0.113.10',
        token: TOKEN,
        apiUrl: info.apiUrl,
        metadataUrl: info.metadata['102']!,
        timeoutUs: 10_000_000,
        options: { poll_interval: '0.05' },
      };
      const p = providers.digitalocean!(settings);
      assert.equal(await p.whoAmI(), '102');
      await p.assign('102');
      assert.equal(await p.holder(), '102');
      const state = (await (await fetch(`${info.controlUrl}/state`)).json()) as {
        holders: Record<string, string | null>;
        requests: number;
      };
      assert.deepEqual(state.holders, { '203.0.113.10': '102' });
      assert.ok(state.requests >= 3);
      assert.deepEqual(JSON.parse(readFileSync(stateFile, 'utf8')).holders, { '203.0.113.10': '102' });

      // A fault from another process: the next holder() answers 503.
      const add = await fetch(`${info.controlUrl}/faults`, {
        method: 'POST',
        body: JSON.stringify({ kind: 'status', status: 503, match: '^GET /v2/reserved_ips' }),
      });
      assert.equal(add.status, 204);
      await rejectsKind(p.holder(), 'server');
      // Drift from another process.
      await fetch(`${info.controlUrl}/holder`, {
        method: 'POST',
        body: JSON.stringify({ address: '203.0.113.10', instance: 101 }),
      });
      assert.equal(await p.holder(), '101');
      assert.equal((await fetch(`${info.controlUrl}/nothing`)).status, 404);
    } finally {
      child.kill('SIGTERM');
      assert.equal(await stopped(child), 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("serve: every provider's emulator runs as a process and a driver moves the address through it", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-serve-'));
  // [provider, holder, taker, address, token when the provider's has a shape of its own]
  const cases: [string, string, string, string, string?][] = [
    ['hetzner', '42', '43', '203.0.113.20'],
    ['vultr', '2b9bf5fb-1644-4e0a-b706-1116ab64d783', '792199bb-620a-4e2c-ba3d-126c58f7f9d4', '203.0.113.30'],
    ['linode', '123', '234', '203.0.113.40'],
    ['gcp', 'lb-1', 'lb-2', '203.0.113.66/32'],
    ['scaleway', '6c0ffee0-5ca1-4e00-8000-000000000001', '6c0ffee0-5ca1-4e00-8000-000000000002', '203.0.113.70'],
    ['aws', 'i-0a11a11a11a11a11a', 'i-0b22b22b22b22b22b', '203.0.113.80', `AKIAFLOATDSERVE00001:${TOKEN}`],
  ];
  try {
    for (const [provider, a, b, ip, token = TOKEN] of cases) {
      writeFileSync(join(dir, 'token'), token);
      const { child, info } = await serve([
        provider,
        '--token-file',
        join(dir, 'token'),
        '--nodes',
        `${a},${b}`,
        '--ip',
        `${ip}=${a}`,
        '--action-delay-ms',
        '50',
      ]);
      try {
        const p = providers[provider]!({
          address: ip,
          token,
          apiUrl: info.apiUrl,
          metadataUrl: info.metadata[b]!,
          timeoutUs: 10_000_000,
          options: { poll_interval: '0.05' },
        });
        assert.equal(await p.whoAmI(), b, provider);
        assert.equal(await p.holder(), a, provider);
        await p.assign(b);
        assert.equal(await p.holder(), b, provider);
        const state = (await (await fetch(`${info.controlUrl}/state`)).json()) as {
          holders: Record<string, string | null>;
        };
        assert.equal(state.holders[ip], b, provider);
      } finally {
        child.kill('SIGTERM');
        assert.equal(await stopped(child), 0);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
