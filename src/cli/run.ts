/**
 * `floatd run` (and keepalived's `-f FILE -n -l -D` form): the daemon in the foreground.
 * Without --dont-fork in keepalived mode the configuration is checked first (diagnostics on
 * stderr, exit 1 for an unusable file), then the process re-spawns itself detached, as
 * keepalived forks into the background, and returns once the daemon is up (or says why not).
 */
import { withCode } from '../errors.js';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { isAbsolute } from 'node:path';
import {
  loadConfig,
  loadConfigBounded,
  formatDiagnostic,
  logConfigDiagnostics,
  reloadBlockers,
  type FloatdConfig,
} from '../config/index.js';
import { applyScheduling } from '../daemon/scheduling.js';
import { Runtime } from '../daemon/runtime.js';
import { runDaemon } from '../daemon/daemon.js';
import { createLogger, formatLogBody, type Logger } from '../util/log.js';
import { logSink } from './syslog.js';
import { MaintenanceStore, maintenancePath } from './maintenance-store.js';
import { operatorVerbs } from './operator-verbs.js';
import { afterUs, realClock, US_PER_S } from '../util/clock.js';
import { daemonServices } from './services.js';
import { lbHooks } from '../lb/hooks.js';

export interface RunOptions {
  file: string;
  pidFile?: string;
  json?: boolean;
  detail?: boolean;
  dontFork?: boolean;
  configIds?: string[];
  /** keepalived's mode: syslog unless -G (facility from -S), the console only with -l. */
  logTo?: { syslog?: { facility: number; socket?: string }; console: boolean };
}

/** How long the parent waits for the detached daemon to say it is up. */
const DETACH_WAIT_US = 30 * US_PER_S;

function logger(o: RunOptions): Logger {
  const level = o.detail ? 'debug' : 'info';
  if (!o.logTo) return createLogger({ json: o.json, level });
  // Detached by detach(): until "ready", errors also go back to the waiting parent's stderr.
  const toParent = (rec: Record<string, unknown>): void => {
    if (process.send && process.connected && typeof rec.level === 'number' && rec.level >= 50)
      process.send({ error: formatLogBody(rec) });
  };
  // The fence guard (src/quorum/fence-guard-main.ts) logs on its own, also when the daemon is dead: to the same syslog.
  if (o.logTo.syslog) process.env.FLOATD_GUARD_SYSLOG = `${o.logTo.syslog.facility}:${o.logTo.syslog.socket ?? ''}`;
  const sink = logSink({
    ...(o.logTo.syslog ? { syslog: o.logTo.syslog } : {}),
    ...(o.logTo.console ? { console: process.stderr } : {}),
    also: toParent,
  });
  return createLogger({ json: true, level, stream: sink });
}

/** Validate in the foreground, then start the daemon detached and wait for its "ready". */
async function detach(o: RunOptions): Promise<number> {
  const r = await loadConfig(o.file, { configIds: o.configIds });
  for (const d of r.diagnostics) if (d.severity !== 'info') process.stderr.write(formatDiagnostic(d) + '\n');
  if (!r.config) {
    const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
    process.stderr.write(
      `floatd: ${withCode('CONFIG_UNUSABLE', `${o.file} is not usable; not starting (${errors} error(s))`)}\n`,
    );
    return 1;
  }
  const args = [...process.execArgv, ...process.argv.slice(1), '--dont-fork'];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  return await new Promise<number>((resolve) => {
    const done = (code: number, msg?: string): void => {
      realClock.cancel(timer);
      child.removeAllListeners();
      if (msg) process.stderr.write(`floatd: ${msg}\n`);
      if (child.connected) child.disconnect();
      child.unref();
      resolve(code);
    };
    const timer = afterUs(realClock, DETACH_WAIT_US, () => {
      done(0, `the daemon (pid ${child.pid}) is still starting after ${DETACH_WAIT_US / US_PER_S} s; see its log`);
    });
    child.on('message', (m: unknown) => {
      if (m === 'ready') done(0);
      else if (m && typeof m === 'object' && typeof (m as { error?: unknown }).error === 'string')
        process.stderr.write(`floatd: ${(m as { error: string }).error}\n`);
    });
    child.on('close', (code, sig) =>
      done(
        1,
        `the daemon exited during start-up (${sig ?? `status ${code}`}); ` +
          'its log says why (syslog: journalctl -t floatd)',
      ),
    );
    child.on('error', (e) => done(1, `cannot start the daemon: ${e.message}`));
  });
}

