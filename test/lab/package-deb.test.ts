/**
 * The Debian package, end to end on this machine: scripts/package-deb.sh builds it, `dpkg -i`
 * installs it, the installed `floatd check` accepts the seed's file, the installed binary runs
 * the seed pair in a lab (lb1 in keepalived's daemon mode: pid file, syslog through a socket
 * the test binds; lb2 with `floatd run`) and fails over when nginx stops; a reinstall keeps an
 * edited conffile; `dpkg -r` leaves only the conffile, `dpkg --purge` leaves nothing. Needs
 * root; skipped when a floatd package is already installed (it is not this test's to remove).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, SeedLab } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { hasPython, notifyReceiver, type NotifyReceiver } from '../unit/api/notify-receiver.js';

const installedAlready = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'floatd'], {
  encoding: 'utf8',
}).stdout.includes('installed');
// Depends: nodejs (>= 20): a node from elsewhere (a tarball, nvm) would make dpkg -i refuse.
const nodeVersion = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'nodejs'], { encoding: 'utf8' }).stdout.trim();
const nodePackaged =
  nodeVersion !== '' && spawnSync('dpkg', ['--compare-versions', nodeVersion, 'ge', '20']).status === 0;
const skip =
  labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'dpkg-deb']) ??
  (hasPython ? undefined : 'python3 (the syslog socket) is missing') ??
  (installedAlready
    ? "a floatd package is already installed on this machine (not this test's to remove)"
    : undefined) ??
  (nodePackaged
    ? false
    : 'nodejs >= 20 is not installed as a Debian package here ' +
      `(${nodeVersion || 'none'}): dpkg -i would refuse the Depends`);

const BIN = '/usr/bin/floatd';
const KA_CONF = '/etc/keepalived/keepalived.conf';
let outDir = '';
let deb = '';
let files: string[] = [];
let installed = false;

function sh(argv: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; out: string; err: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    env,
    timeout: 300_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** dpkg, retried while another dpkg/apt holds the lock (the machine is shared). */
