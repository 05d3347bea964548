/**
 * The load balancer's operator verb over HTTP. POST runs only with the bearer token (server.ts).
 *
 *   POST /api/v1/lb/drain?rs=ADDRESS:PORT&state=on|off    drain a real server (weight 0) or bring it back
 */
import type { ApiRoute, RouteContext } from './server.js';
import { runningLb } from '../lb/hooks.js';

async function drain(ctx: RouteContext): Promise<void> {
  const rs = ctx.url.searchParams.get('rs');
  const state = ctx.url.searchParams.get('state') ?? 'on';
  if (!rs || !/^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/.test(rs))
    return ctx.send(400, { error: 'rs must be ADDRESS:PORT ([ADDRESS]:PORT for IPv6)' });
  if (state !== 'on' && state !== 'off') return ctx.send(400, { error: 'state must be on or off' });
  const lb = runningLb();
  if (!lb?.active) return ctx.send(404, { error: 'no load balancer is configured' });
  const r = await lb.drain(rs, state === 'on');
  ctx.log.info(
    { event: 'api.action', action: 'lb.drain', rs, state, ok: r.ok },
    `API drain ${state} ${rs}: ${r.message}`,
  );
  ctx.send(r.ok ? 200 : /^no real server/.test(r.message) ? 404 : 500, r);
}

export function lbRoutes(): ApiRoute[] {
  return [{ method: 'POST', path: /^\/api\/v1\/lb\/drain$/, handle: (ctx) => drain(ctx) }];
}
