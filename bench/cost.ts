/**
 * What an idle daemon costs, and how steady its adverts are — floatd vs keepalived, same lab,
 * same config, same run.
 *
 * cost:   one lab host runs the daemon as MASTER of N instances (N = 1, 16, 255; multicast
 *         VRRPv3, one /32 VIP each from TEST-NET) at advert 1 s and 0.1 s. Once every VIP is
 *         up and a settle time has passed (30 s; FLOATD_BENCH_SETTLE_S), CPU (utime+stime from
 *         /proc, every process of the daemon) is measured over a window, and RSS (VmRSS, summed
 *         over the daemon's processes: keepalived's parent and VRRP child; floatd is one process)
 *         at its end.
 * jitter: one instance at 0.1 s adverts; dumpcap on the sending host timestamps each advert
 *         as it leaves; deviation = |gap between adverts − 100 ms|, p50 / p99 / max, idle and
 *         with one CPU-bound busy loop per core beside the daemon. Both daemons at their
 *         defaults, and floatd again with `vrrp_rt_priority 10` in global_defs.
 *
 * Usage (root): node dist/bench/cost.js [windowS=20] [parts=cost,jitter]
 *   → markdown tables + bench/results/cost.json
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../src/lab/netns-lab.js';
import { REPO_ROOT } from '../src/lab/seed-lab.js';
import { quantile, sleep } from './stats.js';

type Daemon = 'floatd' | 'keepalived';
const DAEMONS: Daemon[] = ['floatd', 'keepalived'];
const CLK_TCK = 100; // USER_HZ on Linux
const SETTLE_S = Number(process.env.FLOATD_BENCH_SETTLE_S ?? 30);

/** Instance i's VIP: 198.51.100.1–250, then 203.0.113.1–5 (TEST-NET only). */
const vip = (i: number): string => (i <= 250 ? `198.51.100.${i}` : `203.0.113.${i - 250}`);

function config(n: number, advertS: number, rt = false): string {
  let s = `global_defs {\n    router_id bench\n${rt ? '    vrrp_rt_priority 10\n' : ''}}\n`;
  for (let i = 1; i <= n; i++) {
    s +=
      `vrrp_instance VI_${i} {\n    interface eth1\n    state MASTER\n    priority 150\n` +
      `    virtual_router_id ${i}\n    version 3\n    advert_int ${advertS}\n    virtual_ipaddress {\n` +
      `        ${vip(i)}/32\n    }\n}\n`;
  }
  return s;
}

interface Running {
  lab: Lab;
  pidFiles: string[];
  procs: ChildProcess[];
}

/** One lab host, the daemon on it with `conf`; resolves once all `n` VIPs are on eth1. */
async function startDaemon(daemon: Daemon, conf: string, n: number): Promise<Running> {
  const lab = new Lab({ hosts: ['bench'] });
  try {
    const dir = lab.host('bench').dir;
    const file = join(dir, 'keepalived.conf');
    writeFileSync(file, conf);
    let pidFiles: string[];
    if (daemon === 'floatd') {
      pidFiles = [join(dir, 'floatd.pid')];
      const main = join(REPO_ROOT, 'dist/src/cli/main.js');
      // Info-level logs, as a packaged daemon would run; the API stays on (its default).
      lab.spawn('bench', [process.execPath, main, 'run', '-f', file, '-p', pidFiles[0]!], 'daemon.log', {
        env: { ...process.env, TMPDIR: dir, FLOATD_SOCKET: join(dir, 'floatd.sock') },
      });
    } else {
      pidFiles = [join(dir, 'ka.pid'), join(dir, 'ka-vrrp.pid')];
      // -P: the VRRP subsystem only (no checker process: nothing to check here).
      lab.spawn(
        'bench',
        ['keepalived', '-n', '-l', '-P', '-f', file, '-p', pidFiles[0]!, '-r', pidFiles[1]!],
        'daemon.log',
      );
    }
    const end = Date.now() + 120_000;
    while (Date.now() < end) {
      const up = lab.addresses('bench').filter((a) => /^(198\.51\.100|203\.0\.113)\./.test(a)).length;
      if (up >= n && pidFiles.every((f) => existsSync(f))) return { lab, pidFiles, procs: [] };
      await sleep(200);
    }
    throw new Error(
      `${daemon}: ${n} VIPs not up within 120 s\n` +
        `${readFileSync(join(lab.dir, 'daemon.log'), 'utf8').split('\n').slice(-15).join('\n')}`,
    );
  } catch (e) {
    lab.destroy();
    throw e;
  }
}

