/**
 * The operator's verbs inside the daemon — switchover, maintenance on/off — over the runtime
 * and the persisted maintenance set. No INSTANCE means every instance (switchover: every
 * MASTER one). The API routes (src/api/verbs.ts) and so the CLI and the dashboard call these.
 */
import type { Logger } from '../util/log.js';
import type { MaintenanceStore } from './maintenance-store.js';
import type { ErrorCode } from '../errors.js';
import type { Verdict, VerbResult, VerbRuntime, Verbs } from '../model/verbs.js';

/** All the answers in one; a refusal's code is the first refused one's. */
const join = (rs: Verdict[]): Verdict => {
  const code = rs.find((r) => !r.ok)?.code;
  return { ok: rs.every((r) => r.ok), message: rs.map((r) => r.message).join('; '), ...(code ? { code } : {}) };
};

/** A verdict as the API answers it: 200 when done, else 409 with the refusal's code (`fallback` if none). */
const result = (res: Verdict, fallback: ErrorCode): VerbResult =>
  res.ok
    ? { ok: true, message: res.message, code: 200 }
    : { ok: false, message: res.message, code: 409, error: res.code ?? fallback };

export function operatorVerbs(
  rt: () => VerbRuntime | undefined,
  store: MaintenanceStore,
  log: Logger,
  now: () => string,
): Verbs {
  const names = (r: VerbRuntime): string[] => r.status().instances.map((i) => i.name);
  return {
    switchover(instance, holdS) {
      const r = rt();
      if (!r || !(r.switchover ?? r.handover))
        return { ok: false, code: 501, error: 'NOT_AVAILABLE', message: 'switchover is not available' };
      const move = (n: string): Verdict => (r.switchover ? r.switchover(n, holdS) : r.handover!(n, holdS));
      if (instance !== undefined) {
        if (!names(r).includes(instance))
          return { ok: false, code: 404, error: 'NO_SUCH_INSTANCE', message: `no instance ${instance}` };
        return result(move(instance), 'NOT_MASTER');
      }
      const masters = r
        .status()
        .instances.filter((i) => i.state === 'MASTER')
        .map((i) => i.name);
      if (masters.length === 0)
        return {
          ok: false,
          code: 409,
          error: 'NOT_MASTER',
          message: 'no instance is MASTER on this node: nothing to switch over',
        };
      return result(join(masters.map(move)), 'NOT_MASTER');
    },
    maintenance(instance, on, by) {
      const r = rt();
      if (!r?.holdChanged)
        return { ok: false, code: 501, error: 'NOT_AVAILABLE', message: 'maintenance is not available' };
      const all = names(r);
      if (instance !== undefined && !all.includes(instance))
        return { ok: false, code: 404, error: 'NO_SUCH_INSTANCE', message: `no instance ${instance}` };
      const targets = instance !== undefined ? [instance] : all;
      const out: Verdict[] = [];
      for (const n of targets) {
        try {
          if (!store.set(n, on, { since: now(), by })) {
            out.push({ ok: true, message: `${n} was already ${on ? 'in' : 'out of'} maintenance` });
            continue;
          }
        } catch (e) {
          const message = `cannot write ${store.path}: ${(e as Error).message}`;
          return { ok: false, code: 500, error: 'MAINTENANCE_STORE_FAILED', message };
        }
        log.info(
          { event: 'verb.maintenance', instance: n, on, by },
          `(${n}) maintenance ${on ? 'on: lowest priority, leaving MASTER' : 'off: back to its configured priority'}`,
        );
        const res = r.holdChanged(n, on ? 'maintenance on' : 'maintenance off');
        out.push({ ...res, message: `${n}: maintenance ${on ? 'on' : 'off'} (${res.message})` });
      }
      return result(join(out), 'NO_SUCH_INSTANCE');
    },
    maintained: () => store.list(),
  };
}
