import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
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
