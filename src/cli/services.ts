/**
 * What `floatd run` adds around the runtime once it is up: the local API (socket, loopback,
 * /metrics, dashboard) and systemd's notify protocol. Either failing to start is logged and
 * the daemon goes on: VRRP matters more than its window. A reload re-reads the floatd_api
 * block and the token (rotate a token with SIGHUP); changed listeners are reopened.
 */
import type { ApiConfig, FloatdConfig } from '../config/model.js';
import { defaultApiConfig } from '../config/api-block.js';
import type { ApiServer, ApiProvider } from '../api/server.js';
import { loadToken, TokenError } from '../api/auth.js';
import { withCode } from '../errors.js';
import type { DaemonControl } from '../daemon/daemon.js';
import { SdNotify, statusLine } from '../daemon/sd-notify.js';
import type { Logger } from '../util/log.js';
import type { Verbs } from '../model/verbs.js';
import { withLb } from '../lb/hooks.js';

export interface Services {
  onReady(ctl: DaemonControl): Promise<void>;
  onReloaded(): Promise<void>;
  /** sd_notify RELOADING=1 (with MONOTONIC_USEC) as a reload begins. */
  onReloading(): void;
  /** sd_notify READY=1 with the status once it is over (also after a refused file). */
  onReloadDone(): void;
  onStopping(): Promise<void>;
}

/** No floatd_api block: the defaults, with $FLOATD_SOCKET (as `floatd status` reads it) for the socket. */
function effective(api: ApiConfig | undefined): ApiConfig {
  return api ?? { ...defaultApiConfig(), ...(process.env.FLOATD_SOCKET ? { socket: process.env.FLOATD_SOCKET } : {}) };
}

/** What the listeners depend on (a token change needs no reopening). */
function listeners(c: ApiConfig): string {
  return JSON.stringify([
    c.enabled,
    c.listen,
    c.socket ?? null,
    c.dashboard,
    c.socketGroup ?? null,
    c.maxConnections ?? null,
  ]);
}

function token(c: ApiConfig, log: Logger): string | undefined {
  try {
    const t = loadToken(c);
    for (const w of t.warnings) log.warn({ event: 'api.token' }, w);
    return t.token;
  } catch (e) {
    if (!(e instanceof TokenError)) throw e;
    log.error({ event: 'api.token', code: e.code }, withCode(e.code, `${e.message}; API actions are disabled`));
    return undefined;
  }
}

export function daemonServices(
  api: ApiConfig | undefined,
  log: Logger,
  reloadConfig: () => Promise<FloatdConfig | null>,
  verbs?: Verbs,
): Services {
  const sd = new SdNotify({ log });
  let server: ApiServer | undefined;
  let current = effective(api);
  let provider: ApiProvider | undefined;
  let statusText = (): string => 'running';

  const open = async (cfg: ApiConfig): Promise<void> => {
    if (!cfg.enabled || !provider) return;
    // Loaded once VRRP is up (onReady): metrics and the dashboard are not on the start-up path.
    const { ApiServer } = await import('../api/server.js');
    const routes = [
      ...(verbs ? (await import('../api/verbs.js')).verbRoutes(verbs) : []),
      ...(await import('../api/lb-routes.js')).lbRoutes(),
    ];
    server = new ApiServer({ config: cfg, log, token: token(cfg, log), provider, routes });
    await server.start();
  };

  return {
    async onReady(ctl) {
      const rt = ctl.runtime;
      if (rt.status) {
        const vrrp = rt.status.bind(rt);
        const status = (): ReturnType<typeof vrrp> => withMaintenance(withLb(vrrp()), verbs);
        provider = {
          status,
          reload: () => ctl.reload(),
          ...(rt.handover ? { handover: (name: string, hold: number) => rt.handover!(name, hold) } : {}),
        };
        await open(current);
      }
      if (rt.status) {
        const st = rt.status.bind(rt);
        statusText = () => statusLine(st());
      }
      sd.ready(statusText);
    },
    onReloading() {
      sd.reloading();
    },
    onReloadDone() {
      sd.reloaded(statusText());
    },
    async onReloaded() {
      const cfg = await reloadConfig();
      if (!cfg) return;
      const next = effective(cfg.api);
      if (listeners(next) !== listeners(current)) {
        log.info({ event: 'api.reopen' }, 'floatd_api changed: reopening the API listeners');
        await server?.close();
        server = undefined;
        current = next;
        await open(next);
      } else {
        current = next;
        server?.setToken(token(next, log));
      }
    },
    async onStopping() {
      sd.stopping();
      await server?.close();
    },
  };
}

/** Marks the instances in maintenance in the status the API, /metrics and the dashboard read. */
function withMaintenance<S extends { instances: { name: string; maintenance?: boolean }[] }>(
  s: S,
  verbs: Verbs | undefined,
): S {
  const m = verbs?.maintained();
  if (!m || Object.keys(m).length === 0) return s;
  return { ...s, instances: s.instances.map((i) => (m[i.name] ? { ...i, maintenance: true } : i)) };
}
