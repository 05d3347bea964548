/**
 * The local API: node:http on a unix socket and on TCP addresses (loopback by default).
 * Reads (status, instances, transitions, /metrics, the dashboard, /healthz) are open to
 * whoever can reach a listener; actions (reload, hand-over) need the bearer token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { renameSync, unlinkSync } from 'node:fs';
import type { ApiConfig } from '../config/model.js';
import type { Logger } from '../util/log.js';
import { realClock, type Clock } from '../util/clock.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { checkBearer } from './auth.js';
import { DEFAULT_MAX_CONNECTIONS, limitConnections, type ConnLimitStats } from './conn-limit.js';
import { checkHostHeader } from './host-check.js';
import { createMetrics, type Metrics } from './metrics.js';
import { fmtHost, isLoopbackHost, listen, prepareSocketPath, secureSocket } from './listen.js';
import { answerClientError, send, sendError } from './responses.js';
import { withCode } from '../errors.js';
import {
  ACTIONS,
  decodePath,
  isReadPath,
  serveRead,
  type ApiProvider,
  type ApiRoute,
  type RouteContext,
} from './routes.js';

export type { ActionResult, ApiProvider, ApiRoute, RouteContext } from './routes.js';
export { parseSeconds } from './routes.js';
export { hostHeaderIsLocal } from './host-check.js';

export interface ApiServerOptions {
  config: ApiConfig;
  provider: ApiProvider;
  log: Logger;
  /** The action token (see auth.ts); undefined = actions answer 403. */
  token?: string;
  /** Tests: skip prom-client's process metrics. */
  processMetrics?: boolean;
  /** Routes beyond the built-in reads, reload and hand-over. */
  routes?: ApiRoute[];
  /** Idle-connection timers; default the real clock. */
  clock?: Clock;
}

/** A unix socket (0660), a loopback TCP listener (Host checked), or off-host TCP (every read needs the token). */
type ListenerKind = 'socket' | 'loopback' | 'offhost';

export interface Listening {
  socket?: string;
  tcp: { host: string; port: number }[];
}

/** A connection that has not sent its request headers after this long is closed. */
const HEADERS_TIMEOUT_MS = 5_000;
const DENIED_TEXT = { disabled: 'no token configured', missing: 'no bearer token', mismatch: 'wrong token' } as const;

export class ApiServer {
  private readonly servers: { server: Server; what: string; socket?: string; conns: ConnLimitStats }[] = [];
  private readonly metrics: Metrics;
  private token: string | undefined;
  /** Refused calls and shed connections: first one logged, then a count per 10 s. */
  private readonly limited: RateLimitedLog;
  readonly listening: Listening = { tcp: [] };

  constructor(private readonly o: ApiServerOptions) {
    this.metrics = createMetrics(() => o.provider.status(), {
      processMetrics: o.processMetrics,
      connections: () => this.connectionCounts(),
    });
    this.token = o.token;
    this.limited = new RateLimitedLog({ log: o.log, clock: o.clock ?? realClock });
  }

  /** A reload re-reads the token (rotation without a restart); undefined disables actions. */
  setToken(token: string | undefined): void {
    this.token = token;
  }

