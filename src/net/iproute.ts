/** Runs iproute2's `ip` as a child process: the one place that shells out for kernel state. */
import { execFile } from 'node:child_process';

export interface IpResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ip ARGS…`; tests swap it for a fake, the lab wraps it with `ip -n NS`. */
export type IpRunner = (args: string[]) => Promise<IpResult>;

export class IpCommandError extends Error {
  readonly code = 'FLOATD_IP';
  constructor(
    readonly args: string[],
    readonly result: IpResult,
  ) {
    super(`ip ${args.join(' ')} failed: ${result.stderr.trim() || `exit ${result.code}`}`);
  }
}

/** The real runner; `netns` runs it in that namespace (`ip -n NS …`). */
export function ipRunner(opts: { netns?: string; bin?: string; timeoutMs?: number } = {}): IpRunner {
  const pre = opts.netns ? ['-n', opts.netns] : [];
  return (args) =>
    new Promise((resolve) => {
      execFile(
        opts.bin ?? 'ip',
        [...pre, ...args],
        { timeout: opts.timeoutMs ?? 5000, encoding: 'utf8' },
        (err, stdout, stderr) => {
          const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
          if (e && typeof e.code === 'string') {
            // spawn failure (ENOENT: iproute2 not installed) rather than a non-zero exit
            resolve({ code: -1, stdout: '', stderr: `cannot run ip: ${e.message}` });
            return;
          }
          resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
        },
      );
    });
}

export const defaultIp: IpRunner = ipRunner();

/** Runs and parses `ip -json …`; throws IpCommandError on failure. */
export async function ipJson<T>(run: IpRunner, args: string[]): Promise<T> {
  const r = await run(['-json', ...args]);
  if (r.code !== 0) throw new IpCommandError(['-json', ...args], r);
  const text = r.stdout.trim();
  return (text ? JSON.parse(text) : []) as T;
}
