/**
 * The daemon's side of the fence guard (docs/quorum.md, "Fence guard"): starts the guard process
 * (fence-guard-main.ts) once per daemon, waits for its `ready`, and tells it each holder's deadline
 * as CLOCK_MONOTONIC µs (absolute, so neither the pipe nor a slow guard can stretch it; a "remaining
 * µs" would count from whenever the guard reads it). While the guard is not running — not yet
 * ready, or it died and is being restarted — `running()` is false and the wiring refuses holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterUs, MONOTONIC_ORIGIN_US, US_PER_MS, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { GuardMessage, GuardVip } from './guard-machine.js';

export interface FenceGuardPort {
  /** Started, said ready, not exited: a hold may be granted. */
  running(): boolean;
  /** The holder may hold `vips` until `deadlineUs` (the daemon's clock µs). */
  hold(holder: string, deadlineUs: number, vips: GuardVip[]): void;
  release(holder: string): void;
  /** Called when a running guard stops running (the wiring fences what it held), and when it is ready again. */
  onChange(cb: (running: boolean) => void): void;
  /**
   * The guard removed the holder's VIPs at its deadline. Seen by a daemon that still holds (a renewal
   * acknowledged within the pipe's latency of the deadline), it must fence: nothing puts them back.
   */
  onRemoved(cb: (holder: string) => void): void;
}

/** Run from dist/ (.js), or from src/ under tsx (.ts: the guard then needs tsx too). */
const isTs = import.meta.url.endsWith('.ts');
const MAIN = [
  ...(isTs ? ['--import', 'tsx'] : []),
  fileURLToPath(new URL(`./fence-guard-main.${isTs ? 'ts' : 'js'}`, import.meta.url)),
];
const RESTART_US = 1_000_000;

export class FenceGuardProcess implements FenceGuardPort {
  private child: ChildProcess | undefined;
  private ready = false;
  private readonly listeners: ((running: boolean) => void)[] = [];
  private readonly removedListeners: ((holder: string) => void)[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.start();
  }

  running(): boolean {
    return this.ready;
  }

  onChange(cb: (running: boolean) => void): void {
    this.listeners.push(cb);
  }

  hold(holder: string, deadlineUs: number, vips: GuardVip[]): void {
    this.send({ t: 'hold', h: holder, d: deadlineUs + MONOTONIC_ORIGIN_US, v: vips });
  }

  release(holder: string): void {
    this.send({ t: 'release', h: holder });
  }

  private send(m: GuardMessage): void {
    if (!this.ready || !this.child?.stdin) return;
    this.child.stdin.write(`${JSON.stringify(m)}\n`);
  }

  private start(): void {
    const child = spawn(process.execPath, MAIN, {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, FLOATD_GUARD_DAEMON_PID: String(process.pid) },
    });
    this.child = child;
    child.unref();
    for (const s of [child.stdin, child.stdout] as const) (s as unknown as { unref?: () => void }).unref?.();
    child.stdin?.on('error', () => undefined); // a dead guard: the exit handler speaks
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      out += d;
      let i: number;
      while ((i = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        this.line(child, line);
      }
    });
    child.on('error', (e) => this.exited(child, e.message));
    child.on('exit', (code, signal) => this.exited(child, signal ?? `exit code ${code}`));
  }

  /** `ready netlink|ip` once; `removed "<holder>"` whenever it removed VIPs at a deadline. */
  private line(child: ChildProcess, line: string): void {
    const ready = /^ready (\w+)$/.exec(line);
    if (ready && !this.ready) {
      this.ready = true;
      this.log.info(
        { event: 'quorum.guard_ready', pid: child.pid, via: ready[1] },
        `fence guard running (pid ${child.pid}, removes VIPs through ${ready[1]})`,
      );
      for (const l of this.listeners) l(true);
      return;
    }
    const removed = /^removed (".*")$/.exec(line);
    if (removed) for (const l of this.removedListeners) l(JSON.parse(removed[1]!) as string);
  }

  onRemoved(cb: (holder: string) => void): void {
    this.removedListeners.push(cb);
  }

  private exited(child: ChildProcess, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    const was = this.ready;
    this.ready = false;
    this.log.error(
      { event: 'quorum.guard_exit', code: 'QUORUM_GUARD_DOWN', why },
      `fence guard stopped (${why}): no hold until it runs again; restarting in ${RESTART_US / US_PER_MS} ms`,
    );
    if (was) for (const l of this.listeners) l(false);
    afterUs(this.clock, RESTART_US, () => this.start(), { weak: true });
  }
}

let shared: FenceGuardProcess | undefined;

/** The daemon's one guard process (kept across reloads: the holders' names stay the keys). */
export function sharedFenceGuard(clock: Clock, log: Logger): FenceGuardPort {
  shared ??= new FenceGuardProcess(clock, log);
  return shared;
}
