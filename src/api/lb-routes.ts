/**
 * The load balancer's operator verbs over HTTP. POST and DELETE run only with the bearer token
 * (server.ts). Changes through the API are runtime changes: the next reload or restart drops
 * them unless the file has them (the file is the truth, as keepalived users expect).
 *
 *   POST   /api/v1/lb/drain?rs=ADDRESS:PORT&state=on|off[&timeout=S]   drain: out when idle or after S (default 300;
 *          `drain_timeout=S` is the same)
 *   POST   /api/v1/lb/real-servers?vs=VS&rs=ADDRESS:PORT[&weight=N][&checks_from=ADDRESS:PORT]
 *          body (optional, text): the inside of a real_server block in keepalived's syntax (checkers)
 *   DELETE /api/v1/lb/real-servers?vs=VS&rs=ADDRESS:PORT
 */
import type { IncomingMessage } from 'node:http';
import type { ApiRoute, RouteContext } from './routes.js';
import { parseSeconds } from './routes.js';
import { sendError, sendResult } from './responses.js';
import { runningLb } from '../lb/hooks.js';
import { DEFAULT_DRAIN_TIMEOUT_S } from '../lb/drain.js';
import { MAX_RS_BODY, parseRealServerBody } from '../lb/api-checks.js';
import type { LbVerbResult } from '../lb/service.js';
import type { ErrorCode } from '../errors.js';

const RS = /^(\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/;
const RS_HINT = 'ADDRESS:PORT ([ADDRESS]:PORT for IPv6)';

/** "203.0.113.11:80" / "[2001:db8::1]:80" → address and port; undefined when malformed. */
export function parseRs(text: string | null): { address: string; port: number } | undefined {
  const m = text ? RS.exec(text) : null;
  if (!m) return undefined;
  const port = Number(m[4]);
  return port >= 1 && port <= 65_535 ? { address: (m[2] ?? m[3])!, port } : undefined;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  LB_NOT_CONFIGURED: 404,
  LB_NO_SUCH_VIRTUAL_SERVER: 404,
  LB_NO_SUCH_REAL_SERVER: 404,
  LB_REAL_SERVER_EXISTS: 409,
  LB_BAD_REAL_SERVER: 400,
  LB_APPLY_FAILED: 500,
};

function answer(ctx: RouteContext, action: string, what: Record<string, unknown>, r: LbVerbResult): void {
  ctx.log.info({ event: 'api.action', action, ...what, ok: r.ok }, `API ${action}: ${r.message}`);
  const { warnings, ...rest } = r as LbVerbResult & { warnings?: string[] };
  sendResult(
    ctx.res,
    rest,
    'LB_APPLY_FAILED',
    STATUS[r.code ?? 'LB_APPLY_FAILED'] ?? 500,
    warnings ? { warnings } : {},
  );
}

const bad = (ctx: RouteContext, message: string): void => sendError(ctx.res, 400, 'BAD_PARAMETER', message);

function lb(ctx: RouteContext): ReturnType<typeof runningLb> {
  const s = runningLb();
  if (s?.active) return s;
  sendError(ctx.res, 404, 'LB_NOT_CONFIGURED');
  return undefined;
}

async function drain(ctx: RouteContext): Promise<void> {
  const rs = ctx.url.searchParams.get('rs');
  const state = ctx.url.searchParams.get('state') ?? 'on';
  if (!parseRs(rs)) return bad(ctx, `rs must be ${RS_HINT}`);
  if (state !== 'on' && state !== 'off') return bad(ctx, 'state must be on or off');
  const q = ctx.url.searchParams;
  const timeout = parseSeconds(q.get('timeout') ?? q.get('drain_timeout'), DEFAULT_DRAIN_TIMEOUT_S);
  if (timeout === undefined || timeout > 86_400) return bad(ctx, 'timeout must be 0..86400 seconds');
  const s = lb(ctx);
  if (!s) return;
  answer(ctx, 'lb.drain', { rs, state }, await s.drain(rs!, state === 'on', timeout));
}

function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let body = '';
    let over = false;
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      if (over) return;
      body += c;
      if (body.length > max) over = true;
    });
    req.on('end', () => resolve(over ? undefined : body));
    req.on('error', () => resolve(undefined));
  });
}

async function addRs(ctx: RouteContext): Promise<void> {
  const q = ctx.url.searchParams;
  const vs = q.get('vs');
  const rs = parseRs(q.get('rs'));
  if (!vs) return bad(ctx, 'vs must name a virtual server, e.g. 192.0.2.100:80/TCP');
  if (!rs) return bad(ctx, `rs must be ${RS_HINT}`);
  const w = q.get('weight');
  if (w !== null && !/^\d{1,5}$/.test(w)) return bad(ctx, 'weight must be 0..65535');
  const from = q.get('checks_from');
  if (from !== null && !parseRs(from)) return bad(ctx, `checks_from must be ${RS_HINT}`);
  const body = await readBody(ctx.req, MAX_RS_BODY);
  if (body === undefined)
    return sendError(ctx.res, 413, 'BODY_TOO_LARGE', `the body must be at most ${MAX_RS_BODY} bytes`);
  if (body.trim() && from !== null) return bad(ctx, 'give checks_from or a body, not both');
  const s = lb(ctx);
  if (!s) return;
  let given: Parameters<typeof s.add>[0]['given'];
  let warnings: string[] = [];
  if (body.trim()) {
    const v = s.findVs(vs);
    if ('ok' in v) return answer(ctx, 'lb.add', { vs, rs: q.get('rs') }, v);
    const p = parseRealServerBody(body, v, rs.address, rs.port);
    if (!p.ok) return answer(ctx, 'lb.add', { vs, rs: q.get('rs') }, p);
    given = p.given;
    warnings = p.warnings;
  }
  const r = await s.add({
    vs,
    ...rs,
    ...(w !== null ? { weight: Number(w) } : {}),
    ...(from !== null ? { checksFrom: from } : {}),
    ...(given ? { given } : {}),
  });
  answer(ctx, 'lb.add', { vs, rs: q.get('rs') }, { ...r, ...(warnings.length ? { warnings } : {}) });
}

async function removeRs(ctx: RouteContext): Promise<void> {
  const vs = ctx.url.searchParams.get('vs');
  const rs = ctx.url.searchParams.get('rs');
  if (!vs) return bad(ctx, 'vs must name a virtual server, e.g. 192.0.2.100:80/TCP');
  if (!parseRs(rs)) return bad(ctx, `rs must be ${RS_HINT}`);
  const s = lb(ctx);
  if (!s) return;
  answer(ctx, 'lb.remove', { vs, rs }, await s.remove(vs, rs!));
}

export function lbRoutes(): ApiRoute[] {
  return [
    { method: 'POST', path: /^\/api\/v1\/lb\/drain$/, handle: (ctx) => drain(ctx) },
    { method: 'POST', path: /^\/api\/v1\/lb\/real-servers$/, handle: (ctx) => addRs(ctx) },
    { method: 'DELETE', path: /^\/api\/v1\/lb\/real-servers$/, handle: (ctx) => removeRs(ctx) },
  ];
}
