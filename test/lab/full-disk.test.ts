/**
 * A full disk, for real (issue 15 item 24): a 64 KiB tmpfs filled to the last byte. The pid
 * file cannot be written (open succeeds, the write gets ENOSPC): floatd exits 1 with the cause
 * and leaves no empty pid file; a dump that cannot be written leaves no temporary file and the
 * previous dump stays. Needs root (mount).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runDaemon } from '../../src/daemon/daemon.js';
import { writeDump } from '../../src/daemon/dumps.js';
import { acquirePidFile, PidFileError } from '../../src/daemon/pidfile.js';
import { createLogger } from '../../src/util/log.js';

const skip = process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : false;

/** A tmpfs of `kib` KiB, with a previous dump in it, then filled. */
function fullDisk(kib = 64): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-full-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0700`, 'tmpfs', dir]);
  if (m.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mount: ${m.stderr.toString()}`);
  }
  writeFileSync(join(dir, 'floatd.stats'), 'old\n');
  try {
    writeFileSync(join(dir, 'fill'), Buffer.alloc(kib * 1024));
  } catch {
    /* ENOSPC: full, as wanted */
  }
  return {
    dir,
    done: () => {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test(
  'full disk: the pid file cannot be written → PidFileError with ENOSPC, no empty pid file; the daemon exits 1 ' +
    'saying so',
  { skip },
  async () => {
    const disk = fullDisk();
    try {
      const path = join(disk.dir, 'floatd.pid');
      assert.throws(
        () => acquirePidFile(path),
        (e: unknown) => e instanceof PidFileError && /ENOSPC/.test(e.message),
      );
      assert.equal(existsSync(path), false, 'no empty pid file');
      const lines: string[] = [];
      const log = createLogger({
        json: true,
        stream: new Writable({
          write(c: Buffer, _e, cb) {
            lines.push(c.toString());
            cb();
          },
        }),
      });
      let created = false;
      const code = await runDaemon({
        pidFile: path,
        dumpDir: disk.dir,
        log,
        createRuntime: async () => {
          created = true;
          throw new Error('not reached');
        },
      });
      assert.equal(code, 1);
      assert.equal(created, false);
      assert.ok(
        lines.some((l) => l.includes('"event":"daemon.pidfile"') && l.includes('ENOSPC (the disk or quota is full)')),
        lines.join(''),
      );
      assert.equal(existsSync(path), false);
    } finally {
      disk.done();
    }
  },
);

test('full disk: a dump that cannot be written leaves no *.tmp and keeps the previous one', { skip }, async () => {
  const disk = fullDisk();
  try {
    await assert.rejects(writeDump(disk.dir, 'floatd.stats', 'x'.repeat(256 * 1024)), /ENOSPC/);
    assert.deepEqual(readdirSync(disk.dir).sort(), ['fill', 'floatd.stats']);
    assert.equal(readFileSync(join(disk.dir, 'floatd.stats'), 'utf8'), 'old\n');
  } finally {
    disk.done();
  }
});
