/**
 * systemd's notify protocol (sd_notify(3)) for `Type=notify` units: READY=1 once the daemon
 * runs, STATUS= with the instances' states, WATCHDOG=1 at half of WatchdogSec, STOPPING=1.
 * Datagrams go to $NOTIFY_SOCKET through the native addon (Node cannot send on AF_UNIX
 * SOCK_DGRAM). Outside systemd ($NOTIFY_SOCKET unset) every call does nothing.
 */
import type { Logger } from '../util/log.js';
import { realClock, type Clock, type TimerHandle } from '../util/clock.js';
import { native } from '../native/addon.js';
import type { DaemonStatus } from '../model/status-types.js';

export type DgramSend = (path: string, data: Buffer) => void;

export interface SdNotifyOptions {
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Test hook; default: the native addon. */
  send?: DgramSend;
  /** The daemon's clock (default: the real one). */
  clock?: Clock;
  /**
   * CLOCK_MONOTONIC in µs, as systemd reads MONOTONIC_USEC (the daemon's Clock counts from its
   * own origin, so it cannot give this). Default: process.hrtime, which is CLOCK_MONOTONIC.
   */
  monotonicUs?: () => bigint;
}

export class SdNotify {
  private readonly socket?: string;
  /** µs between WATCHDOG=1 pings (half of systemd's WATCHDOG_USEC). */
  private readonly watchdogUs?: number;
  private readonly send: DgramSend;
  private timer?: TimerHandle;
  private lastStatus = '';
  private broken = false;

  constructor(private readonly o: SdNotifyOptions) {
    const env = o.env ?? process.env;
    this.socket = env.NOTIFY_SOCKET || undefined;
    const usec = Number(env.WATCHDOG_USEC);
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    if (this.socket && Number.isFinite(usec) && usec > 0 && forUs)
      this.watchdogUs = Math.max(1000, Math.floor(usec / 2));
    // Scripts floatd starts must not talk to systemd as if they were the service.
    for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete env[k];
    this.send =
      o.send ??
      ((path, data) => {
        native().unixDgramSend(path, data);
      });
  }

  get enabled(): boolean {
    return this.socket !== undefined;
  }
  /** µs between WATCHDOG=1 pings, when systemd asked for them. */
  get watchdogIntervalUs(): number | undefined {
    return this.watchdogUs;
  }

  notify(...lines: string[]): void {
    if (!this.socket || this.broken) return;
    try {
      this.send(this.socket, Buffer.from(lines.join('\n')));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A missing addon will not appear later; a full queue (EAGAIN) is worth another try.
      if (code === 'FLOATD_NATIVE_MISSING') this.broken = true;
      this.o.log.warn(
        { event: 'daemon.sd_notify_error', err: code ?? String(e) },
        `sd_notify to ${this.socket} failed: ${(e as Error).message}`,
      );
    }
  }

  /** READY=1 plus the first STATUS=, then WATCHDOG=1 and STATUS= updates on a timer. */
  ready(status: () => string): void {
    this.lastStatus = status();
    this.notify('READY=1', `STATUS=${this.lastStatus}`, `MAINPID=${process.pid}`);
    if (!this.socket) return;
    // STATUS follows the states within a second; the watchdog pings at half its period.
    const every = Math.min(1_000_000, this.watchdogUs ?? 1_000_000);
    let sinceWatchdog = 0;
    const clock = this.o.clock ?? realClock;
    const tick = (): void => {
      this.timer = clock.at(clock.nowUs() + every, tick, { weak: true });
      const s = status();
      const lines: string[] = [];
      if (s !== this.lastStatus) {
        lines.push(`STATUS=${s}`);
        this.lastStatus = s;
      }
      sinceWatchdog += every;
      if (this.watchdogUs !== undefined && sinceWatchdog >= this.watchdogUs) {
        lines.push('WATCHDOG=1');
        sinceWatchdog = 0;
      }
      if (lines.length) this.notify(...lines);
    };
    this.timer = clock.at(clock.nowUs() + every, tick, { weak: true });
  }

  /**
   * A reload begins (SIGHUP or the API): RELOADING=1 with MONOTONIC_USEC, which systemd
   * (253+, Type=notify-reload and Type=notify) needs to tell this reload from an older one.
   * Must be followed by reloaded(), whether the new configuration was taken or refused.
   */
  reloading(): void {
    const us = (this.o.monotonicUs ?? (() => process.hrtime.bigint() / 1000n))();
    this.notify('RELOADING=1', `MONOTONIC_USEC=${us}`, 'STATUS=reloading the configuration');
  }

  /** The reload is over (taken or refused): READY=1 and the current status. */
  reloaded(status: string): void {
    this.lastStatus = status;
    this.notify('READY=1', `STATUS=${status}`);
  }

  stopping(): void {
    if (this.timer) (this.o.clock ?? realClock).cancel(this.timer);
    this.timer = undefined;
    this.notify('STOPPING=1', 'STATUS=stopping');
  }
}

/** One line for `systemctl status`: each instance's state and effective priority. */
export function statusLine(s: Pick<DaemonStatus, 'instances'>): string {
  if (s.instances.length === 0) return 'running, no vrrp_instance';
  return s.instances.map((i) => `${i.name} ${i.state} (prio ${i.effectivePriority})`).join(', ');
}
