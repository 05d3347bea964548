/**
 * One notify script run: as its configured user (or script_user), with the script security
 * gate and its timeout, FLOATD_EPOCH in quorum mode; the result logged with the script's path
 * only (its arguments may carry secrets).
 */
import type { Clock } from '../util/clock.js';
import { scriptProbe } from '../track/script-check.js';
import type { ScriptIdentity } from '../track/types.js';
import { resolveUser } from '../track/users.js';
import type { ScriptRunner } from '../util/run-script.js';
import type { NotifyEvent, NotifyLog, NotifyScript } from './types.js';

export interface NotifyRun {
  ev: NotifyEvent;
  state: string;
  script: NotifyScript;
  /** The script's argv with what the state appends. */
  argv: string[];
  timeoutUs: number;
  signal: AbortSignal;
}

export interface NotifyRunDeps {
  clock: Clock;
  log: NotifyLog;
  scriptUser?: ScriptIdentity;
  scriptSecurity?: boolean;
  runner?: ScriptRunner;
}

/** Runs it; true when it succeeded. */
export async function runNotifyScript(run: NotifyRun, d: NotifyRunDeps): Promise<boolean> {
  const { ev, state, script: s, argv, timeoutUs, signal } = run;
  const id = identity(s, d.scriptUser);
  const script = s.argv[0] ?? '';
  const fields = {
    event: 'notify.run',
    instance: ev.kind === 'INSTANCE' ? ev.name : undefined,
    group: ev.kind === 'GROUP' ? ev.name : undefined,
    state,
    script,
  };
  if (typeof id === 'string') {
    d.log.warn({ ...fields, result: id }, `notify script ${script} not run: ${id}`);
    return false;
  }
  const r = await scriptProbe({
    argv,
    intervalUs: timeoutUs,
    timeoutUs,
    clock: d.clock,
    ...(ev.epoch !== undefined ? { env: { ...process.env, FLOATD_EPOCH: String(ev.epoch) } } : {}),
    ...(id ? { uid: id.uid, gid: id.gid } : {}),
    ...(d.scriptSecurity ? { scriptSecurity: true } : {}),
    ...(d.runner ? { runner: d.runner } : {}),
  })(signal);
  const res = { ...fields, result: r.detail, durationMs: Math.round(r.durationMs) };
  if (r.ok) d.log.info(res, `notify ${state} script ${script} ${r.detail}`);
  else d.log.warn(res, `notify ${state} script ${script} failed: ${r.detail}`);
  return r.ok;
}

export function identity(s: NotifyScript, scriptUser: ScriptIdentity | undefined): ScriptIdentity | undefined | string {
  if (s.user === undefined) return scriptUser;
  const r = resolveUser(s.user, s.group);
  return r.ok ? r.id : r.error;
}
