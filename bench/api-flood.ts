/**
 * A local user opens thousands of half-open connections to the API (issue 15 item 4: 20,000
 * from `nobody` once exhausted floatd's descriptors). The API runs in a child process (so its
 * descriptors can be counted in /proc); the parent opens N connections that never send a
 * byte, to the unix socket and the loopback port, while a third process asks /healthz every 50 ms.
 * Reported per mode: the most descriptors the API process held, the /healthz answers and
 * their latency. Modes: `bounded` (max_connections 64, floatd's default) and `unbounded`
 * (max_connections 4096 and a 60 s idle time: close to the old behaviour, for contrast).
 *
 * Usage: node dist/bench/api-flood.js [connections=15000] → markdown + bench/results/api-flood.json
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiServer } from '../src/api/server.js';
import { createLogger } from '../src/util/log.js';
import { quantile, sleep } from './stats.js';

interface ModeResult {
  mode: string;
  connections: number;
  maxFds: number;
  baseFds: number;
  healthzOk: number;
  healthzFailed: number;
  latencyP50Ms: number;
  latencyMaxMs: number;
  shed: unknown;
}

async function serve(max: number, socket: string): Promise<void> {
  const srv = new ApiServer({
    config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], socket, dashboard: false, maxConnections: max },
    provider: { status: () => ({ instances: [] }) as never },
    log: createLogger({ level: 'silent' }),
    processMetrics: false,
  });
  const l = await srv.start();
  process.send!({ port: l.tcp[0]!.port });
  process.on('message', (m) => {
    if (m === 'counts') process.send!({ counts: srv.connectionCounts() });
  });
}

function fds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

function healthz(port: number): Promise<number | undefined> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/healthz', headers: { host: 'localhost' }, timeout: 2000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : undefined));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function run(mode: 'bounded' | 'unbounded', n: number): Promise<ModeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-flood-'));
  const socket = join(dir, 'floatd.sock');
  const child: ChildProcess = fork(
    fileURLToPath(import.meta.url),
    ['serve', mode === 'bounded' ? '64' : '4096', socket],
    { stdio: 'inherit' },
  );
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const pid = child.pid!;
  await sleep(200);
  const baseFds = fds(pid);
  let maxFds = baseFds;
  const sampler = setInterval(() => {
    maxFds = Math.max(maxFds, fds(pid));
  }, 20);
  // The prober is its own process (a monitoring client), not slowed by the flood's own loop.
  const probe: ChildProcess = fork(fileURLToPath(import.meta.url), ['probe', String(port)], { stdio: 'inherit' });
  await new Promise((resolve) => probe.once('message', resolve));
  const held: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = i % 2 ? connect(socket) : connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    s.on('close', () => s.destroy());
    s.resume();
    held.push(s);
    if (i % 200 === 199) await sleep(5);
  }
  await sleep(1500);
  probe.send('stop');
  const { lat, failed } = await new Promise<{ lat: number[]; failed: number }>((resolve) =>
    probe.once('message', resolve as never),
  );
  clearInterval(sampler);
  child.send('counts');
  const shed = await new Promise((resolve) => child.once('message', (m: { counts: unknown }) => resolve(m.counts)));
  for (const s of held) s.destroy();
  child.kill();
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  return {
    mode,
    connections: n,
    maxFds,
    baseFds,
    healthzOk: lat.length,
    healthzFailed: failed,
    latencyP50Ms: quantile(lat, 0.5),
    latencyMaxMs: lat.at(-1) ?? NaN,
    shed,
  };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 15000);
  const results: ModeResult[] = [];
  for (const mode of ['bounded', 'unbounded'] as const) results.push(await run(mode, n));
  const out = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'api-flood.json'), JSON.stringify(results, null, 2) + '\n');
  console.log('| mode | half-open connections | API fds (idle → max) | /healthz ok / failed | latency p50 / max ms |');
  console.log('|---|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.mode} | ${r.connections} | ${r.baseFds} → ${r.maxFds} | ${r.healthzOk} / ${r.healthzFailed} | ` +
        `${r.latencyP50Ms.toFixed(1)} / ${r.latencyMaxMs.toFixed(1)} |`,
    );
}

/** /healthz every 50 ms until told to stop; sends back the latencies and the failures. */
async function probeLoop(port: number): Promise<void> {
  const lat: number[] = [];
  let failed = 0;
  let stop = false;
  process.on('message', () => {
    stop = true;
  });
  process.send!('ready');
  while (!stop) {
    const ms = await healthz(port);
    if (ms === undefined) failed++;
    else lat.push(ms);
    await sleep(50);
  }
  process.send!({ lat, failed }, () => process.exit(0));
}

if (process.argv[2] === 'serve') void serve(Number(process.argv[3]), process.argv[4]!);
else if (process.argv[2] === 'probe') void probeLoop(Number(process.argv[3]));
else await main();
