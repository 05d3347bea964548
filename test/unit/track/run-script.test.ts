import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCommand, runScript } from '../../../src/util/run-script.js';
import { scriptProbe, ScriptCheck, type ScriptResult } from '../../../src/track/script-check.js';
import { unsafePathReason } from '../../../src/track/script-security.js';
import { US_PER_MS as MS } from '../../../src/util/clock.js';

const isRoot = process.getuid?.() === 0;
const tmp = (): string => mkdtempSync(join(tmpdir(), 'floatd-track-'));

/** Running (a zombie waiting for a reaper that this container may lack does not count). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('`pidof` runs by the name written, not through its symlink (the Debian killall5 trap)', async () => {
  // On Debian /usr/bin/pidof is a symlink to killall5, which only acts as pidof under that name.
  const r = resolveCommand(['pidof', 'node']);
  assert.ok(r.ok);
  assert.equal(r.argv0, 'pidof');
  assert.match(r.file, /\/pidof$/);
  const up = await runScript({ argv: ['pidof', 'node'], timeoutUs: 5000 * MS });
  assert.equal(up.ok, true, up.detail);
  const down = await runScript({ argv: ['pidof', 'no-such-process-floatd'], timeoutUs: 5000 * MS });
  assert.equal(down.ok, false);
  assert.equal(down.detail, 'exited with status 1');
});

test('a hung script is killed at its timeout, with everything in its process group', async () => {
  const dir = tmp();
  const pidFile = join(dir, 'bg.pid');
  const t0 = Date.now();
  const r = await runScript({ argv: ['sh', '-c', `sleep 30 & echo $! > ${pidFile}; sleep 30`], timeoutUs: 300 * MS });
  const took = Date.now() - t0;
  assert.equal(r.ok, false);
  assert.equal(r.timedOut, true);
  assert.equal(r.detail, 'timed out after 300 ms');
  assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
  const bg = Number(readFileSync(pidFile, 'utf8'));
  await new Promise((res) => setTimeout(res, 50));
  assert.equal(alive(bg), false, 'the background child survived');
});

test('a script that ignores SIGTERM gets SIGKILL after the grace period', async () => {
  const t0 = Date.now();
  const r = await runScript({
    argv: ['sh', '-c', "trap '' TERM; sleep 30; sleep 30"],
    timeoutUs: 200 * MS,
    killGraceUs: 300 * MS,
  });
  const took = Date.now() - t0;
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGKILL');
  assert.ok(took >= 480 && took < 2500, `took ${took} ms`);
});

test('failures carry keepalived-style reasons; a missing command is a failure, not a crash', async () => {
  assert.equal(
    (await runScript({ argv: ['sh', '-c', 'exit 3'], timeoutUs: 2000 * MS })).detail,
    'exited with status 3',
  );
  assert.equal(
    (await runScript({ argv: ['sh', '-c', 'kill -USR1 $$'], timeoutUs: 2000 * MS })).detail,
    'due to signal SIGUSR1',
  );
  const missing = await runScript({ argv: ['/nonexistent/check'], timeoutUs: 1000 * MS });
  assert.equal(missing.ok, false);
  assert.equal(missing.notRun, true);
  assert.match(missing.detail, /cannot run: \/nonexistent\/check: ENOENT/);
  assert.match(
    (await runScript({ argv: ['no-such-command-floatd'], timeoutUs: 1000 * MS })).detail,
    /not found in PATH/,
  );
  assert.match((await runScript({ argv: [], timeoutUs: 1000 * MS })).detail, /empty command/);
});

test('no shell unless keepalived would use one: arguments are not word-split or expanded', async () => {
  const dir = tmp();
  const out = join(dir, 'args');
  const rec = join(dir, 'rec.sh');
  writeFileSync(rec, `#!/bin/sh\nprintf '%s\\n' "$@" > ${out}\n`);
  chmodSync(rec, 0o755);
  assert.equal((await runScript({ argv: [rec, 'a b', '$HOME', '*'], timeoutUs: 2000 * MS })).ok, true);
  assert.deepEqual(readFileSync(out, 'utf8').split('\n').slice(0, 3), ['a b', '$HOME', '*']);
});

test('a script without a shebang runs through /bin/sh, as keepalived falls back to system()', async () => {
  const dir = tmp();
  const s = join(dir, 'noshebang');
  writeFileSync(s, 'test "$1" = yes\n');
  chmodSync(s, 0o755);
  const r = resolveCommand([s, 'yes']);
  assert.ok(r.ok && r.viaShell);
  assert.equal((await runScript({ argv: [s, 'yes'], timeoutUs: 2000 * MS })).ok, true);
  assert.equal((await runScript({ argv: [s, 'no'], timeoutUs: 2000 * MS })).ok, false);
});

test("a `</path` file test runs through the shell (keepalived's special case)", async () => {
  assert.equal((await runScript({ argv: ['</dev/null'], timeoutUs: 2000 * MS })).ok, true);
  assert.equal((await runScript({ argv: ['</nonexistent/floatd'], timeoutUs: 2000 * MS })).ok, false);
});

test(
  'user/group: the script runs with the given uid and gid',
  { skip: !isRoot && 'needs root to switch user' },
  async () => {
    const r = await runScript({
      argv: ['sh', '-c', 'test "$(id -u):$(id -g)" = 65534:65534'],
      timeoutUs: 2000 * MS,
      uid: 65534,
      gid: 65534,
    });
    assert.equal(r.ok, true, r.detail);
  },
);

test(
  'script security: every path component must be root-owned and not writable by others',
  { skip: !isRoot && 'needs root to chown' },
  () => {
    const dir = realpathSync(tmp());
    const s = join(dir, 'chk.sh');
    writeFileSync(s, '#!/bin/sh\nexit 0\n');
    chmodSync(s, 0o755);
    assert.equal(unsafePathReason(s), undefined);
    chmodSync(s, 0o757);
    assert.equal(unsafePathReason(s), `${s} is writable by everyone`);
    chmodSync(s, 0o775);
    assert.equal(unsafePathReason(s), undefined, 'group root may write');
    chownSync(s, 0, 1000);
    assert.equal(unsafePathReason(s), `${s} is writable by group 1000`);
    chownSync(s, 65534, 0);
    chmodSync(s, 0o755);
    assert.equal(unsafePathReason(s), `${s} is owned by uid 65534, not root`);
    chownSync(s, 0, 0);
    chmodSync(dir, 0o777);
    assert.equal(unsafePathReason(s), `${dir} is writable by everyone (no sticky bit)`);
    chmodSync(dir, 0o1777);
    assert.equal(unsafePathReason(s), undefined, 'a sticky directory is fine, like /tmp');
  },
);

test(
  'with enable_script_security an unsafe root script is refused with the reason, never run',
  { skip: !isRoot && 'needs root' },
  async () => {
    const dir = realpathSync(tmp());
    const marker = join(dir, 'ran');
    const s = join(dir, 'chk.sh');
    writeFileSync(s, `#!/bin/sh\ntouch ${marker}\n`);
    chmodSync(s, 0o757);
    const r = await scriptProbe({ argv: [s], intervalUs: 1000 * MS, scriptSecurity: true })(
      new AbortController().signal,
    );
    assert.equal(r.ok, false);
    assert.equal(r.detail, `refused: unsafe permissions for script ${s}: ${s} is writable by everyone`);
    assert.equal(existsSync(marker), false);
    const insecure = await scriptProbe({ argv: [s], intervalUs: 1000 * MS })(new AbortController().signal);
    assert.equal(insecure.ok, true, 'without script security it runs (keepalived only warns)');
  },
);

test('ScriptCheck runs on its interval with real processes and stops cleanly', async () => {
  const results: ScriptResult[] = [];
  const c = new ScriptCheck({ name: 'chk', argv: ['true'], intervalUs: 50 * MS, onResult: (r) => results.push(r) });
  c.start();
  await new Promise((res) => setTimeout(res, 320));
  await c.stop();
  const n = results.length;
  assert.ok(n >= 4 && n <= 8, `${n} runs`);
  assert.ok(results.every((r) => r.ok));
  await new Promise((res) => setTimeout(res, 120));
  assert.equal(results.length, n, 'no result after stop');
});
