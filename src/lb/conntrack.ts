/**
 * The kernel's connection table as text, for drains (parsed by drain.ts). /proc/net is per
 * network namespace, so this is the table of the namespace floatd runs in. Unreadable (no
 * CONFIG_NF_CONNTRACK_PROCFS): undefined, and a drain ends by its timeout only.
 */
import { readFile } from 'node:fs/promises';

export const CONNTRACK_FILE = '/proc/net/nf_conntrack';

export async function readConntrack(): Promise<string | undefined> {
  try {
    return await readFile(CONNTRACK_FILE, 'utf8');
  } catch {
    return undefined;
  }
}
