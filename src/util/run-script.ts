/**
 * Runs one external command the way keepalived's system_call_script() does, minus its traps:
 * the command as written (argv[0] looked up in PATH but never resolved through symlinks, so
 * Debian's `pidof` → killall5 link keeps its name), no shell unless keepalived would use one
 * (a `</path` file test, or a file with no shebang and no ELF header), its own process group,
 * and a timeout that sends SIGTERM to the group, then SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterUs, realClock, US_PER_MS, US_PER_S, type Clock, type TimerHandle } from './clock.js';

export interface RunRequest {
  argv: readonly string[];
  /** Kill the process group after this many µs; the run then counts as a failure. */
  timeoutUs: number;
  uid?: number;
  gid?: number;
  /** Time between SIGTERM and SIGKILL, µs; keepalived's 2 s. */
  killGraceUs?: number;
  clock?: Clock;
  /**
   * Aborting kills the run like a timeout (floatd stopping or reloading, a newer state's notify);
   * a string `signal.reason` says why and becomes the result's detail (`killed: <reason>`).
   */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  ok: boolean;
  /** keepalived-style wording: "exited with status 1", "due to signal 9", "timed out after 2000 ms". */
  detail: string;
  durationMs: number;
  exitCode?: number;
  signal?: NodeJS.Signals;
  timedOut?: boolean;
  /** Killed because its signal aborted (not its timeout). */
  aborted?: boolean;
  /** The command could not be started at all (not found, not executable, refused). */
  notRun?: boolean;
}

export type ScriptRunner = (req: RunRequest) => Promise<RunResult>;

export type Resolved =
  { ok: true; file: string; args: string[]; argv0: string; viaShell: boolean } | { ok: false; error: string };

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Finds what to exec for argv, following keepalived's rules for when a shell is needed. */
export function resolveCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Resolved {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '') return { ok: false, error: 'empty command' };
  // keepalived runs `</dev/tcp/host/port`-style file tests through the shell, unquoted.
  if (/^[<>]/.test(cmd)) {
    const line = [cmd, ...rest.map(shellQuote)].join(' ');
    return { ok: true, file: '/bin/sh', args: ['-c', line], argv0: '/bin/sh', viaShell: true };
  }
  const path = cmd.includes('/') ? cmd : lookPath(cmd, env.PATH ?? DEFAULT_PATH);
  if (!path) return { ok: false, error: `${cmd}: not found in PATH` };
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    return { ok: false, error: `${path}: ${errCode(e)}` };
  }
  if (!st.isFile()) return { ok: false, error: `${path}: not a regular file` };
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return { ok: false, error: `${path}: not executable` };
  }
  if (!hasExecHeader(path)) {
    // No shebang: keepalived falls back to system(), i.e. the shell reads the file as a script.
    return { ok: true, file: '/bin/sh', args: [path, ...rest], argv0: '/bin/sh', viaShell: true };
  }
  return { ok: true, file: path, args: rest, argv0: cmd, viaShell: false };
}

function lookPath(name: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** "#!" or an ELF header. Unreadable (execute-only) files are assumed to be binaries. */
function hasExecHeader(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    const n = readSync(fd, b, 0, 4, 0);
    if (n >= 2 && b[0] === 0x23 && b[1] === 0x21) return true;
    return n === 4 && b.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return true;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

/** Runs argv to completion (or kill); never rejects. */
export const runScript: ScriptRunner = (req) => {
  const clock = req.clock ?? realClock;
  const t0 = clock.nowUs();
  const r = resolveCommand(req.argv, req.env);
  if (!r.ok) return Promise.resolve({ ok: false, detail: `cannot run: ${r.error}`, durationMs: 0, notRun: true });
  return new Promise((resolve) => {
    let phase: 'running' | 'term' | 'kill' = 'running';
    /** Why the run is being killed: its timeout, or its signal's reason. */
    let why: string | undefined;
    let killTimer: TimerHandle | undefined;
    const child = spawn(r.file, r.args, {
      argv0: r.argv0,
      stdio: 'ignore',
      detached: true, // setsid: its own process group, so a kill reaches everything it started
      env: req.env ?? process.env,
      ...(req.uid !== undefined ? { uid: req.uid } : {}),
      ...(req.gid !== undefined ? { gid: req.gid } : {}),
    });
    const pid = child.pid;
    const terminate = (): void => {
      if (phase !== 'running') return;
      phase = 'term';
      killGroup(pid, 'SIGTERM');
      const graceUs = req.killGraceUs ?? 2 * US_PER_S;
      killTimer = afterUs(
        clock,
        graceUs,
        () => {
          phase = 'kill';
          killGroup(pid, 'SIGKILL');
        },
        { weak: true },
      );
    };
    const timeoutUs = req.timeoutUs;
    const timer = afterUs(
      clock,
      timeoutUs,
      () => {
        why ??= 'timeout';
        terminate();
      },
      { weak: true },
    );
    const onAbort = (): void => {
      why ??= abortText(req.signal?.reason);
      terminate();
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.signal?.aborted) onAbort();
    let settled = false;
    const done = (res: Omit<RunResult, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clock.cancel(timer);
      if (killTimer !== undefined) clock.cancel(killTimer);
      req.signal?.removeEventListener('abort', onAbort);
      resolve({ ...res, durationMs: (clock.nowUs() - t0) / US_PER_MS });
    };
    child.on('error', (e: NodeJS.ErrnoException) =>
      done({ ok: false, detail: `cannot run ${req.argv[0]}: ${e.code ?? e.message}`, notRun: true }),
    );
    child.on('exit', (code, sig) => {
      if (phase !== 'running') {
        // Whatever it left behind in its group goes too (keepalived does the same after a TERM).
        killGroup(pid, 'SIGKILL');
        const exit = { ...(sig ? { signal: sig } : {}), ...(code !== null ? { exitCode: code } : {}) };
        const timedOut = why === 'timeout';
        if (timedOut) done({ ok: false, detail: `timed out after ${req.timeoutUs / US_PER_MS} ms`, timedOut, ...exit });
        else done({ ok: false, detail: `killed: ${why ?? 'aborted'}`, aborted: true, ...exit });
      } else if (sig) {
        done({ ok: false, detail: `due to signal ${sig}`, signal: sig });
      } else {
        done({ ok: code === 0, detail: `exited with status ${code ?? -1}`, exitCode: code ?? -1 });
      }
    });
  });
};

/** An abort reason as text: a string as given, an Error's message; the DOMException default as "aborted". */
function abortText(reason: unknown): string {
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return 'aborted';
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    /* already gone */
  }
}
