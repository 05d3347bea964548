import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptSecurityProblem, unsafePathReason } from '../../../src/track/script-security.js';

const isRoot = process.getuid?.() === 0;
const mergedUsr = (() => {
  try {
    return lstatSync('/bin').isSymbolicLink();
  } catch {
    return false;
  }
})();

test(
  'merged /usr (Debian 12): /bin/true and /bin/sh pass enable_script_security',
  { skip: !mergedUsr && '/bin is not a symlink on this host' },
  () => {
    assert.equal(unsafePathReason('/bin/true'), undefined);
    assert.equal(unsafePathReason('/bin/sh'), undefined);
    assert.equal(scriptSecurityProblem(['/bin/true']), undefined);
    assert.equal(scriptSecurityProblem(['/bin/sh', '-c', 'exit 0']), undefined);
    assert.equal(scriptSecurityProblem(['true']), undefined);
  },
);

test(
  'a symlinked directory is followed: safe target passes, unsafe target or foreign link refused',
  { skip: !isRoot && 'needs root to chown' },
  () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'floatd-sec-')));
    try {
      chmodSync(root, 0o755);
      mkdirSync(join(root, 'usr', 'bin'), { recursive: true, mode: 0o755 });
      const script = join(root, 'usr', 'bin', 'chk');
      writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      symlinkSync('usr/bin', join(root, 'bin'));
      const viaLink = join(root, 'bin', 'chk');
      assert.equal(unsafePathReason(viaLink), undefined);
      // The link's target directory is writable by everyone: refused, naming both.
      chmodSync(join(root, 'usr', 'bin'), 0o777);
      assert.equal(
        unsafePathReason(viaLink),
        `${root}/bin → ${root}/usr/bin: ${root}/usr/bin is writable by everyone (no sticky bit)`,
      );
      chmodSync(join(root, 'usr', 'bin'), 0o755);
      // A link someone else owns is refused.
      lchownSync(join(root, 'bin'), 65534, 65534);
      assert.equal(unsafePathReason(viaLink), `${root}/bin is a symlink owned by uid 65534, not root`);
      lchownSync(join(root, 'bin'), 0, 0);
      // A link to a file where a directory is expected.
      symlinkSync('usr/bin/chk', join(root, 'notdir'));
      assert.match(unsafePathReason(join(root, 'notdir', 'x')) ?? '', /notdir/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
);
