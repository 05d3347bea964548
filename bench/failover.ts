/**
 * Failover gap on the lab, floatd pair vs keepalived pair, same configs (the seed's), same run.
 * Each run: both servers up, lb1 serving; wait a random phase of the 2 s check cycle; stop nginx
 * on lb1 (`nginx -s stop`, the seed's test); the client probe (GET /load.html through the VIP
 * every 20 ms, each request on its own connection, not waiting for the previous one) measures
 * the time to the first answer from lb2 and the requests without answer; then nginx returns on
 * lb1 and the fail-back (first answer from lb1 again) is measured the same way.
 * The switchover series replace `nginx -s stop` by SIGTERM on lb1's daemon (planned: a
 * priority-0 advert hands over) or SIGKILL (a crash: lb2 waits Master_Down_Interval), and the
 * fail-back by starting that daemon again.
 * Usage (root): node dist/bench/failover.js [runs=5] [modes=seed,fastest,sigterm,sigkill,sigterm-fast,sigkill-fast]
 *   → markdown table + bench/results/failover.json (FLOATD_BENCH_OUT names another file);
 *   FLOATD_BENCH_DAEMONS=floatd,floatd-ip,keepalived adds floatd forced onto `ip` children.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeedLab, REPO_ROOT, SEED_VIP } from '../src/lab/seed-lab.js';
import { ClientProbe } from '../src/lab/client-probe.js';
import { median, sleep } from './stats.js';

/** floatd-ip: floatd with FLOATD_NETLINK=0 (addresses, routes, link watch through `ip` children). */
type Daemon = 'floatd' | 'floatd-ip' | 'keepalived';
/** FLOATD_BENCH_DAEMONS picks who runs, e.g. floatd,floatd-ip,keepalived (default floatd,keepalived). */
const DAEMONS = (process.env.FLOATD_BENCH_DAEMONS ?? 'floatd,keepalived').split(',') as Daemon[];
/** FLOATD_CHECK_INTERVAL overrides floatd's check interval (e.g. 0.1, the tracking issue's setting). */
const FLOATD_CHECK = process.env.FLOATD_CHECK_INTERVAL ?? '0.05';

type Mode = 'seed' | 'fastest' | 'process-fast' | 'sigterm' | 'sigkill' | 'sigterm-fast' | 'sigkill-fast';
const MODES: Mode[] = ['seed', 'fastest', 'sigterm', 'sigkill', 'sigterm-fast', 'sigkill-fast'];
/** Not in the default series: run it by name. */
const EXTRA_MODES: Mode[] = ['process-fast'];
const LABELS: Record<Mode, string> = {
  seed: 'nginx stop, seed config (v2, advert 1 s, pidof every 2 s)',
  fastest: `nginx stop, fastest (v3 advert 0.1 s; floatd HTTP check ${FLOATD_CHECK} s, keepalived pidof 1 s)`,
  'process-fast': 'nginx stop, v3 advert 0.1 s; floatd track_process (pidfd), keepalived pidof 1 s',
  sigterm: 'SIGTERM on the MASTER, seed config (advert 1 s)',
  sigkill: 'SIGKILL on the MASTER, seed config (advert 1 s)',
  'sigterm-fast': 'SIGTERM on the MASTER, fastest (advert 0.1 s)',
  'sigkill-fast': 'SIGKILL on the MASTER, fastest (advert 0.1 s)',
};
const fastMode = (m: Mode): boolean => m === 'fastest' || m.endsWith('-fast');
/** floatd's check in a fast mode: the native HTTP check, or track_process (keepalived's proc
 * connector sees nothing in the lab's PID namespaces, so keepalived keeps `pidof`). */
function floatdCheck(mode: Mode): { def: string; track: string } {
  if (mode === 'process-fast') {
    return {
      def: 'vrrp_track_process chk_nginx {\n    process nginx\n    quorum 1\n    weight 0\n}',
      track: 'track_process {\n        chk_nginx\n    }',
    };
  }
  return {
    def:
      `vrrp_script chk_nginx {\n    http_get http://127.0.0.1/load.html\n    interval ${FLOATD_CHECK}\n` +
      `    timeout ${FLOATD_CHECK}\n}`,
    track: 'track_script {\n        chk_nginx\n    }',
  };
}
interface Run {
  daemon: Daemon;
  mode: Mode;
  gapMs: number;
  lost: number;
  phaseMs: number;
  failbackMs: number;
  failbackLost: number;
  vipAddMs?: number;
}

/**
 * floatd only: ms from lb2's "Entering MASTER STATE" log line to its "added <VIP>" line — the
 * data-plane step of the takeover, measured inside the daemon (less exposed to the machine's load
 * than the client's gap).
 */
