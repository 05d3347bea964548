/**
 * Packet fuzzer (issue 15, "Tests that keep them fixed"): the seed pair in a lab (lb1 MASTER,
 * lb2 BACKUP, floatd on both) and, from the lab's client host, N mutated and random IPv4
 * proto-112 packets at the MASTER's address, through a small python3 raw-socket sender
 * (IP_HDRINCL) at a bounded rate. Mutations start from a valid seed advert (encodeAdvert +
 * buildIpv4Packet): bit flips, truncation, extension, version/type/vrid/priority/count/interval/
 * ttl/auth/checksum changes (half of them with the checksum fixed up, so the later checks are
 * reached), and fully random payloads.
 *
 * Checks, during and after: (1) lb1 stays MASTER and lb2 BACKUP (status API, polled every
 * 250 ms; becameMaster/releasedMaster unchanged); (2) lb1's VmRSS at start, max, end; (3) lb1's
 * adverts captured on lb2 (dumpcap): max gap vs the 1 s advert_int, and advertsSent over time;
 * (4) every packet that reached lb1 (an nftables counter on lb1's input hook) lands in a drop
 * counter: Σ counters.dropped (unknown_vrid included) over the run / reached.
 *
 * Usage (root): node dist/bench/packet-fuzz.js [N=1000000] [pps=8000] [seed=1]
 *   → JSON summary on stdout + bench/results/packet-fuzz.json; exit 1 when a check fails.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SeedLab, REPO_ROOT, SEED_VIP, type Server } from '../src/lab/seed-lab.js';
import { fetchStatus } from '../src/cli/status.js';
import type { DaemonStatus } from '../src/model/status-types.js';
import { buildIpv4Packet, computeChecksum, encodeAdvert, type Advert } from '../src/vrrp/packet.js';
import { sleep } from './stats.js';

const ADVERT_S = 1;

/** xorshift32: the same packets for the same seed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const KINDS = [
  'bitflip',
  'truncate',
  'extend',
  'version',
  'type',
  'vrid',
  'priority',
  'count',
  'interval',
  'ttl',
  'authtype',
  'authdata',
  'checksum',
  'random',
] as const;
type Kind = (typeof KINDS)[number];

/** One fuzzed IPv4 packet (header included) from `src` to `dst`. */
function mutate(rnd: () => number, seed: Advert, src: string, dst: string, kinds: Record<string, number>): Buffer {
  const kind: Kind = KINDS[rnd() % KINDS.length]!;
  kinds[kind] = (kinds[kind] ?? 0) + 1;
  const byte = (): number => rnd() & 0xff;
  let p = encodeAdvert(seed, 4, { src, dst });
  let ttl = 255;
  let fix = (rnd() & 1) === 1; // recompute the VRRP checksum after the change
  switch (kind) {
    case 'bitflip':
      for (let i = 1 + (rnd() % 8); i > 0; i--) p[rnd() % p.length]! ^= 1 << (rnd() % 8);
      break;
    case 'truncate':
      p = p.subarray(0, rnd() % p.length);
      fix = false;
      break;
    case 'extend':
      p = Buffer.concat([p, Buffer.from(Array.from({ length: 1 + (rnd() % 64) }, byte))]);
      break;
    case 'version':
      p[0] = ((rnd() % 16) << 4) | (p[0]! & 0x0f);
      break;
    case 'type':
      p[0] = (p[0]! & 0xf0) | (rnd() % 16);
      break;
    case 'vrid':
      p[1] = byte();
      break;
    case 'priority':
      p[2] = byte();
      break;
    case 'count':
      p[3] = byte();
      break;
    case 'interval':
      p[5] = byte();
      break;
    case 'ttl':
      ttl = rnd() % 255;
      fix = true;
      break;
    case 'authtype':
      p[4] = byte();
      break;
    case 'authdata':
      for (let i = 0; i < 8; i++) if (rnd() & 1) p[p.length - 8 + i] = byte();
      break;
    case 'checksum':
      p.writeUInt16BE(rnd() & 0xffff, 6);
      fix = false;
      break;
    case 'random':
      p = Buffer.from(Array.from({ length: rnd() % 100 }, byte));
      fix = false;
      break;
  }
  if (fix && p.length >= 8) {
    const v = p[0]! >> 4 === 3 ? 3 : 2;
    p.writeUInt16BE(computeChecksum(p, 4, v, src, dst), 6);
  }
  const ip = buildIpv4Packet(p, { src, dst, ttl, id: rnd() & 0xffff });
  if ((rnd() & 15) === 0) ip[1] = byte(); // TOS
  return ip;
}

