/**
 * The local API: node:http on a unix socket and on TCP addresses (loopback by default).
 * Reads (status, instances, transitions, /metrics, the dashboard, /healthz) are open to
 * whoever can reach a listener; actions (reload, hand-over) need the bearer token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, isIP } from 'node:net';
import { chmodSync, mkdirSync, unlinkSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ApiConfig } from '../config/model.js';
import type { DaemonStatus } from '../daemon/status-types.js';
import type { Logger } from '../util/log.js';
import { checkBearer } from './auth.js';
import { createMetrics, type Metrics } from './metrics.js';
import { DASHBOARD_HTML } from './dashboard.js';

export interface ActionResult { ok: boolean; message: string }

/** What the API reads and asks; the daemon's Runtime fits it. */
export interface ApiProvider {
  status(): DaemonStatus;
  reload?(): Promise<ActionResult>;
  /** Give up MASTER now (priority-0 advert, VIPs removed) and stay out for `holdS` seconds. */
  handover?(instance: string, holdS: number): ActionResult | Promise<ActionResult>;
}

export interface ApiServerOptions {
  config: ApiConfig;
  provider: ApiProvider;
  log: Logger;
  /** The action token (see auth.ts); undefined = actions answer 403. */
  token?: string;
  /** Tests: skip prom-client's process metrics. */
  processMetrics?: boolean;
}

export interface Listening { socket?: string; tcp: { host: string; port: number }[] }

const JSON_TYPE = 'application/json; charset=utf-8';
const DEFAULT_HOLD_S = 60;

export class ApiServer {
  private readonly servers: { server: Server; what: string; socket?: string }[] = [];
  private readonly metrics: Metrics;
  private token: string | undefined;
  readonly listening: Listening = { tcp: [] };

  constructor(private readonly o: ApiServerOptions) {
    this.metrics = createMetrics(() => o.provider.status(), { processMetrics: o.processMetrics });
    this.token = o.token;
  }

  /** A reload re-reads the token (rotation without a restart); undefined disables actions. */
  setToken(token: string | undefined): void { this.token = token; }