  /** Opens every listener it can; one that fails is logged and skipped (the daemon keeps running). */
  async start(): Promise<Listening> {
    const { config, log } = this.o;
    if (!config.enabled) return this.listening;
    if (config.socket) {
      try {
        await prepareSocketPath(config.socket);
        const { server, conns } = this.newServer('socket', config.socket);
        // Bound at a private name, made 0660 (and chgrp'd), then renamed into place: the
        // socket is never reachable with the umask's mode.
        const fresh = `${config.socket}.${process.pid}.new`;
        await listen(server, { path: fresh });
        try {
          secureSocket(fresh, config.socketGroup);
          renameSync(fresh, config.socket);
        } catch (e) {
          server.close();
          try {
            unlinkSync(fresh);
          } catch {
            /* not there */
          }
          throw e;
        }
        this.servers.push({ server, what: config.socket, socket: config.socket, conns });
        this.listening.socket = config.socket;
        log.info({ event: 'api.listen', socket: config.socket }, `API listening on unix socket ${config.socket}`);
      } catch (e) {
        log.error(
          {
            event: 'api.listen_error',
            code: 'API_LISTEN_FAILED',
            socket: config.socket,
            err: (e as NodeJS.ErrnoException).code ?? String(e),
          },
          withCode('API_LISTEN_FAILED', `API cannot listen on ${config.socket}: ${(e as Error).message}`),
        );
      }
    }
    for (const l of config.listen) {
      const { server, conns } = this.newServer(
        isLoopbackHost(l.host) ? 'loopback' : 'offhost',
        `${fmtHost(l.host)}:${l.port}`,
      );
      try {
        await listen(server, { host: l.host, port: l.port });
        const a = server.address();
        const port = a && typeof a === 'object' ? a.port : l.port;
        this.servers.push({ server, what: `${l.host}:${port}`, conns });
        this.listening.tcp.push({ host: l.host, port });
        log.info({ event: 'api.listen', address: l.host, port }, `API listening on http://${fmtHost(l.host)}:${port}/`);
      } catch (e) {
        log.error(
          {
            event: 'api.listen_error',
            code: 'API_LISTEN_FAILED',
            address: l.host,
            port: l.port,
            err: (e as NodeJS.ErrnoException).code ?? String(e),
          },
          withCode('API_LISTEN_FAILED', `API cannot listen on ${fmtHost(l.host)}:${l.port}: ${(e as Error).message}`),
        );
      }
    }
    return this.listening;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        ({ server, socket }) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
            if (socket)
              try {
                unlinkSync(socket);
              } catch {
                /* already gone */
              }
          }),
      ),
    );
    this.servers.length = 0;
    this.limited.stop();
  }

  private newServer(kind: ListenerKind, what: string): { server: Server; conns: ConnLimitStats } {
    const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
      this.handle(req, res, kind).catch((e: unknown) => {
        this.o.log.error(
          { event: 'api.error', code: 'INTERNAL', path: req.url, err: String(e) },
          withCode('INTERNAL', 'API request failed'),
        );
        if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'internal error');
        else res.destroy();
      });
    });
    server.on('clientError', answerClientError);
    // Node sheds, at its 1 s check, a connection whose headers are late (half-open, slowloris)
    // or whose request runs too long; an idle keep-alive connection goes after 5 s.
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    const max = this.o.config.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const conns = limitConnections(server, {
      max,
      idleMs: HEADERS_TIMEOUT_MS,
      ...(this.o.clock ? { clock: this.o.clock } : {}),
      onShed: (why) => {
        if (why === 'idle') return; // routine: a client that went quiet
        this.limited.warn(
          `shed ${what} ${why}`,
          { event: 'api.connection_shed', code: 'TOO_MANY_CONNECTIONS', listener: what, why, max },
          `API ${what}: ${max} connections held, ` +
            (why === 'evicted' ? 'closed the oldest idle one' : 'refused a new one'),
        );
      },
    });
    return { server, conns };
  }

  /** Connections each listener holds now (tests, metrics). */
  connectionCounts(): { what: string; open: number; evicted: number; refused: number; idle: number }[] {
    return this.servers.map(({ what, conns }) => ({
      what,
      open: conns.open,
      evicted: conns.evicted,
      refused: conns.refused,
      idle: conns.idle,
    }));
  }

  private listenNames(): string[] {
    return this.o.config.listen.map((l) => l.host);
  }

  private async handle(req: IncomingMessage, res: ServerResponse, kind: ListenerKind): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://floatd');
    } catch {
      return sendError(res, 400, 'BAD_REQUEST', 'malformed request target');
    }
    // A loopback listener answers only to loopback names: a web page that rebinds its own
    // DNS name to 127.0.0.1 must not read the status through the visitor's browser. An
    // absolute-form target (`GET http://host/…`) names a host too; both must be local.
    if (kind === 'loopback') {
      const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(req.url ?? '') ? url.host : undefined;
      for (const h of absolute === undefined ? [req.headers.host] : [req.headers.host, absolute]) {
        const v = checkHostHeader(h, this.listenNames());
        if (v === 'malformed') return sendError(res, 400, 'BAD_REQUEST', 'malformed Host header');
        if (v === 'foreign')
          return sendError(res, 421, 'FORBIDDEN_HOST', 'this listener answers to 127.0.0.1, [::1] or localhost only');
      }
    }
    const path = url.pathname.replace(/\/+$/, '') || '/';
    // Off-host, reads need the token too (Prometheus: `authorization: { credentials_file: … }`);
    // open: /healthz for load balancers' probes, and the dashboard page itself (it holds no data;
    // its polls carry the token typed into it).
    if (kind === 'offhost' && path !== '/healthz' && path !== '/' && !this.authorised(req, res, path)) return;
    const method = req.method ?? 'GET';
    const p = this.o.provider;

    for (const r of [...(this.o.routes ?? []), ...ACTIONS]) {
      const m = r.path.exec(path);
      if (!m || (r.method === 'GET' ? method !== 'GET' && method !== 'HEAD' : method !== r.method)) continue;
      if (r.method !== 'GET' && !this.authorised(req, res, path)) return;
      const ctx: RouteContext = {
        req,
        res,
        url,
        params: m.slice(1).map((x) => decodePath(x ?? '')),
        provider: p,
        log: this.o.log,
        send: (code, body) => send(res, code, body),
      };
      return await r.handle(ctx);
    }
    if (method === 'POST')
      return isReadPath(path)
        ? sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET')
        : sendError(res, 404, 'NOT_FOUND', 'not found');
    if (method !== 'GET' && method !== 'HEAD')
      return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET, or POST for actions');
    await serveRead(res, path, url, { provider: p, metrics: this.metrics, dashboard: this.o.config.dashboard });
  }

  /** 403 when no token is configured, 401 when it is missing or wrong. */
  private authorised(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const r = checkBearer(req.headers.authorization, this.token);
    if (r === 'ok') return true;
    // Keyed by the reason only: the path is the caller's text, and one key per path would let
    // a flood of distinct paths flood the log.
    this.limited.warn(
      `denied ${r}`,
      { event: 'api.denied', path, why: r, code: r === 'disabled' ? 'ACTIONS_DISABLED' : 'UNAUTHORIZED' },
      `API action ${path} refused (${DENIED_TEXT[r]})`,
    );
    if (r === 'disabled')
      sendError(res, 403, 'ACTIONS_DISABLED', 'actions are disabled: set token_file or token_env in floatd_api { }');
    else {
      res.setHeader('www-authenticate', 'Bearer realm="floatd"');
      const why = r === 'missing' ? 'an Authorization: Bearer token is required' : 'wrong token';
      sendError(res, 401, 'UNAUTHORIZED', why);
    }
    return false;
  }
}