function vipAddDelay(log: string, sinceMs: number): number | undefined {
  const lines = log.split('\n');
  const at = (l: string | undefined): number => Date.parse(l?.match(/^(\S+Z)/)?.[1] ?? '');
  const i = lines.findIndex((l) => /Entering MASTER STATE/.test(l) && at(l) >= sinceMs);
  const j = lines.findIndex((l, k) => k > i && /\[vip\.add /.test(l));
  if (i < 0 || j < 0) return undefined;
  const d = at(lines[j]) - at(lines[i]);
  return Number.isFinite(d) ? d : undefined;
}

/**
 * Each daemon at its fastest: VRRPv3 adverts every 0.1 s; floatd with its native HTTP check
 * every 0.05 s (its minimum), keepalived with `pidof` every 1 s (its minimum script interval).
 */
function fastest(daemon: Daemon, mode: Mode) {
  const c =
    daemon !== 'keepalived'
      ? floatdCheck(mode)
      : {
          def: 'vrrp_script chk_nginx {\n    script "pidof nginx"\n    interval 1\n}',
          track: 'track_script {\n        chk_nginx\n    }',
        };
  return (h: 'lb1' | 'lb2'): string => `${c.def}
vrrp_instance VI_1 {
    interface eth1
    state ${h === 'lb1' ? 'MASTER' : 'BACKUP'}
    priority ${h === 'lb1' ? 200 : 100}
    virtual_router_id 33
    version 3
    advert_int 0.1
    ${c.track}
    virtual_ipaddress {
        ${SEED_VIP}/24
    }
}
`;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(20);
  }
  return false;
}

/**
 * Signals lb1's daemon and returns its pids (in lb1's PID namespace). For SIGKILL keepalived's
 * parent, VRRP and checker processes all get it: a crash of the whole daemon.
 */
function signalLb1(s: SeedLab, daemon: Daemon, sig: 'TERM' | 'KILL'): string[] {
  const pidFiles =
    daemon !== 'keepalived' ? ['floatd.pid'] : sig === 'TERM' ? ['ka.pid'] : ['ka.pid', 'ka-vrrp.pid', 'ka-check.pid'];
  const pids = pidFiles
    .map((f) => join(s.dir('lb1'), f))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8').trim());
  s.lab.exec('lb1', ['kill', `-${sig}`, ...pids], true);
  return pids;
}

const alive = (s: SeedLab, pids: string[]): boolean =>
  pids.some((p) => s.lab.exec('lb1', ['sh', '-c', `kill -0 ${p} 2>/dev/null && echo y || true`]).trim() === 'y');

