/**
 * The fence guard's decisions (docs/quorum.md, "Fence guard"), pure: fed the daemon's messages and
 * the monotonic clock, it says when to remove which VIPs. The daemon tells the guard, on every
 * acknowledged renewal, "these VIPs may be held until D"; if D passes without a newer deadline
 * (the daemon frozen or its event loop stuck) or the daemon goes away (pipe EOF, pidfd), the VIPs
 * go at once. A `release` (the daemon fenced or stopped) stops the extensions but keeps D: the
 * daemon removes its VIPs itself, and should it freeze before doing so, D still removes them —
 * a release never makes the guard weaker than a hold. A new hold replaces the entry.
 */

export interface GuardVip {
  ifname: string;
  address: string;
  prefix: number;
  peer?: string;
}

export type GuardEvent =
  /** The holder may hold `vips` until `deadlineUs` (the guard's clock). */
  | { type: 'hold'; holder: string; deadlineUs: number; vips: GuardVip[] }
  /** The holder gave the lease back or fenced: no more extensions (the deadline stays). */
  | { type: 'release'; holder: string }
  /** The daemon is gone (its pipe closed, or its pidfd fired). */
  | { type: 'gone'; why: string }
  | { type: 'timer' };

export type GuardAction =
  /** Remove these addresses now; `lateUs`: how far past the deadline this decision is (0 when the daemon went). */
  | { type: 'remove'; holder: string; vips: GuardVip[]; why: 'deadline' | 'daemon_gone'; lateUs: number }
  | { type: 'exit' };

interface Entry {
  deadlineUs: number;
  vips: GuardVip[];
  released: boolean;
}

export class GuardMachine {
  private readonly held = new Map<string, Entry>();
  private gone = false;

  /** When the next deadline falls (the adapter arms one timer for it); undefined: nothing to watch. */
  nextWake(): number | undefined {
    let w: number | undefined;
    for (const e of this.held.values()) if (w === undefined || e.deadlineUs < w) w = e.deadlineUs;
    return w;
  }

  /** Holders with a pending deadline (status, tests). */
  holders(): string[] {
    return [...this.held.keys()];
  }

  step(now: number, ev: GuardEvent): GuardAction[] {
    const out: GuardAction[] = [];
    if (this.gone) return out;
    switch (ev.type) {
      case 'hold':
        this.held.set(ev.holder, { deadlineUs: ev.deadlineUs, vips: [...ev.vips], released: false });
        break;
      case 'release': {
        const e = this.held.get(ev.holder);
        if (e) e.released = true;
        break;
      }
      case 'gone':
        this.gone = true;
        for (const [holder, e] of this.held)
          out.push({ type: 'remove', holder, vips: e.vips, why: 'daemon_gone', lateUs: 0 });
        this.held.clear();
        out.push({ type: 'exit' });
        return out;
      case 'timer':
        break;
    }
    // Every event checks the deadlines first-hand: a late timer, or a hold that arrives already past
    // its deadline (the daemon was slow to send it), removes at once.
    for (const [holder, e] of this.held) {
      if (now < e.deadlineUs) continue;
      this.held.delete(holder);
      out.push({ type: 'remove', holder, vips: e.vips, why: 'deadline', lateUs: now - e.deadlineUs });
    }
    return out;
  }
}

/** One line of the daemon → guard protocol (newline-delimited JSON on the guard's stdin). */
export type GuardMessage =
  /** `d`: the deadline in CLOCK_MONOTONIC µs (the same clock in every process). */
  { t: 'hold'; h: string; d: number; v: GuardVip[] } | { t: 'release'; h: string };

const MAX_LINE = 64 * 1024;

/** Parses one protocol line; undefined for anything malformed (the guard ignores it and says so). */
export function parseGuardLine(line: string): GuardMessage | undefined {
  if (line.length > MAX_LINE) return undefined;
  let m: unknown;
  try {
    m = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  if (typeof o.h !== 'string') return undefined;
  if (o.t === 'release') return { t: 'release', h: o.h };
  if (o.t !== 'hold' || typeof o.d !== 'number' || !Number.isFinite(o.d) || !Array.isArray(o.v)) return undefined;
  const v: GuardVip[] = [];
  for (const x of o.v as unknown[]) {
    const a = x as Record<string, unknown>;
    if (typeof a?.ifname !== 'string' || typeof a.address !== 'string' || typeof a.prefix !== 'number')
      return undefined;
    v.push({
      ifname: a.ifname,
      address: a.address,
      prefix: a.prefix,
      ...(typeof a.peer === 'string' ? { peer: a.peer } : {}),
    });
  }
  return { t: 'hold', h: o.h, d: o.d, v };
}
