/**
 * keepalived's rise/fall counter for a polled check (vrrp_script and floatd's http/tcp checks),
 * pure. The counter lives in [0, rise+fall-1]; below `rise` is KO. A fresh check starts at rise-1
 * in 'init' (its first result decides at once), or at 0 already 'down' with init_fail. From fully
 * OK it takes `fall` consecutive failures to go KO, from KO `rise` consecutive successes to go OK;
 * a result that goes against the trend resets the counter to the far end, as keepalived does.
 */
export type CheckStatus = 'init' | 'up' | 'down';

export interface RiseFallState {
  counter: number;
  status: CheckStatus;
}

export function initialRiseFall(rise: number, initFail: boolean): RiseFallState {
  return initFail ? { counter: 0, status: 'down' } : { counter: rise - 1, status: 'init' };
}

/** Feeds one result; the status changes only on a transition. */
export function feedResult(s: RiseFallState, ok: boolean, rise: number, fall: number): RiseFallState {
  const max = rise + fall - 1;
  if (ok) {
    if (s.counter < rise - 1) return { counter: s.counter + 1, status: s.status };
    return { counter: max, status: 'up' };
  }
  if (s.counter > rise) return { counter: s.counter - 1, status: s.status };
  return { counter: 0, status: 'down' };
}

/** True when feeding this result changed the status (keepalived logs succeeded/failed then). */
export function transitioned(before: RiseFallState, after: RiseFallState): boolean {
  return before.status !== after.status;
}

/**
 * What a boolean tracker (check, interface, process quorum) contributes to an instance
 * (keepalived's process_script_update_priority): weight 0 is a fault trigger (down, or up when
 * reversed, is a fault); a positive weight adds w×m while up, a negative one adds w×m while down,
 * where m is -1 when reversed. Nothing is applied before the first result.
 */
export function contribution(status: CheckStatus, weight: number, reverse: boolean): { delta: number; fault: boolean } {
  if (status === 'init') return { delta: 0, fault: false };
  const up = status === 'up';
  if (weight === 0) return { delta: 0, fault: up === reverse };
  const m = reverse ? -1 : 1;
  if (weight > 0 && up) return { delta: weight * m, fault: false };
  if (weight < 0 && !up) return { delta: weight * m, fault: false };
  return { delta: 0, fault: false };
}
