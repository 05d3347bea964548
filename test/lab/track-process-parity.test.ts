/**
 * Lab (issue 15 item 3): what the REAL keepalived (Debian's 2.2.7) does when a
 * `vrrp_track_process` loses its quorum, and floatd doing the same. One config, three
 * MASTER-only instances tracking one nginx: `chk_default` (no weight line), `chk_w0`
 * (`weight 0`) and `chk_w1` (`weight 1`, the control: a weighted tracker only lowers the
 * priority). nginx is stopped; each instance's state in floatd must equal keepalived's.
 *
 * keepalived's proc connector only delivers events in the initial network namespace (in a lab
 * netns it logs `Failed to set/clear process event listen - errno 111` and FAULTs at once, see
 * track-nginx.test.ts), so keepalived runs in the root namespaces on one end of a veth pair
 * (`fdk<run id>`, TEST-NET-3 /32 addresses, no subnet route) whose other end is in the lab host.
 * For keepalived (root PID namespace) to tell our nginx from everyone else's, nginx runs under
 * a per-run name (a symlink `ng<run id>`, which becomes its comm). floatd runs inside the lab
 * netns, in the root PID namespace too, and sees the same nginx by /proc polling. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, nginxConf } from '../../src/lab/netns-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { REPO_ROOT } from '../../src/lab/seed-lab.js';
import { pollUntil } from '../../src/lab/wait.js';

const KEEPALIVED = '/usr/sbin/keepalived';
const skip = labUnavailable(['nginx', 'nsenter', 'unshare']) ?? (!existsSync(KEEPALIVED) && 'keepalived not installed');
const isTs = import.meta.url.endsWith('.ts');
const INSTANCES = [
  { inst: 'VI_DEF', chk: 'chk_default', weight: '', vrid: 71 },
  { inst: 'VI_W0', chk: 'chk_w0', weight: 'weight 0', vrid: 72 },
  { inst: 'VI_W1', chk: 'chk_w1', weight: 'weight 1', vrid: 73 },
] as const;
type Daemon = 'keepalived' | 'floatd';

let lab: Lab;
let dir: string;
let rootIf: string;
let procName: string;
let ka: ChildProcess | undefined;
const stopKa = (): void => {
  try {
    ka?.kill('SIGTERM');
  } catch {
    /* gone */
  }
};

/** The test config; `net` is the /32 prefix of this daemon's addresses. */
function config(iface: string, net: string): string {
  const procs = INSTANCES.map(
    (i) => `vrrp_track_process ${i.chk} {\n    process ${procName}\n    quorum 1\n    ${i.weight}\n}\n`,
  );
  const insts = INSTANCES.map(
    (i, n) => `vrrp_instance ${i.inst} {
    interface ${iface}
    state MASTER
    priority 200
    virtual_router_id ${i.vrid}
    advert_int 1
    virtual_ipaddress {
        ${net}.${111 + n}/32
    }
    track_process {
        ${i.chk}
    }
}
`,
  );
  return [...procs, ...insts].join('');
}

const logOf = (d: Daemon): string => {
  const f = join(lab.dir, `${d}.log`);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
};
/** The last "Entering X STATE" of an instance, in either daemon's log. */
function state(d: Daemon, inst: string): string | undefined {
  const re = new RegExp(`\\(${inst}\\) Entering (\\w+) STATE`, 'g');
  return [...logOf(d).matchAll(re)].at(-1)?.[1];
}
const states = (d: Daemon): string[] => INSTANCES.map((i) => state(d, i.inst) ?? 'none');
const waitFor = (what: string, cond: () => boolean, ms: number): Promise<number> =>
  pollUntil(
    what,
    cond,
    ms,
    () =>
      `--- keepalived\n${logOf('keepalived').split('\n').slice(-15).join('\n')}\n--- floatd\n` +
      `${logOf('floatd').split('\n').slice(-15).join('\n')}`,
  );
const nginx = (stop: boolean): void => {
  const ns = lab.host('lb1').ns;
  const r = spawnSync('ip', [
    'netns',
    'exec',
    ns,
    join(dir, procName),
    '-c',
    join(dir, 'nginx.conf'),
    ...(stop ? ['-s', 'stop'] : []),
  ]);
  if (r.status !== 0) throw new Error(`nginx ${stop ? 'stop' : 'start'}: ${r.stderr}`);
};