function pids(r: Running): string[] {
  return r.pidFiles.filter((f) => existsSync(f)).map((f) => readFileSync(f, 'utf8').trim());
}

/** CPU ticks (utime+stime) and RSS kB summed over the daemon's processes, read inside its PID namespace. */
function sample(r: Running): { ticks: number; rssKb: number } {
  const out = r.lab.exec('bench', [
    'sh',
    '-c',
    pids(r)
      .map((p) => `cat /proc/${p}/stat; grep VmRSS /proc/${p}/status`)
      .join('; '),
  ]);
  let ticks = 0;
  let rssKb = 0;
  for (const line of out.split('\n')) {
    const rss = /^VmRSS:\s+(\d+)/.exec(line);
    if (rss) {
      rssKb += Number(rss[1]);
      continue;
    }
    const close = line.lastIndexOf(')');
    if (close < 0) continue;
    const f = line.slice(close + 2).split(' '); // fields from 3 (state) on
    ticks += Number(f[11]) + Number(f[12]); // utime (14), stime (15)
  }
  return { ticks, rssKb };
}

interface CostRow {
  daemon: Daemon;
  instances: number;
  advertS: number;
  cpuPct: number;
  rssMb: number;
}

async function cost(daemon: Daemon, n: number, advertS: number, windowS: number): Promise<CostRow> {
  const r = await startDaemon(daemon, config(n, advertS), n);
  try {
    // Idle means steady state: past the startup GARP bursts, the JIT's work and the GCs that
    // follow start-up (the first 30 s cost an idle floatd about twice the steady figure).
    await sleep(SETTLE_S * 1000);
    const a = sample(r);
    const t0 = performance.now();
    await sleep(windowS * 1000);
    const b = sample(r);
    const secs = (performance.now() - t0) / 1000;
    return {
      daemon,
      instances: n,
      advertS,
      cpuPct: ((b.ticks - a.ticks) / CLK_TCK / secs) * 100,
      rssMb: b.rssKb / 1024,
    };
  } finally {
    r.lab.destroy();
  }
}

