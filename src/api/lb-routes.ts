/**
 * The load balancer's operator verb over HTTP. POST runs only with the bearer token (server.ts).
 *
 *   POST /api/v1/lb/drain?rs=ADDRESS:PORT&state=on|off    drain a real server (weight 0) or bring it back
 */
import type { ApiRoute, RouteContext } from './routes.js';
import { sendError, sendResult } from './responses.js';
import { runningLb } from '../lb/hooks.js';

async function drain(ctx: RouteContext): Promise<void> {
  const rs = ctx.url.searchParams.get('rs');
  const state = ctx.url.searchParams.get('state') ?? 'on';
  if (!rs || !/^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/.test(rs))
    return sendError(ctx.res, 400, 'BAD_PARAMETER', 'rs must be ADDRESS:PORT ([ADDRESS]:PORT for IPv6)');
  if (state !== 'on' && state !== 'off') return sendError(ctx.res, 400, 'BAD_PARAMETER', 'state must be on or off');
  const lb = runningLb();
  if (!lb?.active) return sendError(ctx.res, 404, 'LB_NOT_CONFIGURED', 'no load balancer is configured');
  const r = await lb.drain(rs, state === 'on');
  ctx.log.info(
    { event: 'api.action', action: 'lb.drain', rs, state, ok: r.ok },
    `API drain ${state} ${rs}: ${r.message}`,
  );
  const missing = /^no real server/.test(r.message);
  sendResult(ctx.res, r, missing ? 'LB_NO_SUCH_REAL_SERVER' : 'LB_APPLY_FAILED', missing ? 404 : 500);
}

export function lbRoutes(): ApiRoute[] {
  return [{ method: 'POST', path: /^\/api\/v1\/lb\/drain$/, handle: (ctx) => drain(ctx) }];
}
