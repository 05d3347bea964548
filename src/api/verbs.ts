/**
 * The operator's verbs over HTTP (pkg): switchover and maintenance, per instance or for all.
 * POST routes run only with the bearer token (server.ts checks it before any POST route).
 *
 *   POST /api/v1/switchover[?instance=NAME][&hold=S]        /api/v1/instances/NAME/switchover[?hold=S]
 *   POST /api/v1/maintenance?state=on|off[&instance=NAME]   /api/v1/instances/NAME/maintenance?state=on|off
 *   GET  /api/v1/maintenance                                the instances in maintenance, since when, by whom
 */
import type { ApiRoute, RouteContext } from './routes.js';
import { parseSeconds } from './routes.js';
import { sendError, sendResult } from './responses.js';
import type { Verbs } from '../model/verbs.js';

const DEFAULT_SWITCHOVER_HOLD_S = 60;

function switchover(verbs: Verbs, ctx: RouteContext, instance: string | undefined): void {
  const hold = parseSeconds(ctx.url.searchParams.get('hold'), DEFAULT_SWITCHOVER_HOLD_S);
  if (hold === undefined || hold > 86_400)
    return sendError(ctx.res, 400, 'BAD_PARAMETER', 'hold must be 0..86400 seconds');
  const r = verbs.switchover(instance, hold);
  ctx.log.info(
    { event: 'api.action', action: 'switchover', instance: instance ?? '*', ok: r.ok },
    `API switchover${instance ? ` of ${instance}` : ''}: ${r.message}`,
  );
  sendResult(ctx.res, { ok: r.ok, message: r.message }, r.error ?? 'NOT_MASTER', r.code);
}

function maintenance(verbs: Verbs, ctx: RouteContext, instance: string | undefined): void {
  const state = ctx.url.searchParams.get('state');
  if (state !== 'on' && state !== 'off') return sendError(ctx.res, 400, 'BAD_PARAMETER', 'state must be on or off');
  const r = verbs.maintenance(instance, state === 'on', 'api');
  ctx.log.info(
    { event: 'api.action', action: 'maintenance', state, instance: instance ?? '*', ok: r.ok },
    `API maintenance ${state}${instance ? ` for ${instance}` : ''}: ${r.message}`,
  );
  sendResult(ctx.res, { ok: r.ok, message: r.message }, r.error ?? 'NO_SUCH_INSTANCE', r.code, {
    maintenance: verbs.maintained(),
  });
}

export function verbRoutes(verbs: Verbs): ApiRoute[] {
  const q = (ctx: RouteContext): string | undefined => ctx.url.searchParams.get('instance') ?? undefined;
  return [
    { method: 'POST', path: /^\/api\/v1\/switchover$/, handle: (ctx) => switchover(verbs, ctx, q(ctx)) },
    {
      method: 'POST',
      path: /^\/api\/v1\/instances\/([^/]+)\/switchover$/,
      handle: (ctx) => switchover(verbs, ctx, ctx.params[0]),
    },
    { method: 'POST', path: /^\/api\/v1\/maintenance$/, handle: (ctx) => maintenance(verbs, ctx, q(ctx)) },
    {
      method: 'POST',
      path: /^\/api\/v1\/instances\/([^/]+)\/maintenance$/,
      handle: (ctx) => maintenance(verbs, ctx, ctx.params[0]),
    },
    {
      method: 'GET',
      path: /^\/api\/v1\/maintenance$/,
      handle: (ctx) => ctx.send(200, { instances: verbs.maintained() }),
    },
  ];
}
