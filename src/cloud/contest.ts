/**
 * Who may move the floating address in a partition (issue 13 Part 1; the rule and its
 * reasoning are in docs/cloud.md, "Partitions"). Pure: fed the holder reads and the adverts
 * heard, on the reconciler's clock (µs).
 *
 * The provider's assignment is the arbiter. A holder read that shows a configured peer is a
 * *fresh* claim — the peer was alive and acting while this node could not hear it — when this
 * node saw some other holder at a moment that lies more than `windowUs` after the last advert
 * it heard from any peer: the peer's assign landed after that moment, and no assign issued
 * before the last advert can land that late (`windowUs` bounds how long a provider action may
 * take). A MASTER never fights a fresh claim. Every other case is a takeover (the peer holding
 * it may be dead: that is what VRRP just told us) or a drift (nobody, or an instance that is
 * not a configured peer), and is asserted.
 */
import type { Phase, ReconcilerAction } from './reconciler-types.js';
export class ClaimEvidence {
  /** When this node last heard a VRRP advert from any peer (−∞: never). */
  private lastHeardUs = -Infinity;
  private last: { value: string | null; at: number } | undefined;
  /** The latest moment a holder other than `last.value` was seen. */
  private otherSeenAt: number | undefined;

  constructor(
    private readonly peers: ReadonlySet<string>,
    private readonly windowUs: number,
  ) {}

  /** A reload builds a new reconciler: it keeps what this one knew (a reload must not forget a partition). */
  inheritFrom(prev: ClaimEvidence): void {
    this.lastHeardUs = prev.lastHeardUs;
    this.last = prev.last;
    this.otherSeenAt = prev.otherSeenAt;
  }

  /** A valid advert from a peer arrived: contact, so no claim older than this is fresh. */
  heard(now: number): void {
    this.lastHeardUs = now;
  }

  /** A holder read (null: unassigned). */
  observe(now: number, value: string | null): void {
    if (this.last !== undefined && this.last.value !== value) this.otherSeenAt = this.last.at;
    this.last = { value, at: now };
  }

  /** The holder just read is a peer's claim made while this node could not hear any peer. */
  fresh(holder: string | null, self: string | undefined): boolean {
    if (holder === null || holder === self || !this.peers.has(holder)) return false;
    if (this.last?.value !== holder || this.otherSeenAt === undefined) return false;
    return this.otherSeenAt - this.windowUs > this.lastHeardUs;
  }

  /** Why the claim is fresh, for status, logs and the webhook (stable while nothing changes). */
  describeHearing(): string {
    return this.lastHeardUs === -Infinity
      ? 'this node cannot hear its peer (no advert from a peer heard since floatd started)'
      : 'this node cannot hear its peer (no advert from a peer since before the peer took it)';
  }
}

/** The log line when an address becomes contested (or stops being so), if it did. */
export function contestLog(
  before: string | undefined,
  now: string | undefined,
  phase: Phase,
  holder: string | null | undefined,
  reconcileUs: number,
): ReconcilerAction | undefined {
  if (now !== undefined && now !== before)
    return {
      type: 'log',
      level: 'warn',
      event: 'cloud.contested',
      code: 'CLOUD_CONTESTED',
      msg: `${now}; not assigning (re-checked every ${Math.round(reconcileUs / 1e6)} s)`,
    };
  if (before !== undefined && now === undefined)
    return {
      type: 'log',
      level: 'info',
      event: 'cloud.contest_ended',
      msg: `no longer contested (${phase}${holder !== undefined ? `, holder ${holder ?? 'nobody'}` : ''})`,
    };
  return undefined;
}

/**
 * `contest_timeout`: a fresh claim seen since `sinceUs` is fought after `limitUs` (never when
 * unset). Returns the log line when the limit has passed, undefined while still contested.
 */
export function contestTimedOut(
  nowUs: number,
  sinceUs: number,
  limitUs: number | undefined,
  holder: string | null,
): ReconcilerAction | undefined {
  if (limitUs === undefined || nowUs - sinceUs < limitUs) return undefined;
  return {
    type: 'log',
    level: 'warn',
    event: 'cloud.contest_timeout',
    msg:
      `contested for ${Math.round((nowUs - sinceUs) / 1e6)} s ` +
      `(contest_timeout ${Math.round(limitUs / 1e6)} s): claiming the address from ${holder ?? 'nobody'} anyway`,
  };
}
