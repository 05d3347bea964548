/**
 * One daemon per pid file: refuse to start when the file names a live floatd, take over a
 * stale one (a crashed daemon), remove it on exit only if it is still ours.
 */
import { FloatdError } from '../errors.js';
import { readFileSync, writeFileSync, unlinkSync, mkdirSync, openSync, closeSync, constants } from 'node:fs';
import { dirname } from 'node:path';

/** E_PID_FILE_UNUSABLE (docs/errors.md). */
export class PidFileError extends FloatdError {
  constructor(message: string) {
    super('PID_FILE_UNUSABLE', message);
    this.name = 'PidFileError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A new file only, never through a symlink. */
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Test hook: how the pid reaches the open file (default writeFileSync). */
export type PidWrite = (fd: number, text: string) => void;

/**
 * Writes the pid, or removes the file it just created and says why: a full disk (ENOSPC) or a
 * quota must not leave an empty pid file, which would read as "no daemon" to scripts.
 */
function writePid(path: string, fd: number, pid: number, write: PidWrite): void {
  try {
    write(fd, `${pid}\n`);
    closeSync(fd);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(path);
    } catch {
      /* gone */
    }
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const hint = code === 'ENOSPC' || code === 'EDQUOT' ? ' (the disk or quota is full)' : '';
    throw new PidFileError(`cannot write the pid file ${path}: ${code}${hint}`);
  }
}

export function acquirePidFile(path: string, pid = process.pid, write: PidWrite = writeFileSync): () => void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new PidFileError(`cannot create the pid file's directory ${dirname(path)}: ${code}`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, CREATE, 0o644);
      writePid(path, fd, pid, write);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(pid)) unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if (e instanceof PidFileError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new PidFileError(`cannot create the pid file ${path}: ${code ?? String(e)}`);
      let other = NaN;
      try {
        other = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      } catch {
        /* raced with removal */
      }
      if (Number.isInteger(other) && other > 0 && other !== pid && alive(other)) {
        throw new PidFileError(`another floatd is running with pid ${other} (pid file ${path})`);
      }
      try {
        unlinkSync(path);
      } catch {
        /* raced */
      }
    }
  }
  throw new PidFileError(`could not take pid file ${path}`);
}
