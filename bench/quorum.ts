/**
 * Quorum mode on the lab (src/lab/quorum-lab.ts: a real 3-member etcd, two floatd hosts, VRRPv3
 * adverts every 0.2 s, ttl 2 with etcd's default timing). Measured from the test process, which
 * samples both hosts' addresses every ~50 ms (the client probe adds requests every 20 ms for the
 * switchover).
 * - crash: SIGKILL the holder → the peer has the VIP (ms).
 * - crash-ttl1: the same with a tuned etcd (--heartbeat-interval 50 --election-timeout 500, so its
 *   minimum lease TTL is 1 s) and `ttl 1` (renew 0.2, margin 0.3, no kernel lifetime).
 * - sigstop: SIGSTOP the holder → its VIP gone from its own interface (ms), → the peer has it (ms).
 *   sigstop-ttl1: the same at ttl 1 (tuned etcd; kernel_lifetime 0, so the fence guard removes it).
 * - sigterm: SIGTERM the holder → the peer has it (ms), requests without answer.
 * - partition: host↔host partition for 10 s, both reaching etcd; dual-holder seconds for floatd
 *   with quorum, floatd without, keepalived.
 * - etcd-cut: the holder cut from etcd (not from its peer) for 10 s: dual-holder seconds, fence (ms).
 * - jitter: advert send-time spacing of the MASTER (0.1 s adverts, FLOATD_JITTER_S=20 s captured by dumpcap on its own
 *   interface, so the stamps are send times), with the quorum block (the etcd client renewing every
 *   0.4 s on the same event loop: the MASTER holds the VIP before and after the capture, which at
 *   ttl 2 it can only do by renewing) and without it.
 * Usage (root): node dist/bench/quorum.js [runs=5] [modes=crash,crash-ttl1,sigstop,sigstop-ttl1,sigterm,
 *   partition,etcd-cut,jitter]
 *   → markdown + bench/results/quorum.json
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HolderSampler, QuorumLab, QUORUM_VIP, type QServer } from '../src/lab/quorum-lab.js';
import { REPO_ROOT } from '../src/lab/seed-lab.js';
import { ClientProbe } from '../src/lab/client-probe.js';
import { median, quantile, sleep } from './stats.js';

type Mode = 'crash' | 'crash-ttl1' | 'sigstop' | 'sigstop-ttl1' | 'sigterm' | 'partition' | 'etcd-cut' | 'jitter';
const runs = Number(process.argv[2] ?? 5);
const modes = (process.argv[3] ?? 'crash,crash-ttl1,sigstop,sigterm,partition,etcd-cut').split(',') as Mode[];
const JITTER_S = Number(process.env.FLOATD_JITTER_S ?? 20);
const out: Record<string, unknown> = { date: new Date().toISOString(), runs };

async function withLab<T>(
  opts: ConstructorParameters<typeof QuorumLab>[0],
  daemon: 'floatd' | 'keepalived',
  f: (q: QuorumLab) => Promise<T>,
): Promise<T> {
  const q = new QuorumLab(opts);
  try {
    await q.etcdReady();
    const start = (h: QServer): void => (daemon === 'floatd' ? q.startFloatd(h) : q.startKeepalived(h));
    start('lb1');
    await q.waitFor('lb1 holds', () => q.holds('lb1'), 15_000);
    start('lb2');
    await sleep(2000);
    return await f(q);
  } finally {
    q.destroy();
  }
}

const holderOf = (q: QuorumLab): { m: QServer; o: QServer } =>
  q.holds('lb1') ? { m: 'lb1', o: 'lb2' } : { m: 'lb2', o: 'lb1' };
async function restart(q: QuorumLab, h: QServer): Promise<void> {
  await q.waitFor(`${h} stopped`, () => !q.floatdRunning(h), 5000).catch(() => undefined);
  q.startFloatd(h);
  await sleep(2500);
}
const fmt = (xs: number[]): string => `median ${median(xs)} (${xs.join(', ')})`;

async function crash(ttl1 = false): Promise<void> {
  const takeover: number[] = [];
  let dual = 0;
  const opts = ttl1 ? { ttl: 1, tunedEtcd: true } : {};
  await withLab(opts, 'floatd', async (q) => {
    for (let i = 0; i < runs; i++) {
      const { m, o } = holderOf(q);
      const s = new HolderSampler(q);
      await sleep(Math.random() * (ttl1 ? 200 : 400)); // a random phase of the renewal cycle
      q.signalFloatd(m, 'KILL');
      takeover.push(await q.waitFor(`${o} takes over`, () => q.holds(o), 10_000));
      await sleep(500); // sample on after the takeover: a killed holder's address would still be on its interface
      dual += (await s.stop()).dual();
      await restart(q, m);
    }
  });
  out[ttl1 ? 'crashTtl1' : 'crash'] = { takeoverMs: takeover, dualSamples: dual };
  const label = ttl1 ? 'ttl 1, tuned etcd (election 500 ms)' : 'ttl 2, etcd defaults';
  console.log(`| crash (SIGKILL holder) → peer holds, ${label}, ms | ${fmt(takeover)} | dual samples ${dual} |`);
}

async function sigstop(ttl1 = false): Promise<void> {
  const gone: number[] = [];
  const takeover: number[] = [];
  let dual = 0;
  await withLab(ttl1 ? { ttl: 1, tunedEtcd: true } : {}, 'floatd', async (q) => {
    for (let i = 0; i < runs; i++) {
      const { m, o } = holderOf(q);
      const s = new HolderSampler(q);
      await sleep(Math.random() * (ttl1 ? 200 : 400));
      q.signalFloatd(m, 'STOP');
      const t0 = Date.now();
      gone.push(await q.waitFor(`${m}'s VIP leaves`, () => !q.holds(m), 5000));
      await q.waitFor(`${o} takes over`, () => q.holds(o), 10_000);
      takeover.push(Date.now() - t0);
      await sleep(Math.max(0, 5000 - (Date.now() - t0)));
      q.signalFloatd(m, 'CONT');
      await sleep(3000);
      dual += (await s.stop()).dual();
    }
  });
  out[ttl1 ? 'sigstopTtl1' : 'sigstop'] = { vipGoneMs: gone, takeoverMs: takeover, dualSamples: dual };
  const label = ttl1 ? ' (ttl 1, tuned etcd: the fence guard removes it)' : '';
  console.log(`| SIGSTOP holder → its VIP gone from its interface${label}, ms | ${fmt(gone)} | dual samples ${dual} |`);
  console.log(`| SIGSTOP holder → peer holds${label}, ms | ${fmt(takeover)} | |`);
}

async function sigterm(): Promise<void> {
  const takeover: number[] = [];
  const lost: number[] = [];
  let dual = 0;
  await withLab({}, 'floatd', async (q) => {
    for (let i = 0; i < runs; i++) {
      const { m, o } = holderOf(q);
      // 3 s timeout: a SYN sent into the hand-over gap is retransmitted after 1 s (delayed, not lost).
      const probe = new ClientProbe(q.lab, 'client', `http://${QUORUM_VIP}/load.html`, 20, 3000);
      const s = new HolderSampler(q);
      await sleep(1000);
      const t0 = Date.now();
      q.signalFloatd(m, 'TERM');
      takeover.push(await q.waitFor(`${o} takes over`, () => q.holds(o), 10_000));
      await sleep(4000);
      probe.stop();
      lost.push(probe.records().filter((r) => r.sent >= t0 - 100 && r.sent < t0 + 2000 && r.recv === undefined).length);
      dual += (await s.stop()).dual();
      await restart(q, m);
    }
  });
  out.sigterm = { takeoverMs: takeover, lostRequests: lost, dualSamples: dual };
  console.log(
    `| SIGTERM holder → peer holds, ms | ${fmt(takeover)} | requests lost ${fmt(lost)}, dual samples ${dual} |`,
  );
}

async function partition(): Promise<void> {
  const res: Record<string, number> = {};
  for (const [label, opts, daemon] of [
    ['floatd quorum', {}, 'floatd'],
    ['floatd, no quorum', { quorum: false }, 'floatd'],
    ['keepalived 2.2.7', { quorum: false }, 'keepalived'],
  ] as const) {
    res[label] = await withLab(opts, daemon, async (q) => {
      const s = new HolderSampler(q);
      q.block('lb1', ['lb2']);
      q.block('lb2', ['lb1']);
      await sleep(10_000);
      q.block('lb1', []);
      q.block('lb2', []);
      await sleep(3000);
      await s.stop();
      console.error(`(${label}: ${s.samples.length} samples, every ${s.meanIntervalMs()} ms)`);
      return s.dualSeconds();
    });
    console.log(`| host↔host partition 10 s, dual-holder seconds: ${label} | ${res[label]} | |`);
  }
  out.partition = res;
}

async function etcdCut(): Promise<void> {
  const fence: number[] = [];
  let dual = 0;
  await withLab({}, 'floatd', async (q) => {
    for (let i = 0; i < Math.min(runs, 3); i++) {
      const { m, o } = holderOf(q);
      const s = new HolderSampler(q);
      q.cutFromEtcd(m, true);
      fence.push(await q.waitFor(`${m} fences`, () => !q.holds(m), 5000));
      await q.waitFor(`${o} takes over`, () => q.holds(o), 10_000);
      await sleep(8000);
      q.cutFromEtcd(m, false);
      await sleep(3000);
      dual += (await s.stop()).dual();
    }
  });
  out.etcdCut = { fenceMs: fence, dualSamples: dual };
  console.log(`| holder cut from etcd 10 s → it fences, ms | ${fmt(fence)} | dual samples ${dual} |`);
}

async function jitter(): Promise<void> {
  const res: Record<string, { adverts: number; p50Ms: number; p99Ms: number; maxMs: number }> = {};
  for (const [label, quorum] of [
    ['with quorum (etcd client running)', true],
    ['without quorum', false],
  ] as const) {
    res[label] = await withLab({ quorum, advertInt: 0.1 }, 'floatd', async (q) => {
      if (!q.holds('lb1')) throw new Error('lb1 is not the MASTER');
      const pcap = join(q.lab.host('lb1').dir, 'adverts.pcapng');
      const cap = q.lab.spawn(
        'lb1',
        [
          'dumpcap',
          '-q',
          '-i',
          'eth1',
          '-f',
          `ip proto 112 and src host ${q.lab.host('lb1').ip}`,
          '-a',
          `duration:${JITTER_S}`,
          '-w',
          pcap,
        ],
        'dumpcap.log',
      );
      const code = await new Promise<number | null>((resolve) => cap.once('exit', resolve));
      if (code !== 0) throw new Error(`dumpcap: ${readFileSync(join(q.lab.dir, 'dumpcap.log'), 'utf8')}`);
      // Still MASTER with its VIP: with quorum at ttl 2 that means it renewed all along the capture.
      if (!q.holds('lb1') || q.holds('lb2')) throw new Error('lb1 did not stay the only holder during the capture');
      const t = q.lab
        .exec('lb1', ['tshark', '-r', pcap, '-T', 'fields', '-e', 'frame.time_epoch'])
        .split('\n')
        .filter(Boolean)
        .map((x) => Number(x) * 1000);
      const dev = t
        .slice(1)
        .map((x, i) => Math.abs(x - t[i]! - 100))
        .sort((a, b) => a - b);
      return {
        adverts: t.length,
        p50Ms: quantile(dev, 0.5),
        p99Ms: quantile(dev, 0.99),
        maxMs: dev[dev.length - 1] ?? 0,
      };
    });
    const r = res[label]!;
    console.log(
      `| advert jitter at 0.1 s, ${label}: p50 / p99 / max, ms | ${r.p50Ms.toFixed(2)} / ${r.p99Ms.toFixed(2)} / ` +
        `${r.maxMs.toFixed(2)} | ${r.adverts} adverts |`,
    );
  }
  out.jitter = res;
}

console.log('| quorum lab (ttl 2, etcd defaults unless said, VRRPv3 advert 0.2 s) | value | notes |\n|---|---|---|');
for (const m of modes) {
  if (m === 'crash') await crash();
  else if (m === 'crash-ttl1') await crash(true);
  else if (m === 'sigstop') await sigstop();
  else if (m === 'sigstop-ttl1') await sigstop(true);
  else if (m === 'sigterm') await sigterm();
  else if (m === 'partition') await partition();
  else if (m === 'etcd-cut') await etcdCut();
  else if (m === 'jitter') await jitter();
}
mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench/results/quorum.json'), JSON.stringify(out, null, 2) + '\n');
