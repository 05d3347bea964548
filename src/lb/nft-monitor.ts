/**
 * `nft monitor` as a line source (shell): one long-running child printing every change to the
 * ruleset, so a change to floatd's tables by someone else is seen at once instead of at the next
 * periodic look (reconcile.ts `MonitorParser` reads the lines). Nothing polls.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LineSource {
  stop(): void;
}
export type StartMonitor = (onLine: (l: string) => void, onExit: (why: string) => void) => LineSource;

export const nftMonitor =
  (prefix: string[] = []): StartMonitor =>
  (onLine, onExit) => {
    const argv = [...prefix, 'nft', 'monitor'];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stopped = false;
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 500) err += b.toString();
    });
    createInterface({ input: child.stdout }).on('line', onLine);
    child.on('error', (e) => {
      if (!stopped) onExit(String(e));
    });
    child.on('exit', (code, sig) => {
      if (!stopped) onExit(`nft monitor exited (${sig ?? code ?? '?'})${err ? `: ${err.trim()}` : ''}`);
    });
    return {
      stop() {
        stopped = true;
        child.kill();
      },
    };
  };
