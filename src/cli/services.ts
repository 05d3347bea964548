/**
 * What `floatd run` adds around the runtime once it is up: the local API (socket, loopback,
 * /metrics, dashboard) and systemd's notify protocol. Either failing to start is logged and
 * the daemon goes on: VRRP matters more than its window.
 */
import type { ApiConfig } from '../config/model.js';
import { defaultApiConfig } from '../config/api-block.js';
import { ApiServer } from '../api/server.js';
import { loadToken, TokenError } from '../api/auth.js';
import type { DaemonControl } from '../daemon/daemon.js';
import { SdNotify, statusLine } from '../daemon/sd-notify.js';
import type { DaemonStatus } from '../daemon/status-types.js';
import type { Logger } from '../util/log.js';

export interface Services {
  onReady(ctl: DaemonControl): Promise<void>;
  onStopping(): Promise<void>;
}

export function daemonServices(api: ApiConfig | undefined, log: Logger): Services {
  const sd = new SdNotify({ log });
  let server: ApiServer | undefined;
  return {
    async onReady(ctl) {
      const rt = ctl.runtime;
      const status = (): DaemonStatus => {
        if (!rt.status) throw new Error('this runtime has no status');
        return rt.status();
      };
      // No floatd_api block: the defaults, with $FLOATD_SOCKET (as `floatd status` reads it) for the socket.
      const cfg = api ?? { ...defaultApiConfig(), ...(process.env.FLOATD_SOCKET ? { socket: process.env.FLOATD_SOCKET } : {}) };
      if (cfg.enabled && rt.status) {
        let token: string | undefined;
        try {
          const t = loadToken(cfg);
          token = t.token;
          for (const w of t.warnings) log.warn({ event: 'api.token' }, w);
        } catch (e) {
          if (!(e instanceof TokenError)) throw e;
          log.error({ event: 'api.token' }, `${e.message}; API actions are disabled`);
        }
        server = new ApiServer({
          config: cfg, log, token,
          provider: {
            status,
            reload: () => ctl.reload(),
            ...(rt.handover ? { handover: (name: string, hold: number) => rt.handover!(name, hold) } : {}),
          },
        });
        await server.start();
      }
      sd.ready(() => (rt.status ? statusLine(rt.status()) : 'running'));
    },
    async onStopping() {
      sd.stopping();
      await server?.close();
    },
  };
}
