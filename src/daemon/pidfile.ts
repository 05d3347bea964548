/**
 * One daemon per pid file: refuse to start when the file names a live floatd, take over a
 * stale one (a crashed daemon), remove it on exit only if it is still ours.
 */
import { readFileSync, writeFileSync, unlinkSync, mkdirSync, openSync, closeSync, constants } from 'node:fs';
import { dirname } from 'node:path';

export class PidFileError extends Error {
  readonly code = 'EPIDFILE';
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

export function acquirePidFile(path: string, pid = process.pid): () => void {
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      writeFileSync(fd, `${pid}\n`);
      closeSync(fd);
      return () => {
        try { if (readFileSync(path, 'utf8').trim() === String(pid)) unlinkSync(path); } catch { /* already gone */ }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let other = NaN;
      try { other = Number.parseInt(readFileSync(path, 'utf8').trim(), 10); } catch { /* raced with removal */ }
      if (Number.isInteger(other) && other > 0 && other !== pid && alive(other)) {
        throw new PidFileError(`another floatd is running with pid ${other} (pid file ${path})`);
      }
      try { unlinkSync(path); } catch { /* raced */ }
    }
  }
  throw new PidFileError(`could not take pid file ${path}`);
}
