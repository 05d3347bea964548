/**
 * The SIGUSR1/SIGUSR2 dump files, and keepalived's SIGUSR2 statistics format
 * (`keepalived.stats`), so scripts written for keepalived's dump keep working.
 *
 * keepalived wrote its dumps at a predictable name in /tmp and followed symlinks there
 * (CVE-2018-19044): a local user could make root overwrite any file. floatd writes only in a
 * private directory (owned by it, writable by no one else, not a symlink), creates each file
 * with O_CREAT|O_EXCL|O_NOFOLLOW at a temporary name, mode 0600, and renames it into place
 * (rename replaces a planted link, never follows it). A failed write removes its temporary.
 */
import { constants, lstatSync, mkdirSync, mkdtempSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonStatus } from '../model/status-types.js';

/** Whether `dir` is a directory only we can write: no symlink, our uid, no group/other write. */
export function isPrivateDir(dir: string, uid = process.getuid?.() ?? 0): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * Where dumps go for a configured base ($TMPDIR, /tmp, /run/floatd): the base itself when it
 * is private (the systemd unit's /run/floatd, a lab host's directory), else `base/floatd`
 * (created 0700), else a fresh mkdtemp directory (someone else holds `base/floatd`).
 */
export function dumpDirectory(base: string): string {
  if (isPrivateDir(base)) return base;
  // A fresh mkdtemp directory is reused by later dumps while it stays private.
  const made = madeDirs.get(base);
  if (made !== undefined && isPrivateDir(made)) return made;
  const sub = join(base, 'floatd');
  try {
    mkdirSync(sub, { mode: 0o700 });
  } catch {
    /* exists (checked next) or cannot be made */
  }
  if (isPrivateDir(sub) && (lstatSync(sub).mode & 0o077) === 0) return sub;
  const fresh = mkdtempSync(join(base, 'floatd-'));
  madeDirs.set(base, fresh);
  return fresh;
}

const madeDirs = new Map<string, string>();

/** Test hook: how bytes reach the open file. */
export type DumpWrite = (fh: { write(data: string): Promise<unknown> }, data: string) => Promise<unknown>;

let seq = 0;

/**
 * Writes `dir/name` atomically and without following links; resolves with the path. On any
 * failure the temporary file is removed and the error rethrown (the old dump stays).
 */
export async function writeDump(
  dir: string,
  name: string,
  text: string,
  write: DumpWrite = (fh, d) => fh.write(d),
): Promise<string> {
  const path = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.${++seq}.tmp`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await write(fh, text);
    await fh.close();
    await rename(tmp, path);
    return path;
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** Sum of drop counters whose names fall in one of keepalived's stats lines. */
function sum(dropped: Record<string, number>, ...names: string[]): number {
  return names.reduce((n, k) => n + (dropped[k] ?? 0), 0);
}

export function formatStats(status: DaemonStatus): string {
  const out: string[] = [];
  for (const i of status.instances) {
    const c = i.counters;
    const d = c.dropped;
    out.push(
      `VRRP Instance: ${i.name}`,
      '  Advertisements:',
      `    Received: ${c.advertsReceived}`,
      `    Sent: ${c.advertsSent}`,
      `  Became master: ${c.becameMaster}`,
      `  Released master: ${c.releasedMaster}`,
      '  Packet Errors:',
      `    Length: ${sum(d, 'packet_len_err', 'truncated')}`,
      `    TTL: ${sum(d, 'ip_ttl_err')}`,
      `    Invalid Type: ${sum(d, 'invalid_type')}`,
      `    Advertisement Interval: ${sum(d, 'interval_mismatch')}`,
      `    Address List: ${sum(d, 'addr_list_err')}`,
      '  Authentication Errors:',
      `    Invalid Type: ${sum(d, 'invalid_authtype')}`,
      `    Type Mismatch: ${sum(d, 'authtype_mismatch')}`,
      `    Failure: ${sum(d, 'auth_failure')}`,
      '  Priority Zero:',
      `    Received: ${c.priorityZeroReceived}`,
      `    Sent: ${c.priorityZeroSent}`,
    );
  }
  return out.join('\n') + '\n';
}
