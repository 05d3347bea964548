/**
 * enable_script_security (keepalived's check_security()): a script that runs as root must not be
 * modifiable by anyone but root. Every component of its path, and of its real path when that
 * differs, must be owned by root; a directory writable by a non-root group or by others needs the
 * sticky bit, and the file itself must not be writable by a non-root group or by others.
 *
 * A component that is a symlink to a directory (Debian 12's merged /usr: /bin → usr/bin) is
 * followed with realpath: the link must be root's, and its target directory passes the same
 * check; the walk then goes on below the link. A link's own mode (always 0777) means nothing.
 */
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { resolveCommand } from '../util/run-script.js';

const S_IWGRP = 0o020;
const S_IWOTH = 0o002;
const S_ISVTX = 0o1000;

type Lstat = (p: string) => Pick<Stats, 'uid' | 'gid' | 'mode' | 'isDirectory' | 'isFile' | 'isSymbolicLink'>;
type Realpath = (p: string) => string;

/** Why `path` is unsafe for a root script, or undefined when it is safe. */
export function unsafePathReason(
  path: string,
  lstat: Lstat = lstatSync,
  realpath: Realpath = realpathSync,
): string | undefined {
  return walk(path, false, lstat, realpath, 0);
}

/** Checks each component of `path`; its last one must be a directory when `wantDir`. */
function walk(path: string, wantDir: boolean, lstat: Lstat, realpath: Realpath, depth: number): string | undefined {
  const parts = path.split('/').filter(Boolean);
  let cur = '';
  for (let i = 0; i <= parts.length; i++) {
    cur = i === 0 ? '/' : `${cur === '/' ? '' : cur}/${parts[i - 1]}`;
    const last = i === parts.length;
    let st;
    try {
      st = lstat(cur);
    } catch (e) {
      return `${cur}: ${(e as NodeJS.ErrnoException).code ?? 'cannot stat'}`;
    }
    const dir = st.isDirectory();
    if (!last && st.isSymbolicLink()) {
      if (st.uid !== 0) return `${cur} is a symlink owned by uid ${st.uid}, not root`;
      let target: string;
      try {
        target = realpath(cur);
      } catch (e) {
        return `${cur}: ${(e as NodeJS.ErrnoException).code ?? 'cannot resolve'}`;
      }
      if (depth > 8) return `${cur}: too many levels of symlinks`;
      const why = walk(target, true, lstat, realpath, depth + 1);
      if (why) return `${cur} → ${target}: ${why}`;
      continue;
    }
    if (!last && !dir) return `${cur} is not a directory`;
    if (last && wantDir && !dir) return `${cur} is not a directory`;
    if (last && !wantDir && !st.isFile() && !st.isSymbolicLink()) return `${cur} is not a regular file`;
    if (st.uid !== 0) return `${cur} is owned by uid ${st.uid}, not root`;
    const checked = (dir && !(st.mode & S_ISVTX)) || st.isFile();
    if (!checked) continue;
    if (st.gid !== 0 && st.mode & S_IWGRP)
      return `${cur} is writable by group ${st.gid}${dir ? ' (no sticky bit)' : ''}`;
    if (st.mode & S_IWOTH) return `${cur} is writable by everyone${dir ? ' (no sticky bit)' : ''}`;
  }
  return undefined;
}

/**
 * Checks the file a command would exec (after PATH lookup) and its real path. Commands that are
 * shell file tests (`</dev/tcp/…`) exec nothing and pass.
 */
export function scriptSecurityProblem(argv: readonly string[]): string | undefined {
  const r = resolveCommand(argv);
  if (!r.ok) return undefined; // reported as "cannot run" when it is run
  if (r.viaShell && r.args[0] === '-c') return undefined;
  const file = r.viaShell ? (r.args[0] ?? r.file) : r.file;
  const why = unsafePathReason(file);
  if (why) return `unsafe permissions for script ${file}: ${why}`;
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return undefined;
  }
  if (real === file) return undefined;
  const whyReal = unsafePathReason(real);
  return whyReal ? `unsafe permissions for script ${file} (really ${real}): ${whyReal}` : undefined;
}

/** keepalived only protects scripts that run with root's uid or gid. */
export function runsAsRoot(uid: number | undefined, gid: number | undefined): boolean {
  const u = uid ?? process.getuid?.() ?? 0;
  const g = gid ?? process.getgid?.() ?? 0;
  return u === 0 || g === 0;
}
