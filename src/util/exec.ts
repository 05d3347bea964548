/**
 * Runs a short command (nft, ip) as a child process without blocking the loop, stdin given as a
 * string. Shared by the load balancer's nftables backend and quorum mode's hand-over drain; it
 * remembers the pids it ran so `nft monitor` (src/lb/healing-backend.ts) can tell floatd's own
 * ruleset changes from an operator's.
 */
import { spawn } from 'node:child_process';

/** `errno`: the command could not be started (ENOENT: not installed); `code` is then 127, like a shell's. */
export type Exec = (
  argv: string[],
  stdin?: string,
) => Promise<{ code: number; stdout: string; stderr: string; errno?: string }>;

/** The last processes floatd ran (their pids), so `nft monitor` can tell floatd's changes from others'. */
const recent: number[] = [];
export const isOwnPid = (pid: number): boolean => recent.includes(pid);

/**
 * Runs a command without blocking the loop; `prefix` runs it elsewhere (e.g. `ip netns exec NS`).
 * `killAfterMs` is child_process's own kill timeout (a hung command), not a timer of floatd's.
 */
export function execFile(prefix: string[] = [], killAfterMs = 10_000): Exec {
  return (argv, stdin) =>
    new Promise((resolve) => {
      const all = [...prefix, ...argv];
      const child = spawn(all[0]!, all.slice(1), {
        stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        timeout: killAfterMs,
      });
      if (child.pid !== undefined) {
        recent.push(child.pid);
        if (recent.length > 256) recent.shift();
      }
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (b: Buffer) => {
        stdout += b.toString();
      });
      child.stderr?.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      child.on('error', (e: NodeJS.ErrnoException) =>
        resolve({ code: 127, stdout, stderr: stderr + String(e), ...(e.code ? { errno: e.code } : {}) }),
      );
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      if (child.stdin) {
        child.stdin.on('error', () => undefined); // a child that exits early: its exit code says why
        child.stdin.end(stdin);
      }
    });
}
