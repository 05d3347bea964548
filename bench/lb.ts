/**
 * Load balancing throughput: wrk from the client host through floatd's nftables LB (LVS-NAT,
 * rr) and through HAProxy (Debian's, TCP mode, roundrobin, on the same balancer host) to the
 * same three nginx real servers, same run, alternating; plus "routed": the client reaching
 * one real server through lb1 with no balancing (the forwarding floor). Both keep-alive and
 * a new connection per request (Connection: close). Then a real server failure: nginx
 * stopped under a 20 ms request probe; time to removal from rotation and requests lost.
 *
 *   node dist/bench/lb.js [seconds per run = 8] [runs per path = 2] [connections = 32]
 *
 * CPU per request, both modes: the whole machine's (from /proc/stat: wrk, nginx and the balancer
 * share it), the machine's softirq time (where the kernel forwards, NATs and runs the TCP stacks
 * of every namespace; this kernel samples it per tick, CONFIG_IRQ_TIME_ACCOUNTING off, and a
 * network namespace has no CPU account of its own), and HAProxy's own process time. The LB
 * host's cost is then estimated per path against `routed` (the same hosts and hops, no
 * balancing): nftables = its softirq − routed's; HAProxy = its process time + its softirq −
 * routed's (the extra TCP termination); the ratio is nftables ÷ HAProxy.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LbLab, LB_VIP, RS_IPS } from '../src/lab/lb-lab.js';
import { ClientProbe } from '../src/lab/client-probe.js';
import { REPO_ROOT } from '../src/lab/seed-lab.js';
import { median, sleep } from './stats.js';

const SECS = Number(process.argv[2] ?? 8);
const RUNS = Number(process.argv[3] ?? 2);
const CONNS = Number(process.argv[4] ?? 32);

const LVS = `
virtual_server ${LB_VIP} 80 {
  delay_loop 1
  lvs_sched rr
  protocol TCP
${RS_IPS.map(
  (ip) => `  real_server ${ip} 80 {
    TCP_CHECK {
      connect_timeout 0.5
      retry 1
      delay_before_retry 0.2
    }
  }`,
).join('\n')}
}
`;

function haproxyConf(dir: string): string {
  return `global
  daemon
  maxconn 4096
  pidfile ${dir}/haproxy.pid
defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind ${LB_VIP}:8081
  default_backend be
backend be
  balance roundrobin
${RS_IPS.map((ip, i) => `  server rs${i + 1} ${ip}:80`).join('\n')}
`;
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** "1.23ms" → µs. */
function us(s: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(s.trim());
  if (!m) return NaN;
  return Math.round(Number(m[1]) * (m[2] === 'us' ? 1 : m[2] === 'ms' ? 1000 : 1_000_000));
}

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = us(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = us(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + non2xx;
  return { rps, p50, p99, errors };
}

/** Busy, softirq and total jiffies of the whole machine. */
function cpuNow(): { busy: number; softirq: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, softirq: f[6]!, total };
}

type Mode = 'keepalive' | 'close';
interface Row {
  keepalive: WrkResult[];
  close: WrkResult[];
  /** µs per request, per mode: whole machine, softirq, HAProxy's process. */
  cpu: Record<Mode, { machine: number[]; softirq: number[]; haproxy: number[] }>;
}
const newRow = (): Row => ({
  keepalive: [],
  close: [],
  cpu: {
    keepalive: { machine: [], softirq: [], haproxy: [] },
    close: { machine: [], softirq: [], haproxy: [] },
  },
});

