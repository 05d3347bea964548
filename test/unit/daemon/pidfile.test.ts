import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquirePidFile, PidFileError } from '../../../src/daemon/pidfile.js';

test('a second daemon on the same pid file is refused while the first lives', () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-pid-'));
  const path = join(dir, 'floatd.pid');
  const release = acquirePidFile(path);
  assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid));
  // Pretend to be another process: the file names us, and we are alive.
  assert.throws(() => acquirePidFile(path, process.pid + 1), PidFileError);
  release();
  assert.equal(existsSync(path), false);
});

test('a stale pid file left by a crashed daemon is taken over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-pid-'));
  const path = join(dir, 'floatd.pid');
  writeFileSync(path, '999999999\n'); // no such process
  const release = acquirePidFile(path);
  assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid));
  release();
});

test('a full disk: a clear PidFileError and no empty pid file left behind; the next start works', () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-pid-'));
  const path = join(dir, 'floatd.pid');
  const enospc = (): void => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  assert.throws(
    () => acquirePidFile(path, process.pid, enospc),
    (e: unknown) => e instanceof PidFileError && /ENOSPC \(the disk or quota is full\)/.test(e.message),
  );
  assert.equal(existsSync(path), false, 'no empty pid file');
  // An empty pid file left by an older version is stale, not "another floatd".
  writeFileSync(path, '');
  const release = acquirePidFile(path);
  assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid));
  release();
});

test('a pid file path that is a symlink is not followed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-pid-'));
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious\n');
  const path = join(dir, 'floatd.pid');
  symlinkSync(victim, path);
  const release = acquirePidFile(path); // the dangling-or-not link is stale: replaced, not written through
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid));
  release();
});
