/**
 * The local API: node:http on a unix socket and on TCP addresses (loopback by default).
 * Reads (status, instances, transitions, /metrics, the dashboard, /healthz) are open to
 * whoever can reach a listener; actions (reload, hand-over) need the bearer token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, isIP } from 'node:net';
import { chmodSync, chownSync, mkdirSync, renameSync, unlinkSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ApiConfig } from '../config/model.js';
import type { DaemonStatus } from '../model/status-types.js';
import type { Logger } from '../util/log.js';
import { realClock, type Clock } from '../util/clock.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { resolveUser } from '../track/users.js';
import { checkBearer } from './auth.js';
import { DEFAULT_MAX_CONNECTIONS, limitConnections, type ConnLimitStats } from './conn-limit.js';
import { checkHostHeader } from './host-check.js';
import { createMetrics, type Metrics } from './metrics.js';
import { DASHBOARD_HTML } from './dashboard.js';

export interface ActionResult {
  ok: boolean;
  message: string;
}

/** What the API reads and asks; the daemon's Runtime fits it. */
export interface ApiProvider {
  status(): DaemonStatus;
  reload?(): Promise<ActionResult>;
  /** Give up MASTER now (priority-0 advert, VIPs removed) and stay out for `holdS` seconds. */
  handover?(instance: string, holdS: number): ActionResult | Promise<ActionResult>;
}

/** What a route handler gets; `params` are the path pattern's captures, %-decoded. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  provider: ApiProvider;
  log: Logger;
  send(code: number, body: unknown): void;
}

/**
 * One API route. POST routes are actions: they run only with the bearer token. Extra routes
 * (ApiServerOptions.routes) are matched before the built-in ones; keep each family of
 * endpoints in its own module under src/api and pass its routes in.
 */
export interface ApiRoute {
  method: 'GET' | 'POST';
  /** Matched against the path without trailing slashes, e.g. /^\/api\/v1\/instances\/([^/]+)\/handover$/. */
  path: RegExp;
  handle(ctx: RouteContext): void | Promise<void>;
}

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

const JSON_TYPE = 'application/json; charset=utf-8';
const DEFAULT_HOLD_S = 60;
/** A connection that has not sent its request headers after this long is closed. */
const HEADERS_TIMEOUT_MS = 5_000;
/** Seconds: digits, optionally a fraction (no sign, no exponent, no blanks). */
const SECONDS = /^\d{1,6}(?:\.\d{1,3})?$/;

/** The built-in actions. */
const ACTIONS: ApiRoute[] = [
  {
    method: 'POST',
    path: /^\/api\/v1\/reload$/,
    async handle({ provider: p, log, send: reply }) {
      if (!p.reload) return reply(501, { error: 'reload is not available' });
      const r = await p.reload();
      log.info({ event: 'api.action', action: 'reload', ok: r.ok }, `API reload: ${r.message}`);
      reply(r.ok ? 200 : 409, r);
    },
  },
  {
    method: 'POST',
    path: /^\/api\/v1\/instances\/([^/]+)\/handover$/,
    async handle({ provider: p, log, send: reply, params, url }) {
      const name = params[0]!;
      if (!p.handover) return reply(501, { error: 'hand-over is not available' });
      if (!p.status().instances.some((i) => i.name === name)) return reply(404, { error: `no instance ${name}` });
      const hold = parseSeconds(url.searchParams.get('hold'), DEFAULT_HOLD_S);
      if (hold === undefined || hold > 86_400) return reply(400, { error: 'hold must be 0..86400 seconds' });
      const r = await p.handover(name, hold);
      log.info(
        { event: 'api.action', action: 'handover', instance: name, ok: r.ok },
        `API hand-over of ${name}: ${r.message}`,
      );
      reply(r.ok ? 200 : 409, r);
    },
  },
];

