/**
 * Checks for files that hold secrets (API token, cloud tokens, webhook keys): one that group
 * or others can read, or that is a symlink someone else could point elsewhere, is warned
 * about when it is read. The secret it holds is registered for log redaction (redact.ts).
 */
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { registerSecret } from './redact.js';

export interface WarnLog {
  warn(obj: object, msg: string): void;
}

/** Why `path` is too open for a secret, or undefined when only its owner can read it. */
export function secretFileProblem(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  } // nothing to judge (the read reports a missing file)
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  if (st.mode & 0o004) return `readable by everyone (mode ${mode}; chmod 600 it)`;
  if (st.mode & 0o040) return `readable by group ${st.gid} (mode ${mode}; chmod 600 it)`;
  if (st.mode & 0o022) return `writable by group or others (mode ${mode}; chmod 600 it)`;
  try {
    const l = lstatSync(path);
    if (l.isSymbolicLink() && l.uid !== st.uid) {
      return `a symlink owned by uid ${l.uid} to a file owned by uid ${st.uid}`;
    }
  } catch {
    /* raced */
  }
  return undefined;
}

/**
 * Reads a secret file (trimmed), warns when others can read it, and registers the value for log
 * redaction: the one call for every secret floatd reads from a file. Throws what readFileSync throws.
 */
export function readSecretFile(
  path: string,
  log: WarnLog,
  what: string,
  read: (p: string) => string = (p) => readFileSync(p, 'utf8'),
): string {
  const value = read(path).trim();
  warnIfWorldReadable(path, log, what, value);
  return value;
}

/**
 * Logs one `security.secret_file` warning when `path` is readable by others; returns the
 * problem (or undefined). `what` names the secret ("DigitalOcean token"). Pass the content as
 * `secret` to register it for redaction in the same call.
 */
export function warnIfWorldReadable(path: string, log: WarnLog, what = 'secret', secret?: string): string | undefined {
  if (secret !== undefined) registerSecret(secret);
  const why = secretFileProblem(path);
  if (why) log.warn({ event: 'security.secret_file', path, what }, `${what} file ${path} is ${why}`);
  return why;
}
