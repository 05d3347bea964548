/**
 * The operator's verbs inside the daemon — switchover, maintenance on/off — over the runtime
 * and the persisted maintenance set. No INSTANCE means every instance (switchover: every
 * MASTER one). The API routes (src/api/verbs.ts) and so the CLI and the dashboard call these.
 */
import type { Logger } from '../util/log.js';
import type { MaintenanceStore } from './maintenance-store.js';
import type { VerbResult, VerbRuntime, Verbs } from '../model/verbs.js';

const join = (rs: { ok: boolean; message: string }[]): { ok: boolean; message: string } => ({
  ok: rs.every((r) => r.ok),
  message: rs.map((r) => r.message).join('; '),
});

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
      if (!r || !(r.switchover ?? r.handover)) return { ok: false, code: 501, message: 'switchover is not available' };
      const move = (n: string): { ok: boolean; message: string } =>
        r.switchover ? r.switchover(n, holdS) : r.handover!(n, holdS);
      if (instance !== undefined) {
        if (!names(r).includes(instance)) return { ok: false, code: 404, message: `no instance ${instance}` };
        const res = move(instance);
        return { ...res, code: res.ok ? 200 : 409 };
      }
      const masters = r
        .status()
        .instances.filter((i) => i.state === 'MASTER')
        .map((i) => i.name);
      if (masters.length === 0)
        return { ok: false, code: 409, message: 'no instance is MASTER on this node: nothing to switch over' };
      const res = join(masters.map(move));
      return { ...res, code: res.ok ? 200 : 409 };
    },
    maintenance(instance, on, by) {
      const r = rt();
      if (!r?.holdChanged) return { ok: false, code: 501, message: 'maintenance is not available' };
      const all = names(r);
      if (instance !== undefined && !all.includes(instance))
        return { ok: false, code: 404, message: `no instance ${instance}` };
      const targets = instance !== undefined ? [instance] : all;
      const out: { ok: boolean; message: string }[] = [];
      for (const n of targets) {
        try {
          if (!store.set(n, on, { since: now(), by })) {
            out.push({ ok: true, message: `${n} was already ${on ? 'in' : 'out of'} maintenance` });
            continue;
          }
        } catch (e) {
          return { ok: false, code: 500, message: `cannot write ${store.path}: ${(e as Error).message}` };
        }
        log.info(
          { event: 'verb.maintenance', instance: n, on, by },
          `(${n}) maintenance ${on ? 'on: lowest priority, leaving MASTER' : 'off: back to its configured priority'}`,
        );
        const res = r.holdChanged(n, on ? 'maintenance on' : 'maintenance off');
        out.push({ ok: res.ok, message: `${n}: maintenance ${on ? 'on' : 'off'} (${res.message})` });
      }
      const res = join(out);
      return { ...res, code: res.ok ? 200 : 409 };
    },
    maintained: () => store.list(),
  };
}
