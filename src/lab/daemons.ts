/**
 * How every lab (seed-lab, quorum-lab, lb-lab) starts and signals the daemons on its hosts: this
 * checkout's floatd, and the real keepalived for the side-by-side runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './netns-lab.js';

const isTs = import.meta.url.endsWith('.ts');
/** Repository root, whether running from src/ (tsx) or dist/src/. */
export const REPO_ROOT = join(fileURLToPath(new URL('.', import.meta.url)), isTs ? '../..' : '../../..');
/** This checkout's floatd: under tsx from src/, or the build in dist/. */
export const FLOATD_COMMAND: readonly string[] = [
  process.execPath,
  ...(isTs ? ['--import', 'tsx'] : []),
  join(REPO_ROOT, isTs ? 'src/cli/main.ts' : 'dist/src/cli/main.js'),
];

/**
 * `floatd run` on host `h` with the keepalived.conf and pid file of its directory, where its dumps
 * (SIGUSR1/SIGUSR2) and API socket go too; output in the lab's floatd-<h>.log. `env` adds to its
 * environment, `wrap` runs it through a command first (e.g. setpriv).
 */
export function spawnFloatd(
  lab: Lab,
  h: string,
  o: { floatd?: readonly string[]; env?: NodeJS.ProcessEnv; wrap?: string[] } = {},
): ChildProcess {
  const dir = lab.host(h).dir;
  const argv = [...(o.wrap ?? []), ...(o.floatd ?? FLOATD_COMMAND), 'run'];
  argv.push('-f', join(dir, 'keepalived.conf'), '-p', join(dir, 'floatd.pid'));
  return lab.spawn(h, argv, `floatd-${h}.log`, {
    env: { ...process.env, TMPDIR: dir, FLOATD_SOCKET: join(dir, 'floatd.sock'), ...o.env },
  });
}

/** Signals host `h`'s floatd through its pid file (the pid lives in the host's PID namespace). */
export function signalFloatd(
  lab: Lab,
  h: string,
  sig: 'TERM' | 'KILL' | 'HUP' | 'USR1' | 'USR2' | 'STOP' | 'CONT',
): void {
  const pid = readFileSync(join(lab.host(h).dir, 'floatd.pid'), 'utf8').trim();
  lab.exec(h, ['kill', `-${sig}`, pid]);
}

/** Whether host `h`'s floatd runs (its pid file is there: floatd removes it on the way out). */
export const floatdRunning = (lab: Lab, h: string): boolean => existsSync(join(lab.host(h).dir, 'floatd.pid'));

/** The real keepalived in the foreground on host `h` with `conf`, its pid files in the host's directory. */
export function spawnKeepalived(lab: Lab, h: string, conf: string): ChildProcess {
  const dir = lab.host(h).dir;
  const pids = ['-p', join(dir, 'ka.pid'), '-r', join(dir, 'ka-vrrp.pid'), '-c', join(dir, 'ka-check.pid')];
  return lab.spawn(h, ['keepalived', '-n', '-l', '-D', '-f', conf, ...pids], `keepalived-${h}.log`);
}
