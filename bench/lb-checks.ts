/**
 * Checker cost: 1,000 real servers checked every second (TCP_CHECK, then HTTP_GET) by floatd's
 * LbService, with the checks on the main event loop and in the checker thread (worker-pool.ts,
 * what `floatd run` uses), against 1,000 loopback listeners in a child process (their CPU is not
 * counted). Measured: this process's CPU share of one core (all its threads), and the lateness
 * of a 20 ms timer on the main loop standing in for VRRP adverts (p50/p99/max), over the run. The
 * kernel side is a stub backend (it counts applies): the cost is the checks and the membership step.
 *
 * "main loop busy" is the main event loop's utilization (performance.eventLoopUtilization): the
 * share of time it was running callbacks rather than waiting, which the checks add to. On a
 * shared machine pass `rt`: the main thread goes to SCHED_RR 10 through the native addon, exactly
 * as `vrrp_rt_priority 10` puts floatd's (with SCHED_RESET_ON_FORK: the checker thread and the
 * listeners' process stay ordinary), so other processes' load does not show up as lateness:
 *
 *   node dist/bench/lb-checks.js [servers = 1000] [seconds = 20] [rt]
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfigText } from '../src/config/index.js';
import { LbService } from '../src/lb/service.js';
import type { LbBackend } from '../src/lb/backend.js';
import { realClock } from '../src/util/clock.js';
import { native } from '../src/native/addon.js';
import { quantile, sleep } from './stats.js';

const N = Number(process.argv[2] ?? 1000);
const SECS = Number(process.argv[3] ?? 20);
if (process.argv[4] === 'rt') native().setRealtime(10);
const BASE = 21000;
/** The stand-in advert timer (20 ms: fifty samples a second). */
const TICK = 20;

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
  thread: boolean,
): Promise<{ cpu: number; elu: number; p50: number; p99: number; max: number; applies: number; runs: number }> {
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
  const svc = new LbService({
    log: pino({ level: 'warn' }),
    clock: realClock,
    backend,
    checkerThread: thread,
  });
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
  const e0 = performance.eventLoopUtilization();
  const w0 = performance.now();
  await sleep(SECS * 1000);
  const c1 = process.cpuUsage(c0);
  const elu = performance.eventLoopUtilization(e0).utilization;
  const wall = performance.now() - w0;
  clearTimeout(t);
  await sleep(1100); // the checker thread's last states
  const runs = svc
    .status()
    .virtualServers.reduce((a, v) => a + v.realServers.reduce((b, r) => b + (r.checks[0]?.runs ?? 0), 0), 0);
  await svc.stop();
  const s = late.sort((a, b) => a - b);
  return {
    cpu: (c1.user + c1.system) / 1000 / wall,
    elu,
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
    '| checker | where | servers | CPU (share of one core) | main loop busy | 20 ms timer lateness p50 / p99 / max ' +
      '| checks run | applies |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const cases = [
    ['none', false],
    ['TCP_CHECK', false],
    ['TCP_CHECK', true],
    ['HTTP_GET', false],
    ['HTTP_GET', true],
  ] as const;
  for (const [kind, thread] of cases) {
    const r = await measure(kind, thread);
    const lat = `${r.p50.toFixed(2)} / ${r.p99.toFixed(2)} / ${r.max.toFixed(2)} ms`;
    rows.push(
      `| ${kind === 'none' ? 'no checks (baseline)' : kind} | ${thread ? 'checker thread' : 'main loop'} | ` +
        `${kind === 'none' ? 0 : N} every 1 s | ${(r.cpu * 100).toFixed(1)} % | ` +
        `${(r.elu * 100).toFixed(1)} % | ${lat} | ` +
        `${r.runs} | ${r.applies} |`,
    );
  }
  console.log(rows.join('\n'));
} finally {
  child.kill();
}
