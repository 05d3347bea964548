/**
 * The API's listener plumbing: binding a unix socket safely (0660, group, stale socket cleared,
 * renamed into place) or a TCP address, and what kind of listener an address makes.
 */
import type { Server } from 'node:http';
import { connect, isIP } from 'node:net';
import { chmodSync, chownSync, mkdirSync, unlinkSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { resolveUser } from '../track/users.js';

export function isLoopbackHost(h: string): boolean {
  return h === '::1' || h.startsWith('127.');
}

export function fmtHost(h: string): string {
  return isIP(h) === 6 ? `[${h}]` : h;
}

/**
 * Mode 0660, never 0666: connecting is for root and the socket's group. The group is
 * `socket_group` when set, else the one the socket was created with (floatd's: root's).
 * Throws (the listener is then closed and skipped) when the group cannot be applied.
 */
export function secureSocket(path: string, group: string | undefined): void {
  chmodSync(path, 0o660);
  if (group === undefined) return;
  const r = resolveUser('0', group);
  if (!r.ok) throw new Error(`socket_group ${group}: ${r.error}`);
  chownSync(path, -1, r.id.gid);
}

export function listen(server: Server, at: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Makes the socket's directory and clears a stale socket left by a crash; a socket that
 * still answers belongs to a running daemon and is left alone.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive)
    throw Object.assign(new Error(`another process is serving ${path} (a second floatd with the same socket?)`), {
      code: 'EADDRINUSE',
    });
  unlinkSync(path);
}