async function dpkg(...args: string[]): Promise<string> {
  for (let i = 0; ; i++) {
    const r = sh(['dpkg', ...args]);
    if (r.status === 0) return r.out + r.err;
    if (!/lock/i.test(r.err) || i >= 60) throw new Error(`dpkg ${args.join(' ')} failed (${r.status}): ${r.err}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

const hash = (p: string): string =>
  existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'absent';
let kaConfBefore = '';

before(async () => {
  if (skip) return;
  outDir = mkdtempSync(join(tmpdir(), 'floatd-deb-'));
  kaConfBefore = hash(KA_CONF);
  const r = sh(['bash', join(REPO_ROOT, 'scripts/package-deb.sh')], {
    ...process.env,
    FLOATD_PREBUILT: '1',
    FLOATD_DEB_DIR: outDir,
  });
  assert.equal(r.status, 0, `package-deb.sh: ${r.err}`);
  deb = r.out.trim().split('\n').at(-1)!;
});

after(async () => {
  if (skip) return;
  // Every exit path: a half-run test leaves no package behind.
  if (installed) await dpkg('--purge', 'floatd').catch(() => undefined);
  rmSync(outDir, { recursive: true, force: true });
});

test('the .deb: name, Depends, conffile, layout', { skip, timeout: 60_000 }, () => {
  assert.match(deb, /\/floatd_\d+\.\d+\.\d+_[a-z0-9]+\.deb$/);
  const info = sh(['dpkg-deb', '-f', deb, 'Depends']).out;
  assert.match(sh(['dpkg-deb', '-I', deb, 'conffiles']).out, /^\/etc\/default\/floatd\n$/);
  assert.match(info, /nodejs \(>= 20\)/);
  const list = sh(['dpkg-deb', '-c', deb]).out;
  for (const p of [
    './usr/bin/floatd',
    './usr/lib/floatd/dist/src/cli/main.js',
    './usr/lib/floatd/native/build/Release/floatd_native.node',
    './lib/systemd/system/floatd.service',
    './etc/default/floatd',
    './usr/share/man/man8/floatd.8.gz',
    './usr/share/man/man5/floatd-keepalived.conf.5.gz',
    './usr/share/bash-completion/completions/floatd',
    './usr/lib/floatd/node_modules/pino/',
    './usr/share/floatd/prometheus/floatd.rules.yml',
    './usr/share/floatd/grafana/floatd-dashboard.json',
  ]) {
    assert.ok(list.includes(` ${p}`), `${p} in the package`);
  }
  assert.doesNotMatch(list, /node_modules\/(typescript|fast-check|playwright-core|node-gyp)\//, 'no dev dependencies');
  assert.doesNotMatch(list, /\.\/etc\/keepalived/, 'the package never ships /etc/keepalived');
});

test(
  'dpkg -i, the installed check, the installed daemon fails over in a lab, dpkg -r, --purge',
  { skip, timeout: 180_000 },
  async () => {
    await dpkg('-i', deb);
    installed = true;
    files = sh(['dpkg', '-L', 'floatd']).out.split('\n').filter(Boolean);
    assert.ok(files.includes(BIN));
    const unit = readFileSync('/lib/systemd/system/floatd.service', 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/bin\/floatd run -f \$\{FLOATD_CONF\}/m);
    if (sh(['systemd-analyze', '--version']).status === 0) {
      const v = sh(['systemd-analyze', 'verify', '/lib/systemd/system/floatd.service']);
      assert.equal(v.status, 0, `systemd-analyze verify: ${v.out}${v.err}`);
    }
    assert.match(sh([BIN, '-v']).out, /^floatd \d/);
    assert.equal(hash(KA_CONF), kaConfBefore, 'installing did not create or change /etc/keepalived/keepalived.conf');

    const lab = new SeedLab({ floatd: [BIN] });
    let syslog: NotifyReceiver | undefined;
    try {
      const conf = (h: 'lb1' | 'lb2'): string => join(lab.dir(h), 'keepalived.conf');
      const chk = sh([BIN, 'check', '-f', conf('lb1')]);
      assert.equal(chk.status, 0, chk.err);
      assert.match(chk.out, /configuration OK/);
      const bad = join(lab.dir('lb1'), 'bad.conf');
      writeFileSync(bad, 'vrrp_instance X {\n  priority 999\n}\n');
      const refused = lab.lab.run('lb1', [BIN, '-f', bad, '-p', join(lab.dir('lb1'), 'bad.pid')]);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /bad\.conf:\d+:\d+: error/);

      const sock = join(lab.lab.dir, 'log.sock');
      syslog = await notifyReceiver(sock, 120);
      const pidFile = join(lab.dir('lb1'), 'ka.pid');
      const env = {
        ...process.env,
        FLOATD_SYSLOG_SOCKET: sock,
        TMPDIR: lab.dir('lb1'),
        FLOATD_SOCKET: join(lab.dir('lb1'), 'floatd.sock'),
      };
      const started = lab.lab.run('lb1', [BIN, '-f', conf('lb1'), '-p', pidFile], env);
      assert.equal(started.status, 0, started.stderr);
      const pid = readFileSync(pidFile, 'utf8').trim();
      assert.match(
        lab.lab.run('lb1', ['cat', `/proc/${pid}/cmdline`]).stdout,
        /\/usr\/lib\/floatd\/dist\/src\/cli\/main\.js/,
        'the installed code runs',
      );
      lab.startFloatd('lb2');
      await lab.waitFor('lb1 holds the VIP', () => lab.holds('lb1') && !lab.holds('lb2'), 15_000);
      await syslog.waitFor((m) => /floatd\[\d+\]: \(VI_1\) Entering MASTER STATE/.test(m), 5_000);
      lab.stopNginx('lb1');
      await lab.waitFor(
        'lb2 holds the VIP once nginx stops on lb1',
        () => lab.holds('lb2') && !lab.holds('lb1'),
        12_000,
      );
      await lab.waitFor('the client is served by lb2', () => /Droplet: lb2/.test(lab.served()), 5_000);
      await syslog.waitFor((m) => /Entering (BACKUP|FAULT) STATE/.test(m), 5_000);
    } finally {
      syslog?.close();
      lab.destroy();
    }

    // An edited conffile survives a reinstall; /etc/floatd keeps what the operator put there.
    appendFileSync('/etc/default/floatd', 'FLOATD_OPTS="-D"\n');
    writeFileSync('/etc/floatd/api.token', 'operator-token-0123456789\n', { mode: 0o600 });
    await dpkg('-i', deb);
    assert.match(readFileSync('/etc/default/floatd', 'utf8'), /FLOATD_OPTS="-D"/);
    assert.ok(existsSync('/etc/floatd/api.token'));
    rmSync('/etc/floatd/api.token');

    await dpkg('-r', 'floatd');
    assert.match(sh(['dpkg-query', '-W', '-f=${Status}', 'floatd']).out, /config-files/);
    assert.ok(existsSync('/etc/default/floatd'), 'remove keeps the conffile');
    for (const f of files)
      if (f !== '/etc/default/floatd' && existsSync(f) && !statSync(f).isDirectory())
        assert.fail(`${f} left after dpkg -r`);
    await dpkg('--purge', 'floatd');
    installed = false;
    const stray = files.filter((f) => existsSync(f) && (!statSync(f).isDirectory() || /floatd/.test(f)));
    assert.deepEqual(stray, [], 'nothing of the package is left after --purge');
    assert.equal(existsSync('/var/lib/floatd'), false);
    assert.equal(existsSync('/etc/floatd'), false);
    assert.equal(hash(KA_CONF), kaConfBefore, 'purging did not touch /etc/keepalived/keepalived.conf');
    assert.ok(!readdirSync('/usr/lib').includes('floatd'));
  },
);
