/**
 * Failover gap on the lab, floatd pair vs keepalived pair, same configs (the seed's), same run.
 * Each run: both servers up, lb1 serving; wait a random phase of the 2 s check cycle; stop nginx
 * on lb1 (`nginx -s stop`, the seed's test); the client loop (GET /load.html through the VIP
 * every 20 ms) measures the time to the first answer from lb2 and the requests without answer.
 * Usage (root): node dist/bench/failover.js [runs=5]   → markdown table + bench/results/failover.json
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeedLab, REPO_ROOT } from '../src/lab/seed-lab.js';

type Daemon = 'floatd' | 'keepalived';
interface Run { daemon: Daemon; gapMs: number; lost: number; phaseMs: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (cond()) return true; await sleep(20); }
  return false;
}

async function once(daemon: Daemon): Promise<Run> {
  const s = new SeedLab();
  try {
    for (const h of ['lb1', 'lb2'] as const) (daemon === 'floatd' ? s.startFloatd(h) : s.startKeepalived(h));
    if (!(await waitFor(() => /lb1/.test(s.served(0.2)), 20_000))) throw new Error(`${daemon}: lb1 never served`);
    await sleep(2500); // settle (second GARP burst etc.)
    const phaseMs = Math.floor(Math.random() * 2000);
    await sleep(phaseMs);
    const t0 = Date.now();
    s.stopNginx('lb1');
    let lost = 0;
    for (;;) {
      const r = s.served(0.1);
      if (/lb2/.test(r)) break;
      if (!/lb1/.test(r)) lost++;
      if (Date.now() - t0 > 20_000) throw new Error(`${daemon}: lb2 never served`);
      await sleep(20);
    }
    return { daemon, gapMs: Date.now() - t0, lost, phaseMs };
  } finally {
    s.destroy();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const all: Run[] = [];
  for (let i = 0; i < runs; i++) {
    for (const d of ['floatd', 'keepalived'] as const) {
      const r = await once(d);
      all.push(r);
      process.stderr.write(`${d} run ${i + 1}: gap ${r.gapMs} ms, ${r.lost} requests without answer (stop at phase ${r.phaseMs} ms)\n`);
    }
  }
  const stat = (d: Daemon) => {
    const g = all.filter((r) => r.daemon === d).map((r) => r.gapMs);
    return { median: median(g), min: Math.min(...g), max: Math.max(...g) };
  };
  const f = stat('floatd');
  const k = stat('keepalived');
  process.stdout.write(`| seed config, nginx stop on MASTER (n=${runs}) | median gap | range | lost requests (median) |\n|---|---|---|---|\n`);
  for (const [d, st] of [['floatd', f], ['keepalived 2.2.7', k]] as const) {
    const lost = median(all.filter((r) => r.daemon === (d === 'floatd' ? 'floatd' : 'keepalived')).map((r) => r.lost));
    process.stdout.write(`| ${d} | ${st.median} ms | ${st.min}–${st.max} ms | ${lost} |\n`);
  }
  process.stdout.write(`| **ratio floatd ÷ keepalived** | **${(f.median / k.median).toFixed(2)}** | | |\n`);
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench/results/failover.json'), JSON.stringify({ date: new Date().toISOString(), runs: all, floatd: f, keepalived: k }, null, 2));
}

main().catch((e: unknown) => { process.stderr.write(`bench failed: ${(e as Error).message}\n`); process.exitCode = 1; });