before(() => {
  if (skip) return;
  lab = new Lab({ hosts: ['lb1'], net: '198.51.100' });
  process.on('exit', stopKa);
  const host = lab.host('lb1');
  dir = host.dir;
  procName = `ng${lab.id}`;
  rootIf = `fdk${lab.id}`;
  mkdirSync(join(dir, 'www'), { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(host));
  symlinkSync(spawnSync('which', ['nginx'], { encoding: 'utf8' }).stdout.trim(), join(dir, procName));
  // keepalived's link: root end `fdk<id>` (deleted with the lab's netns), peer `kpeer` in lb1.
  for (const argv of [
    ['link', 'add', rootIf, 'type', 'veth', 'peer', 'name', 'kpeer', 'netns', host.ns],
    ['addr', 'add', '203.0.113.10/32', 'dev', rootIf],
    ['link', 'set', rootIf, 'up'],
    ['-n', host.ns, 'link', 'set', 'kpeer', 'up'],
  ]) {
    const r = spawnSync('ip', argv, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${argv.join(' ')}: ${r.stderr}`);
  }
  nginx(false);
  writeFileSync(join(dir, 'keepalived.conf'), config(rootIf, '203.0.113'));
  writeFileSync(join(dir, 'floatd.conf'), config('eth1', '198.51.100'));
  const fd = openSync(join(lab.dir, 'keepalived.log'), 'a');
  ka = spawn(
    KEEPALIVED,
    [
      '-n',
      '-l',
      '-D',
      '-P',
      '-f',
      join(dir, 'keepalived.conf'),
      '-p',
      join(dir, 'ka.pid'),
      '-r',
      join(dir, 'ka-vrrp.pid'),
    ],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  const floatd = [
    process.execPath,
    ...(isTs ? ['--import', 'tsx'] : []),
    join(REPO_ROOT, isTs ? 'src/cli/main.ts' : 'dist/src/cli/main.js'),
  ];
  const ffd = openSync(join(lab.dir, 'floatd.log'), 'a');
  // In the lab's netns (killed with it by lab.destroy()), in the root PID namespace.
  spawn(
    'ip',
    ['netns', 'exec', host.ns, ...floatd, 'run', '-f', join(dir, 'floatd.conf'), '-p', join(dir, 'floatd.pid')],
    { stdio: ['ignore', ffd, ffd], env: { ...process.env, TMPDIR: dir, FLOATD_SOCKET: join(dir, 'floatd.sock') } },
  );
  closeSync(ffd);
});

after(() => {
  if (skip) return;
  stopKa();
  spawnSync('ip', ['link', 'del', rootIf]);
  lab.destroy();
});

test(
  'nginx stopped: floatd puts each track_process instance in the state keepalived 2.2.7 does',
  { skip, timeout: 40_000 },
  async (t) => {
    await waitFor(
      'both daemons MASTER on all three instances',
      () => [...states('keepalived'), ...states('floatd')].every((s) => s === 'MASTER'),
      15_000,
    );
    if (/Failed to set\/clear process event listen/.test(logOf('keepalived'))) {
      t.skip("keepalived's proc connector failed here (not in the initial namespaces?): no reference to compare with");
      return;
    }
    nginx(true);
    await waitFor(
      'keepalived logs the lost quorum',
      () => /Quorum lost for tracked process/.test(logOf('keepalived')),
      5_000,
    );
    // keepalived acts on the event at once; floatd polls /proc every second: give both 3 s.
    await new Promise((r) => setTimeout(r, 3_000));
    const kaStates = states('keepalived');
    t.diagnostic(`keepalived after nginx stop: ${INSTANCES.map((i, n) => `${i.chk}=${kaStates[n]}`).join(' ')}`);
    t.diagnostic(`floatd after nginx stop: ${INSTANCES.map((i, n) => `${i.chk}=${states('floatd')[n]}`).join(' ')}`);
    assert.equal(kaStates[1], 'FAULT', 'keepalived: weight 0 loses quorum → FAULT');
    assert.equal(kaStates[2], 'MASTER', 'keepalived: weight 1 only lowers the priority');
    assert.deepEqual(states('floatd'), kaStates);
    const addrs = lab.addresses('lb1');
    INSTANCES.forEach((_, n) => assert.equal(addrs.includes(`198.51.100.${111 + n}`), kaStates[n] === 'MASTER'));
  },
);
