/**
 * The API's routes table: the built-in actions (reload, hand-over) and reads (status, instances,
 * transitions, /metrics, the dashboard, /healthz), and the types other route modules (verbs.ts,
 * lb-routes.ts) build on. server.ts owns the plumbing (listeners, Host check, token) and calls these.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DaemonStatus } from '../model/status-types.js';
import type { Logger } from '../util/log.js';
import type { Metrics } from './metrics.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { send, sendError, sendResult, type ActionResult } from './responses.js';

export type { ActionResult } from './responses.js';

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
 * One API route. POST and DELETE routes are actions: they run only with the bearer token. Extra routes
 * (ApiServerOptions.routes) are matched before the built-in ones; keep each family of
 * endpoints in its own module under src/api and pass its routes in.
 */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** Matched against the path without trailing slashes, e.g. /^\/api\/v1\/instances\/([^/]+)\/handover$/. */
  path: RegExp;
  handle(ctx: RouteContext): void | Promise<void>;
}

const DEFAULT_HOLD_S = 60;
/** Seconds: digits, optionally a fraction (no sign, no exponent, no blanks). */
const SECONDS = /^\d{1,6}(?:\.\d{1,3})?$/;

/** An absent parameter is `dflt`; present, it must be plain seconds (`hold=` and `hold=%20` are not 0). */
export function parseSeconds(text: string | null, dflt: number): number | undefined {
  if (text === null) return dflt;
  return SECONDS.test(text) ? Number(text) : undefined;
}

/** The built-in actions. */
export const ACTIONS: ApiRoute[] = [
  {
    method: 'POST',
    path: /^\/api\/v1\/reload$/,
    async handle({ provider: p, log, res }) {
      if (!p.reload) return sendError(res, 501, 'NOT_AVAILABLE', 'reload is not available');
      const r = await p.reload();
      log.info({ event: 'api.action', action: 'reload', ok: r.ok }, `API reload: ${r.message}`);
      sendResult(res, r, 'CONFIG_UNUSABLE');
    },
  },
  {
    method: 'POST',
    path: /^\/api\/v1\/instances\/([^/]+)\/handover$/,
    async handle({ provider: p, log, res, params, url }) {
      const name = params[0]!;
      if (!p.handover) return sendError(res, 501, 'NOT_AVAILABLE', 'hand-over is not available');
      if (!p.status().instances.some((i) => i.name === name))
        return sendError(res, 404, 'NO_SUCH_INSTANCE', `no instance ${name}`);
      const hold = parseSeconds(url.searchParams.get('hold'), DEFAULT_HOLD_S);
      if (hold === undefined || hold > 86_400)
        return sendError(res, 400, 'BAD_PARAMETER', 'hold must be 0..86400 seconds');
      const r = await p.handover(name, hold);
      log.info(
        { event: 'api.action', action: 'handover', instance: name, ok: r.ok },
        `API hand-over of ${name}: ${r.message}`,
      );
      sendResult(res, r, 'NOT_MASTER');
    },
  },
];

/** A malformed %-escape names no instance (404), rather than failing the request. */
export function decodePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const INSTANCE = /^\/api\/v1\/instances\/([^/]+)$/;

export function isReadPath(path: string): boolean {
  return (
    ['/healthz', '/api/v1/status', '/api/v1/instances', '/api/v1/transitions', '/metrics', '/'].includes(path) ||
    INSTANCE.test(path)
  );
}

export interface ReadDeps {
  provider: ApiProvider;
  metrics: Metrics;
  dashboard: boolean;
}

/** A GET (or HEAD) of a built-in read; anything else is 404. */
export async function serveRead(res: ServerResponse, path: string, url: URL, d: ReadDeps): Promise<void> {
  const p = d.provider;
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
      if (q !== null && !/^\d{1,6}$/.test(q))
        return sendError(res, 400, 'BAD_PARAMETER', 'limit must be a whole number');
      const limit = q === null ? all.length : Number(q);
      return send(res, 200, all.slice(Math.max(0, all.length - limit)));
    }
    case '/metrics': {
      const text = await d.metrics.render();
      res.writeHead(200, { 'content-type': d.metrics.contentType, 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    case '/':
      if (!d.dashboard)
        return sendError(res, 404, 'DASHBOARD_OFF', 'the dashboard is off (floatd_api { dashboard on })');
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        // Everything is inline; nothing may load from elsewhere.
        'content-security-policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
          "connect-src 'self'; img-src data:",
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
      });
      res.end(DASHBOARD_HTML);
      return;
  }
  const one = INSTANCE.exec(path);
  if (one) {
    const name = decodePath(one[1]!);
    const inst = p.status().instances.find((i) => i.name === name);
    return inst ? send(res, 200, inst) : sendError(res, 404, 'NO_SUCH_INSTANCE', `no instance ${name}`);
  }
  sendError(res, 404, 'NOT_FOUND', 'not found');
}