async function once(daemon: Daemon, mode: Mode): Promise<Run> {
  const s = new SeedLab(fastMode(mode) ? { configText: fastest(daemon, mode) } : {});
  const start = (h: 'lb1' | 'lb2'): void =>
    daemon === 'keepalived'
      ? s.startKeepalived(h)
      : s.startFloatd(h, daemon === 'floatd-ip' ? { FLOATD_NETLINK: '0' } : {});
  const signal = mode.startsWith('sigterm') ? 'TERM' : mode.startsWith('sigkill') ? 'KILL' : undefined;
  try {
    for (const h of ['lb1', 'lb2'] as const) start(h);
    if (!(await waitFor(() => /lb1/.test(s.served(0.2)), 20_000))) throw new Error(`${daemon}: lb1 never served`);
    await sleep(2500); // settle (second GARP burst etc.)
    const phaseMs = Math.floor(Math.random() * (fastMode(mode) ? 1000 : 2000));
    await sleep(phaseMs);
    // Requests every 20 ms, each on its own connection and not waiting for the previous one.
    const probe = new ClientProbe(s.lab, 'client', `http://${SEED_VIP}/load.html`, 20, 1000);
    try {
      await sleep(300);
      const t0 = Date.now();
      const pids = signal ? signalLb1(s, daemon, signal) : (s.stopNginx('lb1'), []);
      if (!(await waitFor(() => probe.firstAnswer(t0, /lb2/) !== undefined, 20_000)))
        throw new Error(`${daemon}: lb2 never served`);
      const a = probe.firstAnswer(t0, /lb2/)!;
      await sleep(fastMode(mode) ? 1000 : 3000);
      // Fail-back: nginx (or the daemon) returns on lb1, which preempts.
      if (signal && !(await waitFor(() => !alive(s, pids), 10_000)))
        throw new Error(`${daemon}: lb1's daemon did not exit after SIG${signal}`);
      const t1 = Date.now();
      if (signal) start('lb1');
      else s.startNginx('lb1');
      if (!(await waitFor(() => probe.firstAnswer(t1, /lb1/) !== undefined, 20_000)))
        throw new Error(`${daemon}: lb1 never served again`);
      const b = probe.firstAnswer(t1, /lb1/)!;
      await sleep(1200); // let requests sent before the fail-back answer time out and be counted
      const vipAddMs = daemon === 'keepalived' ? undefined : vipAddDelay(s.log('lb2'), t0);
      return {
        daemon,
        mode,
        ...(vipAddMs !== undefined ? { vipAddMs } : {}),
        gapMs: a.recv! - t0,
        lost: probe.lost(t0, a.sent),
        phaseMs,
        failbackMs: b.recv! - t1,
        failbackLost: probe.lost(t1, b.sent),
      };
    } finally {
      probe.stop();
    }
  } finally {
    s.destroy();
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const modes = (process.argv[3] ?? MODES.join(',')).split(',') as Mode[];
  const bad = modes.filter((m) => !MODES.includes(m) && !EXTRA_MODES.includes(m));
  if (bad.length) throw new Error(`unknown mode ${bad.join(', ')}: expected ${MODES.join(', ')}`);
  const all: Run[] = [];
  const failures: string[] = [];
  for (const mode of modes)
    for (let i = 0; i < runs; i++) {
      for (const d of DAEMONS) {
        let r: Run;
        try {
          r = await once(d, mode);
        } catch (e) {
          // a loaded machine can miss a start-up deadline: count it, keep the series
          failures.push(`${mode} ${d} run ${i + 1}: ${(e as Error).message}`);
          process.stderr.write(`${failures[failures.length - 1]}\n`);
          continue;
        }
        all.push(r);
        process.stderr.write(
          `${mode} ${d} run ${i + 1}: gap ${r.gapMs} ms, ${r.lost} requests without answer (stop at phase ` +
            `${r.phaseMs} ms); fail-back ${r.failbackMs} ms, ${r.failbackLost} lost\n`,
        );
      }
    }
  const pick = (d: Daemon, m: Mode) => all.filter((r) => r.daemon === d && r.mode === m);
  const stat = (rs: Run[]) => ({
    median: median(rs.map((r) => r.gapMs)),
    min: Math.min(...rs.map((r) => r.gapMs)),
    max: Math.max(...rs.map((r) => r.gapMs)),
    lost: median(rs.map((r) => r.lost)),
    failback: median(rs.map((r) => r.failbackMs)),
    failbackLost: median(rs.map((r) => r.failbackLost)),
    vipAdd: rs.some((r) => r.vipAddMs !== undefined)
      ? median(rs.flatMap((r) => (r.vipAddMs !== undefined ? [r.vipAddMs] : [])))
      : undefined,
  });
  process.stdout.write(
    `| event on lb1, the MASTER (n=${runs} each) | floatd ÷ keepalived | median gap to lb2's first answer | range | ` +
      "lost requests (median) | fail-back (median) | lost at fail-back | MASTER → VIP added (lb2's log, median) |\n" +
      '|---|---|---|---|---|---|---|---|\n',
  );
  const summary: Record<string, unknown> = {};
  const names: Record<Daemon, string> = {
    floatd: 'floatd',
    'floatd-ip': 'floatd with `ip` (FLOATD_NETLINK=0)',
    keepalived: 'keepalived 2.2.7',
  };
  for (const m of modes) {
    const st = Object.fromEntries(DAEMONS.map((d) => [d, stat(pick(d, m))]));
    summary[m] = st;
    const k = st.keepalived;
    for (const d of DAEMONS) {
      const x = st[d]!;
      const ratio = d !== 'keepalived' && k ? `**${(x.median / k.median).toFixed(2)}**` : '';
      const va = x.vipAdd !== undefined ? `${x.vipAdd} ms` : '–';
      process.stdout.write(
        `| ${LABELS[m]}: ${names[d]} | ${ratio} | ${x.median} ms | ${x.min}–${x.max} ms | ${x.lost} | ` +
          `${x.failback} ms | ${x.failbackLost} | ${va} |\n`,
      );
    }
  }
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  const out = process.env.FLOATD_BENCH_OUT ?? 'failover.json';
  writeFileSync(
    join(REPO_ROOT, 'bench/results', out),
    JSON.stringify({ date: new Date().toISOString(), daemons: DAEMONS, runs: all, failures, summary }, null, 2),
  );
  if (failures.length)
    process.stdout.write(
      `\n${failures.length} run(s) failed and are not counted:\n${failures.map((f) => `- ${f}`).join('\n')}\n`,
    );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
