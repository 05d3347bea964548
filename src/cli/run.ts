/**
 * `floatd run` (and keepalived's `-f FILE -n -l -D` form): the daemon in the foreground.
 * Without --dont-fork in keepalived mode the process re-spawns itself detached, as
 * keepalived forks into the background.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { isAbsolute } from 'node:path';
import { loadConfig, formatDiagnostic } from '../config/index.js';
import { applyScheduling } from '../daemon/scheduling.js';
import { Runtime } from '../daemon/runtime.js';
import { runDaemon } from '../daemon/daemon.js';
import { createLogger } from '../util/log.js';
import { realClock } from '../util/clock.js';
import { daemonServices } from './services.js';

export interface RunOptions {
  file: string;
  pidFile?: string;
  json?: boolean;
  detail?: boolean;
  dontFork?: boolean;
  configIds?: string[];
}

export async function runRun(o: RunOptions): Promise<number> {
  if (o.dontFork === false) {
    const args = process.argv.slice(1).concat('--dont-fork');
    const child = spawn(process.execPath, args, { detached: true, stdio: 'ignore' });
    child.unref();
    return 0;
  }
  const log = createLogger({ json: o.json, level: o.detail ? 'debug' : 'info' });
  const first = await loadConfig(o.file, { configIds: o.configIds });
  for (const d of first.diagnostics) {
    if (d.severity === 'info') continue;
    log[d.severity === 'error' ? 'error' : 'warn']({ event: 'config.diagnostic' }, formatDiagnostic(d));
  }
  if (!first.config) {
    log.error({ event: 'config.unusable', file: o.file }, `${o.file} is not usable; not starting (run: floatd check -f ${o.file})`);
    return 1;
  }
  // keepalived applies these at start; so does floatd (a reload does not change them).
  applyScheduling({ nice: first.config.global.vrrpPriority, rtPriority: first.config.global.vrrpRtPriority }, log);
  const dumpDir = process.env.TMPDIR && isAbsolute(process.env.TMPDIR) ? process.env.TMPDIR : tmpdir();
  const services = daemonServices(first.config.api, log, async () => (await loadConfig(o.file, { configIds: o.configIds })).config);
  return runDaemon({
    pidFile: o.pidFile,
    dumpDir,
    log,
    onReady: (ctl) => services.onReady(ctl),
    onStopping: () => services.onStopping(),
    onReloaded: () => services.onReloaded(),
    createRuntime: async () => new Runtime({
      configFile: o.file,
      clock: realClock,
      log,
      load: async (path) => {
        const r = await loadConfig(path, { configIds: o.configIds });
        return { config: r.config, errors: r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic) };
      },
    }),
  });
}