interface JitterRow {
  daemon: Daemon;
  rt: boolean;
  load: boolean;
  adverts: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function jitter(daemon: Daemon, rt: boolean, load: boolean, windowS: number): Promise<JitterRow> {
  const r = await startDaemon(daemon, config(1, 0.1, rt), 1);
  const busy: ChildProcess[] = [];
  try {
    // One busy loop per core, beside the daemon (same host, same scheduler).
    if (load)
      for (let i = 0; i < cpus().length; i++)
        busy.push(r.lab.spawn('bench', ['sh', '-c', 'while :; do :; done'], 'busy.log'));
    await sleep(2000);
    const pcap = join(r.lab.host('bench').dir, 'adverts.pcapng');
    const cap = r.lab.spawn(
      'bench',
      ['dumpcap', '-q', '-i', 'eth1', '-f', 'ip proto 112', '-a', `duration:${windowS}`, '-w', pcap],
      'dumpcap.log',
    );
    const code = await new Promise<number | null>((resolve) => cap.once('exit', resolve));
    if (code !== 0)
      throw new Error(`dumpcap exited with ${code}: ${readFileSync(join(r.lab.dir, 'dumpcap.log'), 'utf8').trim()}`);
    const times = r.lab
      .exec('bench', ['tshark', '-r', pcap, '-T', 'fields', '-e', 'frame.time_epoch'])
      .split('\n')
      .filter(Boolean)
      .map((t) => Number(t) * 1000);
    const dev = times
      .slice(1)
      .map((t, i) => Math.abs(t - times[i]! - 100))
      .sort((x, y) => x - y);
    if (dev.length < 10) throw new Error(`${daemon}: only ${times.length} adverts captured`);
    return {
      daemon,
      rt,
      load,
      adverts: times.length,
      p50Ms: quantile(dev, 0.5),
      p99Ms: quantile(dev, 0.99),
      maxMs: dev[dev.length - 1]!,
    };
  } finally {
    for (const b of busy) b.kill('SIGKILL');
    r.lab.destroy();
  }
}

const f1 = (x: number): string => x.toFixed(x < 1 ? 2 : 1);

async function main(): Promise<void> {
  const windowS = Number(process.argv[2] ?? 20);
  const parts = (process.argv[3] ?? 'cost,jitter').split(',');
  const costs: CostRow[] = [];
  const jitters: JitterRow[] = [];
  if (parts.includes('cost')) {
    for (const advertS of [1, 0.1])
      for (const n of [1, 16, 255])
        for (const d of DAEMONS) {
          const row = await cost(d, n, advertS, windowS);
          costs.push(row);
          process.stderr.write(
            `cost ${d} ${n} instances at ${advertS} s: ${f1(row.cpuPct)} % CPU, ${f1(row.rssMb)} MB RSS\n`,
          );
        }
    process.stdout.write(
      `\nIdle cost (MASTER of N instances, VRRPv3 multicast, one VIP each; CPU over ${windowS} s)\n\n`,
    );
    process.stdout.write(
      '| instances | advert | floatd CPU | keepalived CPU | CPU ratio | floatd RSS | keepalived RSS | RSS ratio |\n' +
        '|---|---|---|---|---|---|---|---|\n',
    );
    for (const advertS of [1, 0.1])
      for (const n of [1, 16, 255]) {
        const fl = costs.find((c) => c.daemon === 'floatd' && c.instances === n && c.advertS === advertS)!;
        const ka = costs.find((c) => c.daemon === 'keepalived' && c.instances === n && c.advertS === advertS)!;
        const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(1) : '–');
        process.stdout.write(
          `| ${n} | ${advertS} s | ${f1(fl.cpuPct)} % | ${f1(ka.cpuPct)} % | ${ratio(fl.cpuPct, ka.cpuPct)} | ` +
            `${f1(fl.rssMb)} MB | ${f1(ka.rssMb)} MB | ${ratio(fl.rssMb, ka.rssMb)} |\n`,
        );
      }
  }
  if (parts.includes('jitter')) {
    const variants: [Daemon, boolean][] = [
      ['floatd', false],
      ['floatd', true],
      ['keepalived', false],
    ];
    for (const load of [false, true])
      for (const [d, rt] of variants) {
        const row = await jitter(d, rt, load, windowS);
        jitters.push(row);
        process.stderr.write(
          `jitter ${d}${rt ? ' rt' : ''}${load ? ' under load' : ''}: p50 ${f1(row.p50Ms)} ms, p99 ` +
            `${f1(row.p99Ms)} ms, max ${f1(row.maxMs)} ms (${row.adverts} adverts)\n`,
        );
      }
    process.stdout.write(
      `\nAdvert interval jitter (1 instance, advert 0.1 s, ${windowS} s captured at the sender; ` +
        'deviation from 100 ms)\n\n',
    );
    process.stdout.write(
      '| daemon | CPU load beside it | adverts | p50 | p99 | max | p99 ratio |\n|---|---|---|---|---|---|---|\n',
    );
    for (const load of [false, true]) {
      const ka = jitters.find((j) => j.daemon === 'keepalived' && !j.rt && j.load === load)!;
      for (const [d, rt] of variants) {
        const j = jitters.find((x) => x.daemon === d && x.rt === rt && x.load === load)!;
        const ratio = d === 'floatd' && ka.p99Ms > 0 ? (j.p99Ms / ka.p99Ms).toFixed(2) : '';
        const name = d === 'keepalived' ? 'keepalived 2.2.7' : rt ? 'floatd, vrrp_rt_priority 10' : 'floatd';
        process.stdout.write(
          `| ${name} | ${load ? `${cpus().length} busy loops` : 'none'} | ${j.adverts} | ${f1(j.p50Ms)} ms | ` +
            `${f1(j.p99Ms)} ms | ${f1(j.maxMs)} ms | ${ratio} |\n`,
        );
      }
    }
  }
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(REPO_ROOT, 'bench/results/cost.json'),
    JSON.stringify({ date: new Date().toISOString(), windowS, cores: cpus().length, costs, jitters }, null, 2) + '\n',
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
