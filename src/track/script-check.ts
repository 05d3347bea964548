/**
 * Runs a vrrp_script command on its interval, keepalived style: the command as written (PATH
 * lookup, no symlink resolution, no shell), at most one run in flight, a run that outlives its
 * timeout gets SIGTERM to its process group then SIGKILL 2 s later and counts as a failure.
 */
import { spawn } from 'node:child_process';

export interface ScriptResult { ok: boolean; detail: string; durationMs: number }

export interface ScriptCheckOptions {
  name: string;
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  uid?: number;
  gid?: number;
  onResult(r: ScriptResult): void;
}

export class ScriptCheck {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = true;

  constructor(private readonly o: ScriptCheckOptions) {}

  start(): void {
    this.stopped = false;
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), this.o.intervalMs);
    if (this.running) return; // keepalived 2.2.8 would start a second copy; we never do
    this.running = true;
    void runOnce(this.o).then((r) => {
      this.running = false;
      if (!this.stopped) this.o.onResult(r);
    });
  }
}

export function runOnce(o: Pick<ScriptCheckOptions, 'argv' | 'timeoutMs' | 'uid' | 'gid'>): Promise<ScriptResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const [cmd, ...args] = o.argv;
    if (!cmd) { resolve({ ok: false, detail: 'empty command', durationMs: 0 }); return; }
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const child = spawn(cmd, args, {
      stdio: 'ignore',
      detached: true, // own process group, so a timeout kills the whole tree
      ...(o.uid !== undefined ? { uid: o.uid } : {}),
      ...(o.gid !== undefined ? { gid: o.gid } : {}),
    });
    const timeout = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 2000);
    }, o.timeoutMs);
    const done = (r: Omit<ScriptResult, 'durationMs'>): void => {
      clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      resolve({ ...r, durationMs: performance.now() - t0 });
    };
    child.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, detail: `cannot run ${cmd}: ${e.code ?? e.message}` }));
    child.on('exit', (code, signal) => {
      if (timedOut) done({ ok: false, detail: `timed out after ${o.timeoutMs} ms` });
      else if (signal) done({ ok: false, detail: `killed by ${signal}` });
      else done({ ok: code === 0, detail: `exit ${code}` });
    });
  });
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try { process.kill(-pid, sig); } catch { /* already gone */ }
}
