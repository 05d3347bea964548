/**
 * `floatd demo`: the seed tutorial, live, on this machine. Builds a lab (two nginx servers and
 * a client in network namespaces), runs the seed's keepalived.conf with floatd on both, runs the
 * seed's curl loop from the client, stops nginx on the MASTER and shows who answers, the
 * transitions with their reasons, notify_master, the measured gap and requests lost; then
 * restarts nginx and shows the fail-back. Cleans up on every exit, Ctrl-C included.
 */
import { spawnSync } from 'node:child_process';
import { SeedLab, SEED_VIP, type Server } from '../lab/seed-lab.js';
import { nativeAvailable } from '../native/addon.js';
import { delayUs, msToUs, realClock } from '../util/clock.js';

const REQUIRED: [string, string][] = [
  ['ip', 'iproute2'],
  ['nsenter', 'util-linux'],
  ['unshare', 'util-linux'],
  ['nginx', 'nginx-light'],
  ['curl', 'curl'],
  ['pidof', 'sysvinit-utils'],
];

export interface DemoOptions {
  loopMs?: number;
  out?: NodeJS.WritableStream;
}

interface Sample {
  t: number;
  who: string;
}

export async function runDemo(o: DemoOptions = {}): Promise<number> {
  const out = o.out ?? process.stdout;
  const say = (s: string): void => {
    out.write(s + '\n');
  };
  if (process.getuid?.() !== 0) {
    say('floatd demo builds network namespaces: run it as root.');
    return 1;
  }
  const missing = REQUIRED.filter(([bin]) => spawnSync('which', [bin]).status !== 0);
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => m[1]))].join(' ');
    say(`floatd demo needs: ${pkgs}\ninstall with: scripts/setup.sh   (or apt-get install ${pkgs})`);
    return 1;
  }
  if (!nativeAvailable()) {
    say('the native addon is not built: run scripts/build.sh');
    return 1;
  }

  const loopMs = o.loopMs ?? 50;
  say(`floatd demo — the seed tutorial on a lab: lb1 (MASTER, priority 200) and lb2 (BACKUP, 100), VIP ${SEED_VIP}`);
  say(
    'building the lab: 3 network namespaces, nginx on lb1 and lb2, ' +
      "floatd running the seed's keepalived.conf on both …",
  );
  const s = new SeedLab();
  const t0 = realClock.wallMs();
  const ts = (): string => `+${((realClock.wallMs() - t0) / 1000).toFixed(2)}s`.padStart(8);
  const samples: Sample[] = [];
  let stopLoop = false;
  const logPos: Record<Server, number> = { lb1: 0, lb2: 0 };
  const showLogs = (): void => {
    for (const h of ['lb1', 'lb2'] as const) {
      const text = s.log(h);
      const fresh = text.slice(logPos[h]);
      logPos[h] = text.length;
      for (const line of fresh.split('\n')) {
        if (/Entering|VRRP_Script|notify|added|removed|Stopping/.test(line))
          say(`${ts()}  [${h}] ${line.replace(/^\S+ \S+\s+/, '')}`);
      }
    }
  };
  let last = '';
  const loop = async (): Promise<void> => {
    while (!stopLoop) {
      const r = s.served(0.2);
      const who = /Droplet: (\w+)/.exec(r)?.[1] ?? 'no answer';
      samples.push({ t: realClock.wallMs(), who });
      if (who !== last) {
        say(`${ts()}  client: curl http://${SEED_VIP}/load.html → ${who === 'no answer' ? 'no answer' : r}`);
        last = who;
      }
      showLogs();
      await delayUs(realClock, msToUs(loopMs));
    }
  };
  const waitFor = async (cond: () => boolean, ms: number): Promise<boolean> => {
    const end = realClock.wallMs() + ms;
    while (realClock.wallMs() < end) {
      if (cond()) return true;
      await delayUs(realClock, msToUs(50));
    }
    return false;
  };
  try {
    s.startFloatd('lb1');
    s.startFloatd('lb2');
    const looping = loop();
    if (!(await waitFor(() => samples.at(-1)?.who === 'lb1', 15_000)))
      throw new Error('lb1 never became MASTER (see the logs above)');
    await delayUs(realClock, msToUs(2000));
    say(`${ts()}  >>> service nginx stop on lb1 (the seed's test)`);
    const stopAt = realClock.wallMs();
    s.stopNginx('lb1');
    if (!(await waitFor(() => samples.at(-1)?.who === 'lb2', 20_000))) throw new Error('lb2 never took over');
    const failover = measure(samples, stopAt, 'lb2');
    await delayUs(realClock, msToUs(1500));
    say(`${ts()}  >>> nginx back on lb1`);
    const backAt = realClock.wallMs();
    s.startNginx('lb1');
    if (!(await waitFor(() => samples.at(-1)?.who === 'lb1', 20_000))) throw new Error('lb1 never took the VIP back');
    const failback = measure(samples, backAt, 'lb1');
    stopLoop = true;
    await looping;
    showLogs();
    say('');
    say('| event | gap until served by the new holder | requests without an answer |');
    say('|---|---|---|');
    const lost = `${failover.lost} of ${failover.total} (every ${loopMs} ms)`;
    say(`| nginx stop on lb1 → lb2 serves | ${failover.gapMs} ms | ${lost} |`);
    say(`| nginx back on lb1 → lb1 serves | ${failback.gapMs} ms | ${failback.lost} of ${failback.total} |`);
    say(`notify_master on lb2: ${s.notifyLog('lb2').trim() || '(not run)'}`);
    return 0;
  } catch (e) {
    stopLoop = true;
    say(`demo failed: ${(e as Error).message}`);
    return 1;
  } finally {
    stopLoop = true;
    s.destroy();
    say('lab removed.');
  }
}

/** From `from` to the first answer by `to`, and the requests in between that got no answer. */
export function measure(
  samples: readonly Sample[],
  from: number,
  to: string,
): { gapMs: number; lost: number; total: number } {
  const after = samples.filter((x) => x.t >= from);
  const first = after.find((x) => x.who === to);
  const window = first ? after.filter((x) => x.t <= first.t) : after;
  return {
    gapMs: first ? first.t - from : NaN,
    lost: window.filter((x) => x.who === 'no answer').length,
    total: window.length,
  };
}
