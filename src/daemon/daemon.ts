/**
 * The daemon process: load the config, take the pid file, start the runtime, and turn signals
 * into runtime operations (keepalived's signal map: HUP reload, TERM/INT stop, USR1 data dump,
 * USR2 statistics). Process lifecycle only; every decision lives in the runtime and below.
 */
import { withCode } from '../errors.js';
import type { Logger } from '../util/log.js';
import { dumpDirectory, writeDump } from './dumps.js';
import { acquirePidFile, PidFileError } from './pidfile.js';
import type { DaemonStatus } from '../model/status-types.js';

export interface RuntimeLike {
  start(): Promise<void>;
  /** Graceful stop: priority-0 adverts, VIPs removed, notify_stop. */
  stop(reason: string): Promise<void>;
  /** Re-read the config; a bad new config leaves the running one untouched. */
  reload(): Promise<{ ok: boolean; message: string }>;
  dataDump(): string;
  statsDump(): string;
  status?(): DaemonStatus;
  /** Give up MASTER now and stay out of the election for `holdS` seconds (API hand-over). */
  handover?(instance: string, holdS: number): { ok: boolean; message: string };
  /** Hand-over that keeps the VIPs until the new MASTER speaks (`floatd switchover`). */
  switchover?(instance: string, holdS: number): { ok: boolean; message: string };
  /** The maintenance set changed for this instance: re-weigh it (a held MASTER switches over). */
  holdChanged?(instance: string, reason: string): { ok: boolean; message: string };
}

/** What onReady gets: the runtime, and a reload that queues behind SIGHUP's. */
export interface DaemonControl {
  runtime: RuntimeLike;
  reload(): Promise<{ ok: boolean; message: string }>;
}

export interface DaemonOptions {
  pidFile?: string;
  /** Where SIGUSR1/SIGUSR2 write (keepalived: $TMPDIR or /tmp). */
  dumpDir: string;
  log: Logger;
  createRuntime(): Promise<RuntimeLike>;
  /** Called once the daemon is running (API, sd_notify READY=1). */
  onReady?(ctl: DaemonControl): void | Promise<void>;
  /** Called first on a stop signal, before the runtime stops (sd_notify STOPPING=1, API closed). */
  onStopping?(): void | Promise<void>;
  /** Called after each accepted reload (the API re-reads its block and token). */
  onReloaded?(): void | Promise<void>;
  /** Called as each reload begins (sd_notify RELOADING=1). */
  onReloading?(): void;
  /** Called when each reload is over, taken or refused, after onReloaded (sd_notify READY=1). */
  onReloadDone?(ok: boolean): void;
}

/** Runs until a stop signal; resolves with the process exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const { log } = opts;
  let releasePid: (() => void) | undefined;
  if (opts.pidFile) {
    try {
      releasePid = acquirePidFile(opts.pidFile);
    } catch (e) {
      if (e instanceof PidFileError) {
        log.error({ event: 'daemon.pidfile', code: e.code }, withCode(e.code, e.message));
        return 1;
      }
      throw e;
    }
  }
  let runtime: RuntimeLike;
  try {
    runtime = await opts.createRuntime();
    await runtime.start();
  } catch (e) {
    releasePid?.();
    throw e;
  }
  let reloading: Promise<unknown> = Promise.resolve();
  // Reloads (SIGHUP or the API) run one at a time.
  const reload = (): Promise<{ ok: boolean; message: string }> => {
    const r = reloading.then(async () => {
      let ok = false;
      opts.onReloading?.();
      try {
        const res = await runtime.reload();
        ok = res.ok;
        if (res.ok)
          await Promise.resolve(opts.onReloaded?.()).catch((e: unknown) =>
            log.error({ event: 'daemon.reload_hook_error', err: String(e) }, `after reload: ${String(e)}`),
          );
        return res;
      } finally {
        opts.onReloadDone?.(ok);
      }
    });
    reloading = r.catch(() => undefined);
    return r;
  };
  let ready: Promise<void> = Promise.resolve();

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ event: 'daemon.stop', signal: sig }, `Stopping (${sig})`);
      ready
        .then(() => opts.onStopping?.())
        .catch((e: unknown) => log.error({ event: 'daemon.stop_error', err: String(e) }, 'error while stopping'))
        .then(() => reloading)
        .then(() => runtime.stop(`signal ${sig}`))
        .catch((e: unknown) => log.error({ event: 'daemon.stop_error', err: String(e) }, 'error while stopping'))
        .finally(() => {
          cleanup();
          releasePid?.();
          resolve(0);
        });
    };
    const onHup = (): void => {
      if (stopping) return;
      log.info({ event: 'daemon.reload' }, 'Reloading configuration (SIGHUP)');
      reload()
        .then((r) => {
          if (r.ok) log.info({ event: 'daemon.reloaded' }, r.message);
          else
            log.error(
              { event: 'daemon.reload_failed' },
              `reload refused, keeping the running configuration: ${r.message}`,
            );
        })
        .catch((e: unknown) => log.error({ event: 'daemon.reload_failed', err: String(e) }, 'reload failed'));
    };
    const dump = (file: string, text: () => string, what: string): void => {
      // A private directory, O_EXCL|O_NOFOLLOW, then a rename (dumps.ts): no link is followed.
      Promise.resolve()
        .then(() => writeDump(dumpDirectory(opts.dumpDir), file, text()))
        .then(
          (path) => log.info({ event: 'daemon.dump', path }, `${what} written to ${path}`),
          (e: unknown) =>
            log.error(
              { event: 'daemon.dump_failed', dir: opts.dumpDir, err: String(e) },
              `could not write ${what}: ${String(e)}`,
            ),
        );
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    const onUsr1 = (): void => dump('floatd.data', () => runtime.dataDump(), 'data dump');
    const onUsr2 = (): void => dump('floatd.stats', () => runtime.statsDump(), 'statistics');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);
    process.on('SIGUSR1', onUsr1);
    process.on('SIGUSR2', onUsr2);
    ready = (async () => {
      await opts.onReady?.({ runtime, reload });
    })().catch((e: unknown) => {
      log.error({ event: 'daemon.ready_error', err: String(e) }, `start-up hook failed: ${String(e)}`);
    });
    function cleanup(): void {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      process.off('SIGUSR1', onUsr1);
      process.off('SIGUSR2', onUsr2);
    }
  });
}