/** An absent parameter is `dflt`; present, it must be plain seconds (`hold=` and `hold=%20` are not 0). */
export function parseSeconds(text: string | null, dflt: number): number | undefined {
  if (text === null) return dflt;
  return SECONDS.test(text) ? Number(text) : undefined;
}

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
          { event: 'api.listen_error', socket: config.socket, err: (e as NodeJS.ErrnoException).code ?? String(e) },
          `API cannot listen on ${config.socket}: ${(e as Error).message}`,
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
            address: l.host,
            port: l.port,
            err: (e as NodeJS.ErrnoException).code ?? String(e),
          },
          `API cannot listen on ${fmtHost(l.host)}:${l.port}: ${(e as Error).message}`,
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
        this.o.log.error({ event: 'api.error', path: req.url, err: String(e) }, 'API request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
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
          { event: 'api.connection_shed', listener: what, why, max },
          `API ${what}: ${max} connections held, ${why === 'evicted' ? 'closed the oldest idle one' : 'refused a new one'}`,
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
      return send(res, 400, { error: 'malformed request target' });
    }
    // A loopback listener answers only to loopback names: a web page that rebinds its own
    // DNS name to 127.0.0.1 must not read the status through the visitor's browser. An
    // absolute-form target (`GET http://host/…`) names a host too; both must be local.
    if (kind === 'loopback') {
      const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(req.url ?? '') ? url.host : undefined;
      for (const h of absolute === undefined ? [req.headers.host] : [req.headers.host, absolute]) {
        const v = checkHostHeader(h, this.listenNames());
        if (v === 'malformed') return send(res, 400, { error: 'malformed Host header' });
        if (v === 'foreign')
          return send(res, 421, { error: 'this listener answers to 127.0.0.1, [::1] or localhost only' });
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
      if (r.method === 'POST' && !this.authorised(req, res, path)) return;
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
      return send(res, isReadPath(path) ? 405 : 404, { error: isReadPath(path) ? 'use GET' : 'not found' });
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'use GET, or POST for actions' });

    switch (path) {
      case '/healthz':
        return send(res, 200, { status: 'ok' });
      case '/api/v1/status':
        return send(res, 200, p.status());
      case '/api/v1/instances':
        return send(res, 200, p.status().instances);
      case '/api/v1/transitions': {
        const all = p.status().transitions;
        const q = url.searchParams.get('limit');
        if (q !== null && !/^\d{1,6}$/.test(q)) return send(res, 400, { error: 'limit must be a whole number' });
        const limit = q === null ? all.length : Number(q);
        return send(res, 200, all.slice(Math.max(0, all.length - limit)));
      }
      case '/metrics': {
        const text = await this.metrics.render();
        res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' });
        res.end(text);
        return;
      }
      case '/':
        if (!this.o.config.dashboard)
          return send(res, 404, { error: 'the dashboard is off (floatd_api { dashboard on })' });
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          // Everything is inline; nothing may load from elsewhere.
          'content-security-policy':
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'DENY',
        });
        res.end(DASHBOARD_HTML);
        return;
    }
    const one = /^\/api\/v1\/instances\/([^/]+)$/.exec(path);
    if (one) {
      const name = decodePath(one[1]!);
      const inst = p.status().instances.find((i) => i.name === name);
      return inst ? send(res, 200, inst) : send(res, 404, { error: `no instance ${name}` });
    }
    send(res, 404, { error: 'not found' });
  }

  /** 403 when no token is configured, 401 when it is missing or wrong. */
  private authorised(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const r = checkBearer(req.headers.authorization, this.token);
    if (r === 'ok') return true;
    // Keyed by the reason only: the path is the caller's text, and one key per path would let
    // a flood of distinct paths flood the log.
    this.limited.warn(
      `denied ${r}`,
      { event: 'api.denied', path, why: r },
      `API action ${path} refused (${r === 'disabled' ? 'no token configured' : r === 'missing' ? 'no bearer token' : 'wrong token'})`,
    );
    if (r === 'disabled')
      send(res, 403, { error: 'actions are disabled: set token_file or token_env in floatd_api { }' });
    else {
      res.setHeader('www-authenticate', 'Bearer realm="floatd"');
      send(res, 401, { error: r === 'missing' ? 'an Authorization: Bearer token is required' : 'wrong token' });
    }
    return false;
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' });
  res.end(JSON.stringify(body, null, 2) + '\n');
}

/** A malformed %-escape names no instance (404), rather than failing the request. */
function decodePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function isReadPath(path: string): boolean {
  return (
    ['/healthz', '/api/v1/status', '/api/v1/instances', '/api/v1/transitions', '/metrics', '/'].includes(path) ||
    /^\/api\/v1\/instances\/[^/]+$/.test(path)
  );
}

function isLoopbackHost(h: string): boolean {
  return h === '::1' || h.startsWith('127.');
}
function fmtHost(h: string): string {
  return isIP(h) === 6 ? `[${h}]` : h;
}

export { hostHeaderIsLocal } from './host-check.js';

/**
 * Mode 0660, never 0666: connecting is for root and the socket's group. The group is
 * `socket_group` when set, else the one the socket was created with (floatd's: root's).
 * Throws (the listener is then closed and skipped) when the group cannot be applied.
 */
function secureSocket(path: string, group: string | undefined): void {
  chmodSync(path, 0o660);
  if (group === undefined) return;
  const r = resolveUser('0', group);
  if (!r.ok) throw new Error(`socket_group ${group}: ${r.error}`);
  chownSync(path, -1, r.id.gid);
}

function listen(server: Server, at: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Makes the socket's directory and clears a stale socket left by a crash; a socket that
 * still answers belongs to a running daemon and is left alone.
 */
async function prepareSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive)
    throw Object.assign(new Error(`another process is serving ${path} (a second floatd with the same socket?)`), {
      code: 'EADDRINUSE',
    });
  unlinkSync(path);
}
