/**
 * Who is in rotation (pure): checker results → real server alive/weight → quorum → the servers
 * a virtual service sends new connections to. keepalived's semantics (check/ipwrapper.c):
 *
 * - a real server is alive while none of its checkers is down (no checker: always alive);
 * - `alpha` starts checkers down, so a server enters only after its first success;
 * - quorum is the sum of the live servers' weights: lost when it falls below quorum − hysteresis,
 *   regained at quorum + hysteresis (in between it keeps its state);
 * - with quorum lost and a sorry_server, only the sorry server serves; without one the live
 *   servers keep serving (quorum_down still runs);
 * - a watched file not read yet (a FILE_CHECK just started) decides nothing: a server already in
 *   rotation stays as it was (a reload adding the check does not flap it out and back in for the
 *   moment of the first read), a server not in rotation stays out until the file says up;
 * - `inhibit_on_failure` keeps a dead server listed with weight 0 (no new connections);
 * - each checker adds its part to the configured weight (MISC_CHECK `misc_dynamic`: exit status
 *   − 2 − the configured weight; FILE_CHECK: value × weight), clamped to 0..65535 (0: listed,
 *   no new connections).
 */
import type { RealServerConfig, VirtualServerConfig } from '../config/lvs-model.js';

/** One checker's latest verdict for one real server. */
export interface CheckVerdict {
  up: boolean;
  weight?: number;
  /** Added to the weight (FILE_CHECK with a weight). */
  delta?: number;
  detail?: string;
  /** No verdict yet: a watched file not read yet. */
  pending?: boolean;
}

export interface RsState {
  alive: boolean;
  weight: number;
  /**
   * Only in what rsState reports: a check has not decided yet (a file not read), and `alive`
   * and `weight` are what the other checks say; stepVs settles it against the previous state.
   */
  pending?: true;
}
export interface VsState {
  quorumUp: boolean;
  rs: Map<string, RsState>;
}

export type LbEvent =
  | { type: 'rs_up' | 'rs_down'; vs: string; rs: string }
  | { type: 'quorum_up' | 'quorum_down'; vs: string; weight: number };

export interface RotationEntry {
  address: string;
  port: number;
  weight: number;
  sorry?: boolean;
}

export const rsKey = (r: { address: string; port: number }): string =>
  r.address.includes(':') ? `[${r.address}]:${r.port}` : `${r.address}:${r.port}`;

/**
 * The verdicts of a server's checkers (in config order); undefined entries have not reported (a
 * FILE_CHECK's undefined verdict is pending: its file not read yet).
 */
export function rsState(rs: RealServerConfig, verdicts: (CheckVerdict | undefined)[]): RsState {
  let alive = true;
  let pending = false;
  const weight = rs.weight;
  let delta = 0;
  rs.checks.forEach((ch, i) => {
    const v = verdicts[i];
    if (v?.pending || (!v && ch.kind === 'FILE_CHECK')) {
      pending = true;
      return;
    }
    const up = v ? v.up : !ch.alpha;
    if (!up) alive = false;
    // keepalived adds each checker's part: misc_dynamic's is status − 2 − the configured weight
    // (alone, the weight becomes status − 2), FILE_CHECK's value × weight.
    if (v?.weight !== undefined) delta += v.weight - rs.weight;
    if (v?.delta) delta += v.delta;
  });
  return {
    alive,
    weight: Math.max(0, Math.min(65535, weight + delta)),
    ...(pending ? { pending: true as const } : {}),
  };
}

/**
 * A server with an undecided check keeps what it had: in rotation (at its weight) only if it was
 * and its other checks still say up; never enters on it (nothing before it: out).
 */
function settle(before: RsState | undefined, r: RsState): RsState {
  if (!r.pending) return r;
  return before?.alive && r.alive ? { alive: true, weight: before.weight } : { alive: false, weight: r.weight };
}

const liveWeight = (rs: Map<string, RsState>): number =>
  [...rs.values()].reduce((s, r) => s + (r.alive ? r.weight : 0), 0);

/**
 * The next state of a virtual service from its servers' states, with the events to run
 * (notify_up/down, quorum_up/down). `prev` undefined: start, no events (keepalived runs none).
 */
export function stepVs(
  vs: VirtualServerConfig,
  prev: VsState | undefined,
  reported: Map<string, RsState>,
): { state: VsState; events: LbEvent[] } {
  const rs = new Map([...reported].map(([k, r]) => [k, settle(prev?.rs.get(k), r)]));
  const w = liveWeight(rs);
  const events: LbEvent[] = [];
  if (!prev) return { state: { quorumUp: w >= vs.quorum, rs }, events };
  for (const [k, r] of rs) {
    const before = prev.rs.get(k);
    if (before && before.alive !== r.alive) events.push({ type: r.alive ? 'rs_up' : 'rs_down', vs: vs.key, rs: k });
    if (!before && r.alive) events.push({ type: 'rs_up', vs: vs.key, rs: k });
  }
  let quorumUp = prev.quorumUp;
  if (!quorumUp && w >= vs.quorum + vs.hysteresis) quorumUp = true;
  else if (quorumUp && w < vs.quorum - vs.hysteresis) quorumUp = false;
  if (quorumUp !== prev.quorumUp) events.push({ type: quorumUp ? 'quorum_up' : 'quorum_down', vs: vs.key, weight: w });
  return { state: { quorumUp, rs }, events };
}

/** The servers listed for the virtual service; weight 0 = listed, no new connections. */
export function rotation(vs: VirtualServerConfig, st: VsState): RotationEntry[] {
  if (!st.quorumUp && vs.sorry) return [{ address: vs.sorry.address, port: vs.sorry.port, weight: 1, sorry: true }];
  const out: RotationEntry[] = [];
  for (const r of vs.realServers) {
    const s = st.rs.get(rsKey(r));
    if (s?.alive) out.push({ address: r.address, port: r.port, weight: s.weight });
    else if (r.inhibitOnFailure) out.push({ address: r.address, port: r.port, weight: 0 });
  }
  if (vs.sorry?.inhibit) out.push({ address: vs.sorry.address, port: vs.sorry.port, weight: 0, sorry: true });
  return out;
}

/** `omega`: what stopping runs (quorum_down and notify_down for the live servers). */
export function stopEvents(vs: VirtualServerConfig, st: VsState): LbEvent[] {
  if (!vs.omega) return [];
  const ev: LbEvent[] = [];
  for (const [k, r] of st.rs) if (r.alive) ev.push({ type: 'rs_down', vs: vs.key, rs: k });
  if (st.quorumUp) ev.push({ type: 'quorum_down', vs: vs.key, weight: liveWeight(st.rs) });
  return ev;
}
