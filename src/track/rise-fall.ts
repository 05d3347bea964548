/**
 * keepalived's rise/fall counter for a tracked check (digest §3.2), pure. The counter lives in
 * [0, rise+fall-1]; values below `rise` mean KO. From fully OK it takes `fall` consecutive
 * failures to go KO, and from KO `rise` consecutive successes to go OK. The first result
 * decides at once (a fresh check starts at rise-1, or 0 with init_fail).
 */
export type CheckStatus = 'init' | 'up' | 'down';

export interface RiseFallState { counter: number; status: CheckStatus }

export function initialRiseFall(rise: number, initFail: boolean): RiseFallState {
  return { counter: initFail ? 0 : rise - 1, status: 'init' };
}

/** Feeds one result; returns the next state (status changes only on a transition). */
export function feedResult(s: RiseFallState, ok: boolean, rise: number, fall: number): RiseFallState {
  const max = rise + fall - 1;
  if (ok) {
    if (s.counter < rise - 1) return { counter: s.counter + 1, status: s.status === 'init' ? 'down' : s.status };
    return { counter: max, status: 'up' };
  }
  if (s.counter > rise && s.status !== 'init') return { counter: s.counter - 1, status: s.status };
  return { counter: 0, status: 'down' };
}

/**
 * What a tracker contributes to an instance (digest §3.2): weight 0 makes it a fault trigger;
 * a positive weight is added while up, a negative one while down; `reverse` flips the sign.
 */
export function contribution(status: CheckStatus, weight: number, reverse: boolean): { delta: number; fault: boolean } {
  if (status === 'init') return { delta: 0, fault: false };
  const up = status === 'up';
  if (weight === 0) return { delta: 0, fault: reverse ? up : !up };
  const m = reverse ? -1 : 1;
  if (weight > 0 && up) return { delta: weight * m, fault: false };
  if (weight < 0 && !up) return { delta: weight * m, fault: false };
  return { delta: 0, fault: false };
}
