/**
 * Lab: floatd's trackers on real kernels and real nginx. Two hosts, each its own network and
 * PID namespace (TEST-NET 198.51.100.0/24) running nginx. A tracker agent inside lb1 runs the
 * seed's `pidof nginx` check, an HTTP check at 100 ms, track_process by /proc polling (which
 * works inside a PID namespace, where keepalived's proc connector sees nothing), and a TCP check
 * of lb2's nginx across the lab network. Stopping and starting nginx moves the aggregate.
 * Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Lab, nginxConf } from '../../src/lab/netns-lab.js';
import type { TrackingConfig } from '../../src/track/types.js';
import { US_PER_MS as MS } from '../../src/util/clock.js';

function netnsWorks(): boolean {
  const name = `fdprobe${process.pid}`;
  const ok = spawnSync('ip', ['netns', 'add', name]).status === 0;
  spawnSync('ip', ['netns', 'del', name]);
  return ok;
}
const missing = ['nginx', 'nsenter', 'unshare', 'pidof'].filter((b) => spawnSync('which', [b]).status !== 0);
const skip =
  process.getuid?.() !== 0
    ? 'needs root and network namespaces'
    : missing.length
      ? `missing ${missing.join(', ')} (run scripts/setup.sh)`
      : !netnsWorks()
        ? 'needs network namespaces (ip netns add failed)'
        : false;

const isTs = import.meta.url.endsWith('.ts');
// nsenter starts the agent in /, so the tsx loader is named by its absolute URL.
const modUrl = new URL(`../../src/track/tracker-set.${isTs ? 'ts' : 'js'}`, import.meta.url).href;

/** Runs a TrackerSet from the JSON config in argv[2]; prints every change as a JSON line. */
const AGENT = `
const { TrackerSet } = await import(process.env.M_TRACK);
const cfg = JSON.parse(process.argv[2]);
const set = new TrackerSet(cfg, {
  onChange: (instance, c) => process.stdout.write(JSON.stringify({ instance, ...c }) + '\\n'),
});
process.stdout.write(JSON.stringify({ start: set.aggregate('VI_1') }) + '\\n');
await set.start();
process.stdin.on('end', () => void set.stop().then(() => process.exit(0)));
process.stdin.resume();
`;

interface Change {
  instance: string;
  priorityDelta: number;
  faults: string[];
  pendingInit: boolean;
  reason: string;
}

let lab: Lab;
let agent: ChildProcess;
const changes: Change[] = [];
const output: string[] = [];

function nginx(h: string, stop: boolean): void {
  lab.exec(h, ['nginx', '-c', join(lab.host(h).dir, 'nginx.conf'), ...(stop ? ['-s', 'stop'] : [])]);
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (cond()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}; agent output:\n${output.join('\n')}`);
}

const last = (): Change | undefined => changes.at(-1);

before(() => {
  if (skip) return;
  lab = new Lab({ hosts: ['lb1', 'lb2'], net: '198.51.100' });
  for (const h of ['lb1', 'lb2']) {
    const host = lab.host(h);
    mkdirSync(join(host.dir, 'www'), { recursive: true });
    mkdirSync(join(host.dir, 'tmp'), { recursive: true });
    writeFileSync(join(host.dir, 'www/health'), `ok from ${h}\n`);
    writeFileSync(join(host.dir, 'nginx.conf'), nginxConf(host));
    nginx(h, false);
  }
  const common = { weight: 0, reverse: false, rise: 1, fall: 1, initFail: false };
  const cfg: TrackingConfig = {
    checks: [
      { kind: 'script', name: 'chk_nginx', argv: ['pidof', 'nginx'], intervalUs: 200 * MS, ...common },
      {
        kind: 'http',
        name: 'chk_http',
        url: `http://${lab.host('lb1').ip}/health`,
        expectBody: 'ok from lb1',
        intervalUs: 100 * MS,
        timeoutUs: 300 * MS,
        ...common,
        rise: 2,
        fall: 2,
      },
      {
        kind: 'tcp',
        name: 'chk_peer',
        host: lab.host('lb2').ip,
        port: 80,
        intervalUs: 100 * MS,
        timeoutUs: 300 * MS,
        ...common,
      },
    ],
    files: [],
    processes: [{ name: 'nginx_procs', process: 'nginx', weight: 0, reverse: false, quorum: 1 }],
    processPollUs: 100 * MS,
    instances: [
      {
        name: 'VI_1',
        basePriority: 200,
        tracks: [
          { kind: 'script', name: 'chk_nginx', weight: 0, reverse: false },
          { kind: 'script', name: 'chk_http', weight: -50, reverse: false },
          { kind: 'script', name: 'chk_peer', weight: 10, reverse: false },
          { kind: 'process', name: 'nginx_procs', weight: 0, reverse: false },
        ],
      },
    ],
  };
  const agentFile = join(lab.dir, 'track-agent.mjs');
  writeFileSync(agentFile, AGENT);
  agent = lab.spawn(
    'lb1',
    [process.execPath, ...(isTs ? ['--import', import.meta.resolve('tsx')] : []), agentFile, JSON.stringify(cfg)],
    'agent.log',
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, M_TRACK: modUrl },
    },
  );
  createInterface({ input: agent.stderr! }).on('line', (line) => output.push(line));
  createInterface({ input: agent.stdout! }).on('line', (line) => {
    output.push(line);
    const j = JSON.parse(line) as Change | { start: unknown };
    if ('instance' in j) changes.push(j);
  });
});