/** Writes N length-prefixed packets to `file`; returns the count per mutation kind. */
function generate(file: string, n: number, seedNo: number, src: string, dst: string): Record<string, number> {
  const rnd = prng(seedNo);
  const seed: Advert = {
    version: 2,
    vrid: 33,
    priority: 100,
    addresses: [SEED_VIP],
    advertIntervalCs: 100,
    authType: 1,
    authData: Buffer.from('keepaliv'),
  };
  const kinds: Record<string, number> = {};
  const fd = openSync(file, 'w');
  try {
    let chunk: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const pkt = mutate(rnd, seed, src, dst, kinds);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(pkt.length);
      chunk.push(len, pkt);
      if (chunk.length >= 20_000) {
        writeSync(fd, Buffer.concat(chunk));
        chunk = [];
      }
    }
    if (chunk.length) writeSync(fd, Buffer.concat(chunk));
  } finally {
    closeSync(fd);
  }
  return kinds;
}

const SENDER = `import socket, struct, sys, time, json
path, dst, pps = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sent = err = 0
t0 = time.monotonic()
with open(path, 'rb') as f:
    while True:
        h = f.read(2)
        if len(h) < 2: break
        b = f.read(struct.unpack('>H', h)[0])
        try:
            s.sendto(b, (dst, 0)); sent += 1
        except OSError:
            err += 1
        k = sent + err
        if k % 100 == 0:
            ahead = k / pps - (time.monotonic() - t0)
            if ahead > 0: time.sleep(ahead)
print(json.dumps({"sent": sent, "errors": err, "seconds": time.monotonic() - t0}))
`;

function rssKb(lab: SeedLab, h: Server): number {
  const pid = readFileSync(join(lab.dir(h), 'floatd.pid'), 'utf8').trim();
  const m = /VmRSS:\s+(\d+)/.exec(lab.lab.exec(h, ['grep', 'VmRSS', `/proc/${pid}/status`]));
  return m ? Number(m[1]) : NaN;
}

const status = (lab: SeedLab, h: Server): Promise<DaemonStatus> =>
  fetchStatus({ socket: join(lab.dir(h), 'floatd.sock') });

function dropped(s: DaemonStatus): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of s.instances) for (const [r, n] of Object.entries(i.counters.dropped)) out[r] = (out[r] ?? 0) + n;
  return out;
}
const total = (d: Record<string, number>): number => Object.values(d).reduce((a, b) => a + b, 0);

/** Packets the kernel dropped at lb1's proto-112 raw sockets (receive buffer full): /proc/net/raw's last column. */
function rawSocketDrops(lab: SeedLab): number {
  return lab.lab
    .exec('lb1', ['cat', '/proc/net/raw'])
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(':0070'))
    .reduce((n, f) => n + Number(f[f.length - 1]), 0);
}