  /** Opens every listener it can; one that fails is logged and skipped (the daemon keeps running). */
  async start(): Promise<Listening> {
    const { config, log } = this.o;
    if (!config.enabled) return this.listening;
    if (config.socket) {
      try {
        await prepareSocketPath(config.socket);
        const server = this.newServer(false);
        await listen(server, { path: config.socket });
        chmodSync(config.socket, 0o666); // reads are as open as on 127.0.0.1; actions need the token
        this.servers.push({ server, what: config.socket, socket: config.socket });
        this.listening.socket = config.socket;
        log.info({ event: 'api.listen', socket: config.socket }, `API listening on unix socket ${config.socket}`);
      } catch (e) {
        log.error({ event: 'api.listen_error', socket: config.socket, err: (e as NodeJS.ErrnoException).code ?? String(e) }, `API cannot listen on ${config.socket}: ${(e as Error).message}`);
      }
    }
    for (const l of config.listen) {
      const server = this.newServer(isLoopbackHost(l.host));
      try {
        await listen(server, { host: l.host, port: l.port });
        const a = server.address();
        const port = a && typeof a === 'object' ? a.port : l.port;
        this.servers.push({ server, what: `${l.host}:${port}` });
        this.listening.tcp.push({ host: l.host, port });
        log.info({ event: 'api.listen', address: l.host, port }, `API listening on http://${fmtHost(l.host)}:${port}/`);
      } catch (e) {
        log.error({ event: 'api.listen_error', address: l.host, port: l.port, err: (e as NodeJS.ErrnoException).code ?? String(e) }, `API cannot listen on ${fmtHost(l.host)}:${l.port}: ${(e as Error).message}`);
      }
    }
    return this.listening;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map(({ server, socket }) => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      if (socket) try { unlinkSync(socket); } catch { /* already gone */ }
    })));
    this.servers.length = 0;
  }

  private newServer(loopbackOnly: boolean): Server {
    const server = createServer((req, res) => {
      this.handle(req, res, loopbackOnly).catch((e: unknown) => {
        this.o.log.error({ event: 'api.error', path: req.url, err: String(e) }, 'API request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    return server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, loopbackOnly: boolean): Promise<void> {
    // A loopback listener answers only to loopback names: a web page that rebinds its own
    // DNS name to 127.0.0.1 must not read the status through the visitor's browser.
    if (loopbackOnly && !hostHeaderIsLocal(req.headers.host)) return send(res, 421, { error: 'this listener answers to 127.0.0.1, [::1] or localhost only' });
    const url = new URL(req.url ?? '/', 'http://floatd');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const p = this.o.provider;

    if (method === 'POST') {
      const act = /^\/api\/v1\/instances\/([^/]+)\/handover$/.exec(path);
      if (path === '/api/v1/reload' || act) {
        if (!this.authorised(req, res, path)) return;
        if (path === '/api/v1/reload') {
          if (!p.reload) return send(res, 501, { error: 'reload is not available' });
          const r = await p.reload();
          this.o.log.info({ event: 'api.action', action: 'reload', ok: r.ok }, `API reload: ${r.message}`);
          return send(res, r.ok ? 200 : 409, r);
        }
        const name = decodePath(act![1]!);
        if (!p.handover) return send(res, 501, { error: 'hand-over is not available' });
        if (!p.status().instances.some((i) => i.name === name)) return send(res, 404, { error: `no instance ${name}` });
        const holdParam = url.searchParams.get('hold');
        const hold = holdParam === null ? DEFAULT_HOLD_S : Number(holdParam);
        if (!Number.isFinite(hold) || hold < 0 || hold > 86_400) return send(res, 400, { error: 'hold must be 0..86400 seconds' });
        const r = await p.handover(name, hold);
        this.o.log.info({ event: 'api.action', action: 'handover', instance: name, ok: r.ok }, `API hand-over of ${name}: ${r.message}`);
        return send(res, r.ok ? 200 : 409, r);
      }
      return send(res, isReadPath(path) ? 405 : 404, { error: isReadPath(path) ? 'use GET' : 'not found' });
    }
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'use GET, or POST for actions' });

    switch (path) {
      case '/healthz': return send(res, 200, { status: 'ok' });
      case '/api/v1/status': return send(res, 200, p.status());
      case '/api/v1/instances': return send(res, 200, p.status().instances);
      case '/api/v1/transitions': {
        const all = p.status().transitions;
        const limit = Number(url.searchParams.get('limit') ?? all.length);
        return send(res, 200, Number.isInteger(limit) && limit >= 0 ? all.slice(Math.max(0, all.length - limit)) : all);
      }
      case '/metrics': {
        const text = await this.metrics.render();
        res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' });
        res.end(text);
        return;
      }
      case '/':
        if (!this.o.config.dashboard) return send(res, 404, { error: 'the dashboard is off (floatd_api { dashboard on })' });
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store',
          // Everything is inline; nothing may load from elsewhere.
          'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
          'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY',
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
    this.o.log.warn({ event: 'api.denied', path, why: r }, `API action ${path} refused (${r === 'disabled' ? 'no token configured' : r === 'missing' ? 'no bearer token' : 'wrong token'})`);
    if (r === 'disabled') send(res, 403, { error: 'actions are disabled: set token_file or token_env in floatd_api { }' });
    else { res.setHeader('www-authenticate', 'Bearer realm="floatd"'); send(res, 401, { error: r === 'missing' ? 'an Authorization: Bearer token is required' : 'wrong token' }); }
    return false;
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' });
  res.end(JSON.stringify(body, null, 2) + '\n');
}

/** A malformed %-escape names no instance (404), rather than failing the request. */
function decodePath(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

function isReadPath(path: string): boolean {
  return ['/healthz', '/api/v1/status', '/api/v1/instances', '/api/v1/transitions', '/metrics', '/'].includes(path) || /^\/api\/v1\/instances\/[^/]+$/.test(path);
}

function isLoopbackHost(h: string): boolean { return h === '::1' || h.startsWith('127.'); }
function fmtHost(h: string): string { return isIP(h) === 6 ? `[${h}]` : h; }

export function hostHeaderIsLocal(host: string | undefined): boolean {
  if (!host) return true; // HTTP/1.0 clients; a browser always sends Host
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || isLoopbackHost(name);
}

function listen(server: Server, at: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at, () => { server.off('error', reject); resolve(); });
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
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  if (alive) throw Object.assign(new Error(`another process is serving ${path} (a second floatd with the same socket?)`), { code: 'EADDRINUSE' });
  unlinkSync(path);
}