after(() => {
  if (skip) return;
  agent?.stdin?.end();
  lab.destroy();
});

test('nginx up on both hosts: no fault, the peer check adds its weight', { skip, timeout: 20_000 }, async () => {
  await waitFor('the first results', () => last()?.pendingInit === false && last()?.priorityDelta === 10);
  assert.deepEqual(last()?.faults, []);
});

test(
  'nginx stopped on lb1: pidof and the process tracker fault, the HTTP check lowers the priority',
  { skip, timeout: 20_000 },
  async () => {
    const t0 = Date.now();
    nginx('lb1', true);
    const ms = await waitFor('both fault triggers', () =>
      ['chk_nginx', 'nginx_procs'].every((f) => last()?.faults.includes(f) ?? false),
    );
    await waitFor('the HTTP check after fall 2', () => last()?.priorityDelta === -40);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    assert.ok(ms < 1500);
    // lb2 still runs nginx, but in its own PID namespace: lb1's pidof must not see it.
    assert.ok(changes.some((c) => /chk_nginx failed \(exited with status 1\)/.test(c.reason)));
    assert.ok(changes.some((c) => /process nginx_procs quorum lost \(0 running, quorum 1\)/.test(c.reason)));
  },
);

test(
  'nginx stopped on lb2: the TCP check across the lab network drops its bonus',
  { skip, timeout: 20_000 },
  async () => {
    nginx('lb2', true);
    await waitFor('the peer check fails', () => last()?.priorityDelta === -50);
    assert.match(last()?.reason ?? '', /chk_peer failed \(connect ECONNREFUSED\)/);
  },
);

test('nginx back on both: everything recovers', { skip, timeout: 20_000 }, async () => {
  nginx('lb1', false);
  nginx('lb2', false);
  await waitFor('full recovery', () => last()?.faults.length === 0 && last()?.priorityDelta === 10);
});

const KEEPALIVED = '/usr/sbin/keepalived';

test(
  "for comparison: keepalived 2.2.7's track_process, in the same namespaces, cannot see nginx",
  { skip: skip || (!existsSync(KEEPALIVED) && 'keepalived not installed'), timeout: 20_000 },
  async () => {
    const host = lab.host('lb1');
    const conf = join(host.dir, 'keepalived.conf');
    writeFileSync(
      conf,
      `vrrp_track_process tp_nginx {
  process nginx
  weight 0
}
vrrp_instance VI_9 {
  state BACKUP
  interface eth1
  virtual_router_id 209
  priority 100
  virtual_ipaddress { 198.51.100.209/32 }
  track_process { tp_nginx }
}
`,
    );
    const log = join(lab.dir, 'keepalived.log');
    const ka = lab.spawn(
      'lb1',
      [KEEPALIVED, '-n', '-l', '-D', '-f', conf, '-p', join(host.dir, 'ka.pid'), '-r', join(host.dir, 'ka-vrrp.pid')],
      'keepalived.log',
    );
    try {
      const text = (): string => (existsSync(log) ? readFileSync(log, 'utf8') : '');
      await waitFor('keepalived to judge the process', () => /quorum not achieved|Quorum gained/.test(text()), 10_000);
      assert.match(text(), /Failed to set\/clear process event listen/);
      assert.match(text(), /\(VI_9\) entering FAULT state \(tracked process tp_nginx quorum not achieved\)/);
      // Meanwhile floatd's tracker, polling /proc in the same namespace, sees nginx running.
      assert.equal(last()?.faults.includes('nginx_procs'), false);
    } finally {
      ka.kill('SIGTERM');
    }
  },
);
