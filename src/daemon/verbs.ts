/**
 * The runtime's operator verbs, each one FSM input (docs/state-machine.md, holds and gates):
 * API hand-over (hold 'handover'), switchover (hand-over keeping the VIPs until the new MASTER
 * speaks), maintenance (hold 'maintenance'), and the generic hold/gate inputs.
 */
import { refuse } from '../errors.js';
import type { Verdict } from '../model/verbs.js';
import { HOLD_PRIORITY, type Event, type VrrpInstance } from '../vrrp/fsm.js';
import type { Clock } from '../util/clock.js';

/** How often a graceful stop looks whether the hand-overs are done. */
const HANDOVER_POLL_US = 5_000;

export type { Verdict } from '../model/verbs.js';

export interface VerbHost {
  /** The instance's machine, or undefined when there is none (or the runtime is not built). */
  machine(name: string): Pick<VrrpInstance, 'state' | 'effectivePriority'> | undefined;
  nowUs(): number;
  step(name: string, ev: Event): void;
  /** In the persisted maintenance set. */
  held(name: string): boolean;
}

/**
 * API hand-over: resign MASTER now (priority-0 advert: the peer takes over after Skew_Time)
 * and stay BACKUP at the lowest priority for `holdS` seconds, so preemption does not take the
 * address straight back. holdS 0: resign only. `keepVips`: see switchover.
 */
export function handover(h: VerbHost, name: string, holdS: number, keepVips: boolean): Verdict {
  const inst = h.machine(name);
  if (!inst) return refuse('NO_SUCH_INSTANCE', `no instance ${name}`);
  if (inst.state !== 'MASTER')
    return refuse('NOT_MASTER', `${name} is ${inst.state}, not MASTER: nothing to hand over`);
  const text = `requested through the API${holdS > 0 ? `, holding off for ${holdS} s` : ''}`;
  const holdUntilUs = holdS > 0 ? h.nowUs() + Math.round(holdS * 1e6) : undefined;
  h.step(name, {
    type: 'handover',
    text,
    ...(holdUntilUs !== undefined ? { holdUntilUs } : {}),
    ...(keepVips ? { keepVips } : {}),
  });
  const after = h.machine(name);
  // Quorum mode drains first (still MASTER for a moment, new connections refused), then leaves.
  const left = after?.state === 'MASTER' ? 'drains, then leaves MASTER' : 'left MASTER';
  const prio = after?.state === 'MASTER' ? HOLD_PRIORITY : (after?.effectivePriority ?? HOLD_PRIORITY);
  return {
    ok: true,
    message: `${name} ${left}${holdS > 0 ? `; it stays at priority ${prio} for ${holdS} s` : ''}`,
  };
}

/**
 * Planned move (`floatd switchover`): the hand-over, but the VIPs stay until another router's
 * advert is heard (or advert interval + 1 s). In quorum mode the FSM drains instead (the new MASTER
 * needs the lease first, so the VIPs cannot stay): src/vrrp/fsm-gates.ts startDrain.
 */
export function switchover(h: VerbHost, name: string, holdS: number): Verdict {
  return handover(h, name, holdS, true);
}

/** The maintenance set changed for `name`: the FSM's 'maintenance' hold; a held MASTER switches over. */
export function holdChanged(h: VerbHost, name: string, reason: string): Verdict {
  if (!h.machine(name)) return refuse('NO_SUCH_INSTANCE', `no instance ${name}`);
  const on = h.held(name);
  h.step(name, { type: 'hold', key: 'maintenance', on, text: reason });
  if (on && h.machine(name)?.state === 'MASTER') return switchover(h, name, 0);
  const now = h.machine(name);
  return { ok: true, message: `${name} is ${now?.state ?? 'INIT'} at priority ${now?.effectivePriority ?? '?'}` };
}

/** A generic soft hold ('hold') or gate ('inhibit') on one instance, by key (core-api notes). */
export function setInput(
  h: VerbHost,
  name: string,
  type: 'hold' | 'inhibit',
  key: string,
  on: boolean,
  text?: string,
): boolean {
  if (!h.machine(name)) return false;
  h.step(name, { type, key, on, ...(text !== undefined ? { text } : {}) });
  return true;
}

/** Resolves once no instance holds VIPs waiting for a new MASTER (a graceful stop; the FSM bounds the wait). */
export function handoversDone(
  clock: Clock,
  instances: () => readonly Pick<VrrpInstance, 'handoverPending'>[],
): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (instances().some((i) => i.handoverPending)) {
        clock.at(clock.nowUs() + HANDOVER_POLL_US, check);
        return;
      }
      resolve();
    };
    check();
  });
}