function procCpu(lab: LbLab, pid: string): number {
  const f = lab.lab
    .exec('lb1', ['cat', `/proc/${pid}/stat`])
    .split(') ')[1]!
    .split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function main(): Promise<void> {
  const lab = new LbLab();
  const rows: Record<string, Row> = {};
  try {
    lab.writeConfig('lb1', LVS);
    lab.startFloatd('lb1');
    await lab.waitFor('lb1 holds the VIP', () => lab.holdsVip('lb1'), 15_000);
    await lab.waitFor('rules', () => lab.ruleset('lb1').includes('numgen inc mod 3'), 5000);
    writeFileSync(join(lab.dir('lb1'), 'haproxy.cfg'), haproxyConf(lab.dir('lb1')));
    lab.lab.exec('lb1', ['haproxy', '-f', join(lab.dir('lb1'), 'haproxy.cfg')]);
    await sleep(300);
    const hpid = readFileSync(join(lab.dir('lb1'), 'haproxy.pid'), 'utf8')
      .trim()
      .split('\n')[0]!;
    lab.lab.exec('client', ['ip', 'route', 'add', '203.0.113.0/24', 'via', lab.lab.host('lb1').ip]);
    const paths: Record<string, string> = {
      nftables: `http://${LB_VIP}/`,
      haproxy: `http://${LB_VIP}:8081/`,
      routed: `http://${RS_IPS[0]}/`,
    };
    const hz = 100;
    for (let run = 0; run < RUNS; run++) {
      for (const [name, url] of Object.entries(paths)) {
        const row = (rows[name] ??= newRow());
        for (const mode of ['keepalive', 'close'] as const) {
          const c0 = cpuNow();
          const h0 = procCpu(lab, hpid);
          const out = lab.lab.exec(
            'client',
            [
              'wrk',
              '-t2',
              `-c${CONNS}`,
              `-d${SECS}s`,
              '--latency',
              ...(mode === 'close' ? ['-H', 'Connection: close'] : []),
              url,
            ],
            true,
          );
          const c1 = cpuNow();
          const h1 = procCpu(lab, hpid);
          const r = parseWrk(out);
          row[mode].push(r);
          const reqs = r.rps * SECS;
          // jiffies are 1/hz s; CPU over the run divided by the requests served.
          const per = (j: number): number => ((j / hz) * 1e6) / reqs;
          row.cpu[mode].machine.push(per(c1.busy - c0.busy));
          row.cpu[mode].softirq.push(per(c1.softirq - c0.softirq));
          row.cpu[mode].haproxy.push(per(h1 - h0));
          console.error(
            `${name} ${mode} run ${run + 1}: ${r.rps.toFixed(0)} req/s, ` +
              `p50 ${r.p50} µs, p99 ${r.p99} µs, errors ${r.errors}`,
          );
        }
      }
    }
    // A real server fails under a 20 ms probe.
    const probe = new ClientProbe(lab.lab, 'client', `http://${LB_VIP}/`, 20, 1000);
    await sleep(2000);
    const stopAt = Date.now();
    lab.nginx('rs1', false);
    await lab.waitFor('rs1 out', () => lab.ruleset('lb1').includes('numgen inc mod 2 map'), 10_000);
    const removalMs = Date.now() - stopAt;
    await sleep(3000);
    probe.stop();
    const lost = probe.lost(stopAt, stopAt + 3000 + removalMs);
    const failed = probe
      .records()
      .filter((r) => r.sent >= stopAt && r.recv === undefined)
      .map((r) => r.sent - stopAt);
    const lastFailMs = failed.length ? Math.max(...failed) : 0;
    const sent = probe.records().filter((r) => r.sent >= stopAt && r.sent < stopAt + 3000 + removalMs).length;
    lab.nginx('rs1', true);

    const med = (xs: WrkResult[], k: keyof WrkResult): number => median(xs.map((x) => x[k]));
    const ka = (n: string): WrkResult[] => rows[n]!.keepalive;
    const cl = (n: string): WrkResult[] => rows[n]!.close;
    const cpu = (n: string, m: Mode, k: 'machine' | 'softirq' | 'haproxy'): number => median(rows[n]!.cpu[m][k]);
    const lbHost = (m: Mode): { nft: number; hap: number } => ({
      nft: cpu('nftables', m, 'softirq') - cpu('routed', m, 'softirq'),
      hap: cpu('haproxy', m, 'haproxy') + cpu('haproxy', m, 'softirq') - cpu('routed', m, 'softirq'),
    });
    const f1 = (x: number): string => x.toFixed(1);
    const lines = [
      '| path | keep-alive req/s | p50 | p99 | new conn per request req/s | p50 | p99 |',
      '|---|---|---|---|---|---|---|',
      ...Object.keys(paths).map(
        (n) =>
          `| ${n} | ${med(ka(n), 'rps').toFixed(0)} | ${med(ka(n), 'p50')} µs | ${med(ka(n), 'p99')} µs | ` +
          `${med(cl(n), 'rps').toFixed(0)} | ${med(cl(n), 'p50')} µs | ${med(cl(n), 'p99')} µs |`,
      ),
      '',
      '| path | mode | machine CPU µs/req | softirq µs/req | HAProxy process µs/req |',
      '|---|---|---|---|---|',
      ...Object.keys(paths).flatMap((n) =>
        (['keepalive', 'close'] as const).map(
          (m) =>
            `| ${n} | ${m === 'close' ? 'new connection' : 'keep-alive'} | ${f1(cpu(n, m, 'machine'))} | ` +
            `${f1(cpu(n, m, 'softirq'))} | ${n === 'haproxy' ? f1(cpu(n, m, 'haproxy')) : '–'} |`,
        ),
      ),
      '',
      ...(['keepalive', 'close'] as const).map((m) => {
        const h = lbHost(m);
        return (
          `LB host CPU per request (${m === 'close' ? 'new connection' : 'keep-alive'}, estimated against routed): ` +
          `nftables ${f1(h.nft)} µs, HAProxy ${f1(h.hap)} µs, ratio ${(h.nft / h.hap).toFixed(2)}`
        );
      }),
      '',
      'ratios nftables ÷ HAProxy: keep-alive req/s ' +
        `${(med(ka('nftables'), 'rps') / med(ka('haproxy'), 'rps')).toFixed(2)}, p99 ` +
        `${(med(ka('nftables'), 'p99') / med(ka('haproxy'), 'p99')).toFixed(2)}; ` +
        `new-connection req/s ${(med(cl('nftables'), 'rps') / med(cl('haproxy'), 'rps')).toFixed(2)}, p99 ` +
        `${(med(cl('nftables'), 'p99') / med(cl('haproxy'), 'p99')).toFixed(2)}`,
      `errors (all runs): ${Object.entries(rows)
        .map(([n, r]) => `${n} ${[...r.keepalive, ...r.close].reduce((a, x) => a + x.errors, 0)}`)
        .join(', ')}`,
      '',
      'real server failure (nginx stopped on rs1, probe every 20 ms): ' +
        `out of rotation after ${removalMs.toFixed(0)} ms; ${lost} of ${sent} requests lost, ` +
        `the last one sent ${lastFailMs} ms after the stop`,
    ];
    console.log(lines.join('\n'));
    mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
    writeFileSync(
      join(REPO_ROOT, 'bench/results/lb.json'),
      JSON.stringify(
        { secs: SECS, runs: RUNS, conns: CONNS, rows, failure: { removalMs, lost, sent, lastFailMs } },
        null,
        2,
      ),
    );
  } finally {
    lab.destroy();
  }
}

await main();