export async function runRun(o: RunOptions): Promise<number> {
  if (o.dontFork === false) return detach(o);
  // Started by detach(): the channel carries one word and must not keep a failed start alive.
  process.channel?.unref();
  const log = logger(o);
  const first = await loadConfig(o.file, { configIds: o.configIds });
  // Warnings and errors (unsupported keywords as config.unsupported); info lines are floatd check's.
  logConfigDiagnostics(
    log,
    first.diagnostics.filter((d) => d.severity !== 'info'),
    'start',
  );
  if (!first.config) {
    log.error(
      { event: 'config.unusable', file: o.file, code: 'CONFIG_UNUSABLE' },
      withCode('CONFIG_UNUSABLE', `${o.file} is not usable; not starting (run: floatd check -f ${o.file})`),
    );
    return 1;
  }
  // keepalived applies these at start; so does floatd (a reload does not change them).
  applyScheduling({ nice: first.config.global.vrrpPriority, rtPriority: first.config.global.vrrpRtPriority }, log);
  const dumpDir = process.env.TMPDIR && isAbsolute(process.env.TMPDIR) ? process.env.TMPDIR : tmpdir();
  // Maintenance survives restarts: the runtime reads the set before its first election.
  const maintenance = new MaintenanceStore(maintenancePath());
  if (maintenance.loadError) log.error({ event: 'verb.maintenance_state' }, maintenance.loadError);
  for (const n of maintenance.names())
    log.info(
      { event: 'verb.maintenance', instance: n, on: true },
      `(${n}) in maintenance (${maintenance.path}): lowest priority`,
    );
  let runtime: Runtime | undefined;
  const verbs = operatorVerbs(
    () => runtime,
    maintenance,
    log,
    () => new Date(realClock.wallMs()).toISOString(),
  );
  // The API re-reads its block from the file the runtime's reload accepted (no second parse).
  let accepted: FloatdConfig | null = first.config;
  const services = daemonServices(first.config.api, log, async () => accepted, verbs);
  // After an accepted reload: parsed again in the bounded worker, off the event loop.
  const lb = lbHooks(
    first.config,
    log,
    () => loadConfigBounded(o.file, { ...(o.configIds ? { configIds: o.configIds } : {}), purpose: 'reload' }),
    realClock,
  );
  return runDaemon({
    pidFile: o.pidFile,
    dumpDir,
    log,
    onReady: async (ctl) => {
      await services.onReady(ctl);
      await lb.onReady();
      // The parent that detached this daemon waits for this word, then exits 0.
      if (process.send && process.connected) {
        process.send('ready');
        process.disconnect();
      }
    },
    onStopping: async () => {
      await services.onStopping();
      await lb.onStopping();
    },
    onReloaded: async () => {
      await services.onReloaded();
      await lb.onReloaded();
    },
    onReloading: () => services.onReloading(),
    onReloadDone: () => services.onReloadDone(),
    createRuntime: async () =>
      (runtime = new Runtime({
        configFile: o.file,
        clock: realClock,
        log,
        holds: () => maintenance.names(),
        load: async (path, purpose) => {
          // A reload parses in a bounded worker: adverts never wait for it (issue 15 item 6).
          const r =
            purpose === 'reload'
              ? await loadConfigBounded(path, { ...(o.configIds ? { configIds: o.configIds } : {}), purpose: 'reload' })
              : await loadConfig(path, { configIds: o.configIds });
          if (purpose !== 'reload')
            return {
              config: r.config,
              errors: r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic),
            };
          logConfigDiagnostics(
            log,
            r.diagnostics.filter((d) => d.severity !== 'info'),
            'reload',
          );
          const blockers = reloadBlockers(r.diagnostics);
          if (blockers.length === 0 && r.config) accepted = r.config;
          return { config: blockers.length ? null : r.config, errors: blockers.map(formatDiagnostic) };
        },
      })),
  });
}
