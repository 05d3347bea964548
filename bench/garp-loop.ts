/**
 * How long a gratuitous-ARP burst blocks the event loop (issue 15 item 5): 40 VIPs, each
 * announced `garp_master_repeat` (5) times, as a takeover does. Two ways to send the frames:
 * - kept:      one AF_PACKET socket per interface, opened once (what floatd does now);
 * - per-frame: a socket opened and closed around every frame (what floatd did before);
 * - announce:  announceAddress() per VIP and repeat, as the runtime calls it (kept socket, MAC
 *              read through it, frames cached).
 * Inside a network namespace made for the run (a veth pair, 198.51.100.0/24 VIPs). Reported:
 * the synchronous time of each burst, and the event loop's delay (monitorEventLoopDelay) seen
 * by a 10 ms timer while bursts run every 200 ms.
 *
 * Usage (root): node dist/bench/garp-loop.js [bursts=20] [vips=40] → markdown + bench/results/garp-loop.json
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildGratuitousArp } from '../src/net/frames.js';
import { announceAddress } from '../src/net/garp.js';
import { native } from '../src/native/addon.js';
import { quantile, sleep } from './stats.js';

const REPEAT = 5;

interface ModeResult {
  mode: string;
  burstMsP50: number;
  burstMsMax: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  frames: number;
}

type Mode = 'kept' | 'per-frame' | 'announce';

async function child(mode: Mode, ifname: string, bursts: number, vips: number): Promise<ModeResult> {
  const n = native();
  const kept = n.packetOpen(ifname);
  const mac = n.packetInfo(kept).mac;
  const frames = Array.from({ length: vips }, (_, i) => buildGratuitousArp(mac, `198.51.100.${i + 1}`));
  const h = monitorEventLoopDelay({ resolution: 1 });
  const tick = setInterval(() => undefined, 10);
  const burstMs: number[] = [];
  let sent = 0;
  h.enable();
  for (let b = 0; b < bursts; b++) {
    const t0 = performance.now();
    for (let r = 0; r < REPEAT; r++) {
      for (const f of frames) {
        if (mode === 'kept') n.packetSend(kept, f);
        else if (mode === 'announce') announceAddress(ifname, `198.51.100.${frames.indexOf(f) + 1}`);
        else {
          const s = n.packetOpen(ifname);
          try {
            n.packetSend(s, f);
          } finally {
            n.packetClose(s);
          }
        }
        sent++;
      }
    }
    burstMs.push(performance.now() - t0);
    await sleep(200);
  }
  h.disable();
  clearInterval(tick);
  n.packetClose(kept);
  return {
    mode,
    burstMsP50: quantile(
      [...burstMs].sort((x, y) => x - y),
      0.5,
    ),
    burstMsMax: Math.max(...burstMs),
    loopDelayP99Ms: h.percentile(99) / 1e6,
    loopDelayMaxMs: h.max / 1e6,
    frames: sent,
  };
}

function sh(args: string[], allowFail = false): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0 && !allowFail) throw new Error(`${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

async function main(): Promise<void> {
  const [, self, a1, a2, a3, a4, a5] = process.argv;
  if (a1 === '--child') {
    const r = await child(a2 as Mode, a3!, Number(a4), Number(a5));
    process.stdout.write(JSON.stringify(r));
    return;
  }
  const bursts = Number(a1 ?? 20);
  const vips = Number(a2 ?? 40);
  const sfx = randomBytes(3).toString('hex');
  const ns = `fdgarp${sfx}`;
  const ifname = `fdga${sfx}`;
  const cleanup = (): void => {
    spawnSync('ip', ['netns', 'del', ns]);
  };
  process.on('exit', cleanup);
  try {
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', ns, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', `fdgb${sfx}`]);
    sh(['ip', '-n', ns, 'link', 'set', ifname, 'up']);
    sh(['ip', '-n', ns, 'link', 'set', `fdgb${sfx}`, 'up']);
    const results: ModeResult[] = [];
    for (const mode of ['per-frame', 'kept', 'announce'] as const) {
      const out = sh([
        'ip',
        'netns',
        'exec',
        ns,
        process.execPath,
        '--enable-source-maps',
        self!,
        '--child',
        mode,
        ifname,
        String(bursts),
        String(vips),
      ]);
      results.push(JSON.parse(out) as ModeResult);
    }
    const f = (x: number): string => x.toFixed(2);
    console.log(
      `| ${vips} VIPs × ${REPEAT} frames, ${bursts} bursts | burst p50 | burst max | loop delay p99 | loop delay max |`,
    );
    console.log('|---|---|---|---|---|');
    for (const r of results)
      console.log(
        `| ${r.mode} | ${f(r.burstMsP50)} ms | ${f(r.burstMsMax)} ms | ${f(r.loopDelayP99Ms)} ms | ` +
          `${f(r.loopDelayMaxMs)} ms |`,
      );
    const dir = join(fileURLToPath(new URL('../..', import.meta.url)), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'garp-loop.json'),
      JSON.stringify({ date: new Date().toISOString(), bursts, vips, repeat: REPEAT, results }, null, 2),
    );
  } finally {
    cleanup();
  }
}

await main();
