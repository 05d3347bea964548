/**
 * keepalived's daemon mode, for real: `floatd -f FILE` (no -n) checks the file in the
 * foreground (a broken one: exit 1, diagnostics on stderr, nothing started), detaches, writes
 * its pid file and logs to syslog — read here through a local syslog socket the test binds
 * (FLOATD_SYSLOG_SOCKET), with the same event names as the JSON logs. Needs root (the daemon
 * runs inside a lab host's namespaces).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeedLab } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { hasPython, notifyReceiver, type NotifyReceiver } from '../unit/api/notify-receiver.js';

const skip = labUnavailable() ?? (hasPython ? false : 'python3 (the syslog socket) is missing');
let s: SeedLab;
let syslog: NotifyReceiver;
let sockPath = '';

before(async () => {
  if (skip) return;
  s = new SeedLab();
  sockPath = join(s.lab.dir, 'log.sock');
  syslog = await notifyReceiver(sockPath, 120);
});
after(() => {
  if (!skip) {
    syslog.close();
    s.destroy();
  }
});

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  FLOATD_SYSLOG_SOCKET: sockPath,
  TMPDIR: s.dir('lb1'),
  FLOATD_SOCKET: join(s.dir('lb1'), 'floatd.sock'),
});

test(
  'a broken file: exit 1 before detaching, file:line:col on stderr, no pid file, no daemon',
  { skip, timeout: 30_000 },
  () => {
    const bad = join(s.dir('lb1'), 'broken.conf');
    writeFileSync(bad, 'vrrp_instance VI_1 {\n    interface eth1\n    virtual_router_id 300\n}\n');
    const pid = join(s.dir('lb1'), 'broken.pid');
    const r = s.lab.run('lb1', [...s.floatd, '-f', bad, '-p', pid], env());
    assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
    assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:3:\\d+`), 'a positioned diagnostic');
    assert.match(r.stderr, /not usable; not starting/);
    assert.equal(existsSync(pid), false);
    assert.equal(s.lab.run('lb1', ['pgrep', '-f', 'dont-fork']).stdout.trim(), '', 'nothing was left running');
  },
);

test(
  'daemon mode: returns once up, pid file names the daemon, syslog has the events; SIGTERM removes the pid file',
  { skip, timeout: 60_000 },
  async () => {
    const conf = join(s.dir('lb1'), 'keepalived.conf');
    const pidFile = join(s.dir('lb1'), 'ka.pid');
    const t0 = Date.now();
    const r = s.lab.run('lb1', [...s.floatd, '-f', conf, '-p', pidFile, '-S', '3', '-D'], env());
    assert.equal(r.status, 0, `exit status (stderr: ${r.stderr})`);
    assert.doesNotMatch(
      r.stderr,
      /error|exited/,
      'a good start: at most warnings on stderr (the seed truncates auth_pass)',
    );
    assert.ok(existsSync(pidFile), 'pid file written before the parent returned');
    const pid = readFileSync(pidFile, 'utf8').trim();
    assert.match(pid, /^\d+$/);
    assert.equal(s.lab.run('lb1', ['kill', '-0', pid]).status, 0, 'the pid file names a live process');
    assert.match(s.lab.run('lb1', ['cat', `/proc/${pid}/cmdline`]).stdout, /--dont-fork/, 'it is the detached daemon');
    await s.waitFor('lb1 holds the VIP', () => s.holds('lb1'), 10_000);
    // local3 = facility 19; info = 6, debug = 7 (-D): <158>, <159>.
    const master = await syslog.waitFor((m) => /Entering MASTER STATE/.test(m), 10_000);
    assert.match(
      master,
      new RegExp(
        String.raw`^<15[89]>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d floatd\[\d+\]: ` +
          String.raw`\(VI_1\) Entering MASTER STATE.*\[vrrp\.transition `,
      ),
    );
    await syslog.waitFor((m) => /^<159>/.test(m), 5_000); // -D: debug lines too
    // A second daemon on the same pid file is refused, and says why on the terminal it was started from.
    const second = s.lab.run('lb1', [...s.floatd, '-f', conf, '-p', pidFile], env());
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`another floatd is running with pid ${pid}`));
    assert.equal(readFileSync(pidFile, 'utf8').trim(), pid, 'the running daemon keeps its pid file');
    s.lab.run('lb1', ['kill', '-TERM', pid]);
    await s.waitFor('the pid file is removed', () => !existsSync(pidFile), 10_000);
    await syslog.waitFor((m) => /\[daemon\.stopped /.test(m), 5_000);
    assert.ok(Date.now() - t0 < 50_000);
  },
);

test('-v says what floatd is, its version and the keepalived version it follows', { skip: false }, () => {
  const r = spawnSync(
    process.execPath,
    [
      ...(import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : []),
      join(import.meta.dirname, '../../src/cli/main.js'),
      '-v',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^floatd \d+\.\d+\.\d+\n/);
  assert.match(r.stdout, /keepalived 2\.2\.8/);
  assert.match(r.stdout, /floating IP/);
});
