import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpDirectory, isPrivateDir, writeDump } from '../../../src/daemon/dumps.js';

function shared(): string {
  // A /tmp-like directory: sticky and world-writable.
  const d = mkdtempSync(join(tmpdir(), 'floatd-dump-'));
  chmodSync(d, 0o1777);
  return d;
}

test('a shared base like /tmp is never written directly: dumps go to a 0700 directory of our own', () => {
  const base = shared();
  try {
    assert.equal(isPrivateDir(base), false);
    const dir = dumpDirectory(base);
    assert.equal(dir, join(base, 'floatd'));
    assert.equal(lstatSync(dir).mode & 0o777, 0o700);
    // A private base (the unit's /run/floatd, a lab host's directory) is used as it is.
    assert.equal(dumpDirectory(dir), dir);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('a planted base/floatd (a symlink, or a directory others can write) is not used', () => {
  const base = shared();
  try {
    const elsewhere = mkdtempSync(join(tmpdir(), 'floatd-elsewhere-'));
    symlinkSync(elsewhere, join(base, 'floatd'));
    const dir = dumpDirectory(base);
    assert.notEqual(dir, join(base, 'floatd'));
    assert.match(dir, /floatd-\w{6}$/);
    assert.equal(lstatSync(dir).mode & 0o777, 0o700);
    assert.equal(dumpDirectory(base), dir, 'the next dump reuses it (no directory per signal)');
    rmSync(elsewhere, { recursive: true, force: true });
    const base2 = shared();
    mkdirSync(join(base2, 'floatd'), { mode: 0o777 });
    chmodSync(join(base2, 'floatd'), 0o777);
    assert.notEqual(dumpDirectory(base2), join(base2, 'floatd'));
    rmSync(base2, { recursive: true, force: true });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('writeDump replaces a symlink at the dump name instead of writing through it (CVE-2018-19044)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-dump-'));
  try {
    const victim = join(dir, 'root-owned-0600');
    writeFileSync(victim, 'precious\n', { mode: 0o600 });
    symlinkSync(victim, join(dir, 'floatd.data'));
    const path = await writeDump(dir, 'floatd.data', '{"instances":[]}\n');
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.equal(lstatSync(path).isSymbolicLink(), false);
    assert.equal(lstatSync(path).mode & 0o777, 0o600);
    assert.equal(readFileSync(path, 'utf8'), '{"instances":[]}\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed dump (disk full) leaves no *.tmp and keeps the previous dump', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-dump-'));
  try {
    await writeDump(dir, 'floatd.stats', 'old\n');
    const enospc = async (): Promise<never> => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    await assert.rejects(writeDump(dir, 'floatd.stats', 'new\n', enospc), /ENOSPC/);
    assert.deepEqual(readdirSync(dir), ['floatd.stats']);
    assert.equal(readFileSync(join(dir, 'floatd.stats'), 'utf8'), 'old\n');
    assert.equal(existsSync(join(dir, 'floatd.stats.tmp')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