function nftReached(lab: SeedLab): number {
  const out = lab.lab.exec('lb1', ['nft', 'list', 'table', 'ip', 'pktfuzz']);
  const m = /counter packets (\d+)/.exec(out);
  return m ? Number(m[1]) : NaN;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 1_000_000);
  const pps = Number(process.argv[3] ?? 8000);
  const seedNo = Number(process.argv[4] ?? 1);
  const lab = new SeedLab();
  try {
    const master = lab.lab.host('lb1').ip;
    const client = lab.lab.host('client').ip;
    const peer = lab.lab.host('lb2').ip;
    lab.startFloatd('lb1');
    await lab.waitFor('lb1 holds the VIP', () => lab.holds('lb1'), 20_000);
    lab.startFloatd('lb2');
    await lab.waitFor('lb2 answers', () => existsSync(join(lab.dir('lb2'), 'floatd.sock')), 20_000);
    await sleep(3000);
    const s0 = await status(lab, 'lb1');
    const b0 = await status(lab, 'lb2');
    if (s0.instances[0]?.state !== 'MASTER' || b0.instances[0]?.state !== 'BACKUP') {
      throw new Error(`not MASTER/BACKUP at start: lb1 ${s0.instances[0]?.state}, lb2 ${b0.instances[0]?.state}`);
    }
    const t0g = performance.now();
    const file = join(lab.dir('client'), 'packets.bin');
    const kinds = generate(file, n, seedNo, client, master);
    const genS = (performance.now() - t0g) / 1000;
    writeFileSync(join(lab.dir('client'), 'send.py'), SENDER);
    lab.lab.exec('lb1', [
      'nft',
      `add table ip pktfuzz; add chain ip pktfuzz in { type filter hook input priority 0; };
      add rule ip pktfuzz in ip saddr ${client} ip protocol 112 counter`,
    ]);
    const pcap = join(lab.dir('lb2'), 'adverts.pcapng');
    const cap = lab.lab.spawn(
      'lb2',
      ['dumpcap', '-q', '-i', 'eth1', '-f', `ip proto 112 and src host ${master}`, '-w', pcap],
      'dumpcap.log',
    );
    await sleep(1500);
    const rss0 = rssKb(lab, 'lb1');
    const d0 = total(dropped(s0));
    const k0 = rawSocketDrops(lab);
    const rssSeries: number[] = [rss0];
    const sender = lab.lab.spawn(
      'client',
      ['python3', join(lab.dir('client'), 'send.py'), file, master, String(pps)],
      'sender.log',
    );
    const senderDone = new Promise<number | null>((r) => sender.once('exit', r));
    let done = false;
    void senderDone.then(() => {
      done = true;
    });
    const changes: string[] = [];
    let rssMax = rss0;
    let sentSeries: Array<[number, number]> = [];
    const t0 = performance.now();
    while (!done) {
      await sleep(250);
      const [a, b] = [await status(lab, 'lb1'), await status(lab, 'lb2')];
      const i = a.instances[0]!;
      if (i.state !== 'MASTER' || i.counters.becameMaster !== s0.instances[0]!.counters.becameMaster) {
        changes.push(`${((performance.now() - t0) / 1000).toFixed(1)} s lb1 ${i.state} (${i.lastReason})`);
      }
      const at = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
      if (b.instances[0]!.state !== 'BACKUP') changes.push(`${at} lb2 ${b.instances[0]!.state}`);
      sentSeries.push([performance.now(), i.counters.advertsSent]);
      if (sentSeries.length % 20 === 0) {
        const r = rssKb(lab, 'lb1');
        rssSeries.push(r);
        rssMax = Math.max(rssMax, r);
      }
    }
    await sleep(2000); // the last packets are read and counted
    const s1 = await status(lab, 'lb1');
    const rss1 = rssKb(lab, 'lb1');
    rssMax = Math.max(rssMax, rss1);
    const reached = nftReached(lab);
    const kernelDrops = rawSocketDrops(lab) - k0;
    rssSeries.push(rss1);
    const half = rssSeries.length >> 1;
    const lateGrowth = rss1 - Math.max(...rssSeries.slice(0, Math.max(1, half)));
    cap.kill('SIGINT');
    await new Promise((r) => cap.once('exit', r));
    const times = lab.lab
      .exec('lb2', ['tshark', '-r', pcap, '-T', 'fields', '-e', 'frame.time_epoch'])
      .split('\n')
      .filter(Boolean)
      .map((t) => Number(t) * 1000);
    const gaps = times.slice(1).map((t, k) => t - times[k]!);
    // advertsSent over time: the longest stretch without an increment (250 ms resolution).
    let statusGap = 0;
    let last = sentSeries[0]!;
    for (const p of sentSeries)
      if (p[1] !== last[1]) {
        statusGap = Math.max(statusGap, p[0] - last[0]);
        last = p;
      }
    sentSeries = [];
    const senderLine = readFileSync(join(lab.lab.dir, 'sender.log'), 'utf8').trim().split('\n').pop() ?? '{}';
    const senderOut = JSON.parse(senderLine) as { sent?: number; errors?: number; seconds?: number };
    const d1 = dropped(s1);
    const droppedDelta = total(d1) - d0;
    const before = dropped(s0);
    const byReason = Object.fromEntries(
      Object.entries(d1)
        .map(([r, v]) => [r, v - (before[r] ?? 0)])
        .filter(([, v]) => v !== 0),
    );
    const maxGapMs = gaps.length ? Math.max(...gaps) : NaN;
    const summary = {
      date: new Date().toISOString(),
      packets: n,
      pps,
      seed: seedNo,
      generateS: +genS.toFixed(1),
      sender: senderOut,
      reachedHost: reached,
      mutations: kinds,
      stateChanges: changes,
      masterStayedMaster: changes.length === 0 && s1.instances[0]!.state === 'MASTER',
      rssKb: {
        start: rss0,
        max: rssMax,
        end: rss1,
        growthKb: rss1 - rss0,
        secondHalfGrowthKb: lateGrowth,
        everyFiveS: rssSeries,
      },
      cadence: {
        advertS: ADVERT_S,
        captured: times.length,
        maxGapMs: +maxGapMs.toFixed(1),
        statusMaxGapMs: +statusGap.toFixed(0),
        advertsSent: s1.instances[0]!.counters.advertsSent - s0.instances[0]!.counters.advertsSent,
      },
      drops: {
        total: droppedDelta,
        byReason,
        ratioToReached: +(droppedDelta / reached).toFixed(6),
        kernelRcvbufDrops: kernelDrops,
        accountedRatio: +((droppedDelta + kernelDrops) / reached).toFixed(6),
        advertsReceived: s1.instances[0]!.counters.advertsReceived - s0.instances[0]!.counters.advertsReceived,
      },
      peer,
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'bench/results/packet-fuzz.json'), JSON.stringify(summary, null, 2) + '\n');
    const ok = summary.masterStayedMaster && droppedDelta + kernelDrops === reached && maxGapMs < ADVERT_S * 1000 * 1.5;
    if (!ok) {
      process.stderr.write('packet-fuzz: a check failed (see the summary)\n');
      process.exitCode = 1;
    }
  } finally {
    lab.destroy();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
