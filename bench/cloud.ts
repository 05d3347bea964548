/**
 * Cloud floating-IP failover cost per provider, against the emulators: the time from "this
 * node became MASTER" (the runner is told to hold) to "assigned and verified" (the provider
 * reports this node as the holder), and how many calls that takes — the reconciler's calls and
 * the HTTP requests the emulator answered (action polls included). The emulated API latency
 * and action duration are stated in the table; real providers are slower (DigitalOcean's
 * actions take seconds), so read the figures as floatd's own overhead on top of the provider.
 *
 * Usage: node dist/bench/cloud.js [runs=5] [latencyMs=30] [actionDelayMs=300]
 * Writes a markdown table to stdout and bench/results/cloud.json. Loopback only.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { emulators } from '../test/emulators/serve.js';
import { providers } from '../src/cloud/providers/index.js';
import { FloatingIpRunner } from '../src/cloud/runner.js';
import { realClock } from '../src/util/clock.js';
import { REPO_ROOT } from '../src/lab/seed-lab.js';
import type { FloatingIpConfig } from '../src/config/model.js';
import { median } from './stats.js';

/**
 * Per provider: two instance ids in the provider's format, the address, extra options, a token of
 * the provider's shape.
 */
const FIXTURES: Record<
  string,
  { nodes: [string, string]; address: string; options?: Record<string, string>; token?: string }
> = {
  digitalocean: { nodes: ['101', '102'], address: '203.0.113.10' },
  hetzner: { nodes: ['42', '43'], address: '203.0.113.10' },
  vultr: {
    nodes: ['cb676a46-66fd-4dfb-b839-443f2e6c0b60', '9b2e4a3c-1f0d-4b7e-8a55-2f3c9d1e7a10'],
    address: '203.0.113.10',
  },
  linode: { nodes: ['123', '456'], address: '203.0.113.10' },
  aws: {
    nodes: ['i-0123456789abcdef0', 'i-0fedcba9876543210'],
    address: '203.0.113.10',
    options: { region: 'us-east-1' },
    token: 'AKIAFLOATDBENCH00001:bench-aws-secret',
  },
  gcp: {
    nodes: ['web-a', 'web-b'],
    address: '203.0.113.10/32',
    options: { project: 'floatd-test', zone: 'europe-west1-b' },
  },
  scaleway: {
    nodes: ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'],
    address: '203.0.113.10',
    options: { zone: 'fr-par-1' },
  },
};

interface Row {
  provider: string;
  runs: number[];
  calls: number[];
  requests: number[];
}

async function benchProvider(
  provider: string,
  runs: number,
  latencyMs: number,
  actionDelayMs: number,
): Promise<Row | string> {
  const fx = FIXTURES[provider];
  const start = emulators[provider];
  if (!fx || !start || !providers[provider]) return 'no fixture, emulator or driver';
  const token = fx.token ?? `bench-${provider}-token`;
  const dir = mkdtempSync(join(tmpdir(), 'floatd-bench-cloud-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const emu = await start({
    token,
    nodes: [...fx.nodes],
    ips: [{ address: fx.address, holder: fx.nodes[0] }],
    actionDelayMs,
    host: '127.0.0.1',
  });
  const row: Row = { provider, runs: [], calls: [], requests: [] };
  try {
    emu.faults.add({ kind: 'slow', delayMs: latencyMs, times: 1_000_000 });
    for (let i = 0; i < runs; i++) {
      const node = fx.nodes[(i + 1) % 2]!; // the one that does not hold it now
      const cfg: FloatingIpConfig = {
        name: 'bench',
        provider,
        address: fx.address,
        tokenFile,
        apiUrl: emu.apiUrl,
        metadataUrl: emu.metadataUrl(node),
        options: { poll_interval: '0.1', timeout: '5', ...fx.options },
        pos: { file: 'bench', line: 0, col: 0 },
      };
      const runner = new FloatingIpRunner(cfg, {
        log: pino({ level: 'silent' }),
        clock: realClock,
        factories: providers,
      });
      const before = emu.snapshot().requests;
      const t0 = performance.now();
      runner.setDesire('hold', 'bench');
      const deadline = t0 + 30_000;
      while (runner.status().phase !== 'held' && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 2));
      const ms = performance.now() - t0;
      const st = runner.status();
      runner.stop();
      if (st.phase !== 'held') return `did not converge: ${st.lastError ?? st.phase}`;
      row.runs.push(ms);
      row.calls.push(st.callsThisFailover);
      row.requests.push(emu.snapshot().requests - before);
    }
  } finally {
    await emu.close();
  }
  return row;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const latencyMs = Number(process.argv[3] ?? 30);
  const actionDelayMs = Number(process.argv[4] ?? 300);
  const rows: Row[] = [];
  const skipped: Record<string, string> = {};
  for (const p of Object.keys(FIXTURES)) {
    const r = await benchProvider(p, runs, latencyMs, actionDelayMs);
    if (typeof r === 'string') skipped[p] = r;
    else rows.push(r);
  }
  console.log(
    `Cloud failover to "assigned and verified", ${runs} runs each; emulated API latency ${latencyMs} ms per ` +
      `request, asynchronous actions complete after ${actionDelayMs} ms, action polls every 100 ms.\n`,
  );
  console.log(
    '| provider | MASTER → verified, median ms (min–max) | reconciler calls per failover | HTTP requests per ' +
      'failover (polls included) |',
  );
  console.log('|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.provider} | ${Math.round(median(r.runs))} ` +
        `(${Math.round(Math.min(...r.runs))}–${Math.round(Math.max(...r.runs))}) | ${median(r.calls)} | ` +
        `${median(r.requests)} |`,
    );
  }
  for (const [p, why] of Object.entries(skipped)) console.log(`| ${p} | not measured: ${why} | | |`);
  const out = join(REPO_ROOT, 'bench/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'cloud.json'),
    JSON.stringify({ date: new Date().toISOString(), runs, latencyMs, actionDelayMs, rows, skipped }, null, 2) + '\n',
  );
}

void main();
