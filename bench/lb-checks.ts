/**
 * Checker cost: 1,000 real servers checked every second (TCP_CHECK, then HTTP_GET) by floatd's
 * LbService on this process's event loop, against 1,000 loopback listeners in a child process
 * (their CPU is not counted). Measured: this process's CPU share, and the lateness of a 100 ms
 * timer standing in for VRRP adverts (p50/p99/max), over the run. The kernel side is a stub
 * backend (it counts applies): the cost measured is the checks and the membership step.
 *
 *   node dist/bench/lb-checks.js [servers = 1000] [seconds = 20]
 */
import { fork } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfigText } from '../src/config/index.js';
import { LbService } from '../src/lb/service.js';
import type { LbBackend } from '../src/lb/backend.js';
import { realTrackClock } from '../src/track/clock.js';
import { quantile, sleep } from './stats.js';

const N = Number(process.argv[2] ?? 1000);
const SECS = Number(process.argv[3] ?? 20);
const BASE = 21000;
/** The stand-in advert timer (100 ms: ten samples a second). */
const TICK = 100;

const CHILD = `import http from 'node:http';
const [base, n] = process.argv.slice(2).map(Number);
let up = 0;
for (let i = 0; i < n; i++)
  http.createServer((q, s) => s.end('ok')).listen(base + i, '127.0.0.1', () => {
    if (++up === n) process.send('ready');
  });
`;

async function measure(
  kind: 'TCP_CHECK' | 'HTTP_GET' | 'none',
): Promise<{ cpu: number; p50: number; p99: number; max: number; applies: number; runs: number }> {
  const perVs = 100;
  let text = '';
  for (let v = 0; kind !== 'none' && v < N / perVs; v++) {
    text += `virtual_server 192.0.2.${v + 1} 80 {\n  lvs_sched rr\n  delay_loop 1\n`;
    for (let i = 0; i < perVs; i++) {
      const port = BASE + v * perVs + i;
      text +=
        `  real_server 127.0.0.1 ${port} {\n    ${kind} {\n` +
        `${kind === 'HTTP_GET' ? '      url {\n        path /\n      }\n' : ''}      connect_timeout 0.5\n` +
        `      warmup 1\n    }\n  }\n`;
    }
    text += '}\n';
  }
  const cfg = parseConfigText(text || 'global_defs {\n}\n', 'bench.conf');
  if (!cfg.config) throw new Error(JSON.stringify(cfg.diagnostics.slice(0, 3)));
  let applies = 0;
  const backend: LbBackend = {
    name: 'stub',
    apply: () => {
      applies++;
      return Promise.resolve({ changed: true, script: '' });
    },
    counters: () => Promise.resolve(new Map()),
    clear: () => Promise.resolve(),
  };
  const svc = new LbService({ log: pino({ level: 'warn' }), clock: realTrackClock, backend });
  await svc.configure(cfg.config.virtualServers ?? []);
  await sleep(2000); // warmup spread
  const late: number[] = [];
  let next = performance.now() + TICK;
  let t = setTimeout(function tick(): void {
    late.push(performance.now() - next);
    next += TICK;
    t = setTimeout(tick, Math.max(0, next - performance.now()));
  }, TICK);
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  await sleep(SECS * 1000);
  const c1 = process.cpuUsage(c0);
  const wall = performance.now() - w0;
  clearTimeout(t);
  const runs = svc
    .status()
    .virtualServers.reduce((a, v) => a + v.realServers.reduce((b, r) => b + (r.checks[0]?.runs ?? 0), 0), 0);
  await svc.stop();
  const s = late.sort((a, b) => a - b);
  return {
    cpu: (c1.user + c1.system) / 1000 / wall,
    p50: quantile(s, 0.5),
    p99: quantile(s, 0.99),
    max: s.at(-1) ?? 0,
    applies,
    runs,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'floatd-lbchecks-'));
writeFileSync(join(dir, 'servers.mjs'), CHILD);
const child = fork(join(dir, 'servers.mjs'), [String(BASE), String(N)], { stdio: 'ignore' });
await new Promise((r) => child.once('message', r));
try {
  const rows: string[] = [
    '| checker | servers | CPU (share of one core) | 100 ms timer lateness p50 / p99 / max | checks run | applies |',
    '|---|---|---|---|---|---|',
  ];
  for (const kind of ['none', 'TCP_CHECK', 'HTTP_GET'] as const) {
    const r = await measure(kind);
    rows.push(
      `| ${kind === 'none' ? 'no checks (baseline)' : kind} | ${kind === 'none' ? 0 : N} every 1 s | ` +
        `${(r.cpu * 100).toFixed(1)} % | ${r.p50.toFixed(2)} / ${r.p99.toFixed(2)} / ${r.max.toFixed(2)} ms | ` +
        `${r.runs} | ${r.applies} |`,
    );
  }
  console.log(rows.join('\n'));
} finally {
  child.kill();
}
