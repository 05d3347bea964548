/**
 * `user USER [GROUP]` / script_user → numeric ids, from /etc/passwd and /etc/group (Node has no
 * getpwnam). Numeric strings are taken as ids. Without a group, the user's primary group.
 */
import { readFileSync } from 'node:fs';
import type { ScriptIdentity } from './types.js';

export interface IdFiles {
  passwd?: string;
  group?: string;
}

function table(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

export type ResolvedUser = { ok: true; id: ScriptIdentity } | { ok: false; error: string };

export function resolveUser(user: string, group?: string, files: IdFiles = {}): ResolvedUser {
  const passwd = table(files.passwd ?? '/etc/passwd');
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(user)) {
    uid = Number(user);
    const row = passwd.find((r) => r[2] === user);
    gid = row ? Number(row[3]) : undefined;
  } else {
    const row = passwd.find((r) => r[0] === user);
    if (!row) return { ok: false, error: `unknown user ${user}` };
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (group !== undefined) {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const row = table(files.group ?? '/etc/group').find((r) => r[0] === group);
      if (!row) return { ok: false, error: `unknown group ${group}` };
      gid = Number(row[2]);
    }
  }
  if (gid === undefined) return { ok: false, error: `no primary group known for uid ${uid}; name a group` };
  return { ok: true, id: { uid, gid } };
}
