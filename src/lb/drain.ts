/**
 * Drain to completion (pure). A drained real server gets weight 0 (no new connections) and is
 * `draining` in each virtual server that lists it; it becomes `drained` there — removed from
 * that service — once it holds no open connection for it (conntrack, read periodically by the
 * service) or when `drain_timeout` has passed, whichever is first. Undrain brings it back.
 * Connections still open at a timeout are not cut: conntrack keeps them to their end.
 */
import type { VirtualServerConfig } from '../config/lvs-model.js';
import { ipBytes, ipString } from '../util/ip.js';
import { rsKey } from './membership.js';

export const DEFAULT_DRAIN_TIMEOUT_S = 300;
/** How often open connections are counted while a server drains. */
export const DRAIN_POLL_US = 1_000_000;

export type DrainPhase = 'draining' | 'drained';
export interface DrainVs {
  phase: DrainPhase;
  why?: 'idle' | 'timeout';
  /** Open connections at the last count (undefined: not known). */
  open?: number;
}
export interface Drain {
  sinceUs: number;
  timeoutUs: number;
  /** Per virtual server key. */
  vs: Map<string, DrainVs>;
}
export interface DrainDone {
  vs: string;
  rs: string;
  why: 'idle' | 'timeout';
  open: number | undefined;
}

/** A new drain of `rs` in every virtual server that lists it. */
export function startDrain(vss: VirtualServerConfig[], rs: string, nowUs: number, timeoutUs: number): Drain {
  const vs = new Map<string, DrainVs>();
  for (const v of vss) if (v.realServers.some((r) => rsKey(r) === rs)) vs.set(v.key, { phase: 'draining' });
  return { sinceUs: nowUs, timeoutUs, vs };
}

export const anyDraining = (drains: ReadonlyMap<string, Drain>): boolean =>
  [...drains.values()].some((d) => [...d.vs.values()].some((x) => x.phase === 'draining'));

/** The step: `open(vs, rs)` = open connections now (undefined: unknown, only the timeout ends it). */
export function drainStep(
  drains: ReadonlyMap<string, Drain>,
  open: (vs: string, rs: string) => number | undefined,
  nowUs: number,
): { drains: Map<string, Drain>; done: DrainDone[] } {
  const out = new Map<string, Drain>();
  const done: DrainDone[] = [];
  for (const [rs, d] of drains) {
    const vs = new Map<string, DrainVs>();
    for (const [k, x] of d.vs) {
      if (x.phase === 'drained') {
        vs.set(k, x);
        continue;
      }
      const n = open(k, rs);
      const why = n === 0 ? 'idle' : nowUs - d.sinceUs >= d.timeoutUs ? 'timeout' : undefined;
      if (why) {
        vs.set(k, { phase: 'drained', why, ...(n !== undefined ? { open: n } : {}) });
        done.push({ vs: k, rs, why, open: n });
      } else vs.set(k, { phase: 'draining', ...(n !== undefined ? { open: n } : {}) });
    }
    out.set(rs, { ...d, vs });
  }
  return { drains: out, done };
}

/** The (virtual server, real server) pairs drained out of their service. */
export function drainedPairs(drains: ReadonlyMap<string, Drain>): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const [rs, d] of drains)
    for (const [vs, x] of d.vs) if (x.phase === 'drained') m.set(vs, new Set([...(m.get(vs) ?? []), rs]));
  return m;
}

export interface CtEntry {
  proto: string;
  /** TCP's state; undefined for UDP. */
  state?: string;
  origDst: string;
  origDport: number;
  replySrc: string;
  replySport: number;
}

const norm = (a: string): string => {
  const b = ipBytes(a);
  return b ? (ipString(b) ?? a) : a;
};

/** Lines of /proc/net/nf_conntrack: `ipv4 2 tcp 6 431999 ESTABLISHED src=… dst=… sport=… dport=… src=…`. */
export function parseConntrack(text: string): CtEntry[] {
  const out: CtEntry[] = [];
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    const proto = w[2];
    if (proto !== 'tcp' && proto !== 'udp') continue;
    const kv: [string, string][] = [];
    for (const x of w) {
      const i = x.indexOf('=');
      if (i > 0) kv.push([x.slice(0, i), x.slice(i + 1)]);
    }
    const at = (k: string, n: number): string | undefined => kv.filter(([a]) => a === k)[n]?.[1];
    const origDst = at('dst', 0);
    const replySrc = at('src', 1);
    const origDport = Number(at('dport', 0));
    const replySport = Number(at('sport', 1));
    if (!origDst || !replySrc || !origDport || !replySport) continue;
    const state = proto === 'tcp' && w[5] && !w[5].includes('=') ? w[5] : undefined;
    out.push({
      proto,
      ...(state ? { state } : {}),
      origDst: norm(origDst),
      origDport,
      replySrc: norm(replySrc),
      replySport,
    });
  }
  return out;
}

/** TCP states of a connection that is over (conntrack keeps the entry a while longer). */
const CLOSED = new Set(['TIME_WAIT', 'CLOSE']);

/**
 * Open connections per `vsKey rsKey`: entries whose reply comes from the real server and whose
 * original destination is one of the service's addresses (a fwmark service: any destination,
 * which can only over-count, so a drain waits longer, never shorter).
 */
export function openConnections(entries: CtEntry[], vss: VirtualServerConfig[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of vss) {
    // DR: the balancer forwards frames before conntrack, so nothing is counted (the timeout ends it).
    if (v.method === 'DR') continue;
    const proto = v.protocol.toLowerCase();
    const eps = new Set(v.endpoints.map((e) => `${norm(e.address)} ${e.port}`));
    for (const r of v.realServers) {
      const addr = norm(r.address);
      let n = 0;
      for (const e of entries)
        if (
          e.proto === proto &&
          e.replySrc === addr &&
          e.replySport === r.port &&
          (v.fwmarks.length > 0 || eps.has(`${e.origDst} ${e.origDport}`)) &&
          !(e.state && CLOSED.has(e.state))
        )
          n++;
      m.set(`${v.key} ${rsKey(r)}`, n);
    }
  }
  return m;
}
