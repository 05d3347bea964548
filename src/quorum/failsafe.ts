/**
 * `on_quorum_loss failsafe` (docs/quorum.md, "Failsafe"): Patroni's failsafe_mode rule, pure.
 * While etcd does not answer, the holder may keep its VIP only as long as *every* configured
 * peer has promised, in answer to a request this node sent, not to hold that VIP for `window`
 * from the moment the request reached it. Each answer is a lease granted by one peer: the cover
 * counts from this node's *send* time of the round (the peer's promise starts later, at its
 * receipt), scaled by the clock-rate bound, minus the margin — the rule the etcd lease follows.
 *
 * Both halves live here because every node is both: the asker (holder) and the responder
 * (a peer that promised must not take the VIP until the promise ends, even if etcd lets it).
 * The lease machine consults the cover only when its lease deadline passes without an
 * acknowledged renewal (etcd unreachable); a lease etcd reports gone is never covered.
 */

/** A peer asks whether it may keep holding: no while this node holds or is taking the same lease. */
export function answerPeer(m: { phase: string; fs?: Failsafe | undefined }, now: number): { ok: boolean; why: string } {
  if (!m.fs) return { ok: false, why: 'failsafe is not configured here' };
  return m.fs.promise(now, m.phase === 'holding' || m.phase === 'acquiring');
}

/** The same bound as the etcd lease (src/quorum/lease.ts). */
const RATE_BOUND = 1e-3;

export interface FailsafeTiming {
  /** Every node that could hold this VIP besides this one (all must answer; not a majority). */
  peers: readonly string[];
  /** How long a peer's promise lasts from its receipt of the request (the lease TTL). */
  windowUs: number;
  marginUs: number;
  kernelLifetimeUs: number;
  /** See KERNEL_LATE_US in lease.ts. */
  kernelLateUs: number;
}

/** What a completed round gives: hold until coverUs; refresh the kernel lifetime only before notAfterUs. */
export interface Cover {
  coverUs: number;
  notAfterUs: number;
}

export class Failsafe {
  private round = 0;
  private sentAt: number | undefined;
  private readonly waiting = new Set<string>();
  private cover: number | undefined;
  private promised: number;
  private refusal = '';

  /**
   * `startUs`: when this process started. A restarted node may have promised something in its
   * previous life that it no longer remembers, so it keeps a promise of one window from its start.
   */
  constructor(
    readonly t: Readonly<FailsafeTiming>,
    startUs: number,
  ) {
    this.promised = startUs + t.windowUs;
  }

  // ---- the holder's side ------------------------------------------------------------------

  /** A new round sent now (each renew period while holding); answers to older rounds are ignored. */
  ask(now: number): number {
    this.round++;
    this.sentAt = now;
    this.waiting.clear();
    for (const p of this.t.peers) this.waiting.add(p);
    return this.round;
  }

  /**
   * One peer's answer to round `round`. A refusal drops the cover at once (the holder falls back
   * to its lease deadline); the last positive answer of a round extends it.
   */
  answer(round: number, peer: string, ok: boolean, why: string): 'covered' | 'refused' | undefined {
    if (round !== this.round || this.sentAt === undefined || !this.waiting.has(peer)) return undefined;
    if (!ok) {
      this.waiting.clear();
      this.cover = undefined;
      this.refusal = `${peer}: ${why}`;
      return 'refused';
    }
    this.waiting.delete(peer);
    if (this.waiting.size > 0) return undefined;
    const c = this.from(this.sentAt).coverUs;
    if (this.cover === undefined || c > this.cover) this.cover = c;
    this.refusal = '';
    return 'covered';
  }

  /** The cover a round sent at `sentAt` gives once every peer has answered yes. */
  from(sentAt: number): Cover {
    const w = Math.floor(this.t.windowUs * (1 - RATE_BOUND));
    return {
      coverUs: sentAt + w - this.t.marginUs,
      notAfterUs: sentAt + w - this.t.kernelLifetimeUs - this.t.kernelLateUs,
    };
  }

  /** Until when every peer's promise covers this node (undefined: no cover now). */
  coveredUntil(now: number): number | undefined {
    return this.cover !== undefined && now < this.cover ? this.cover : undefined;
  }

  /** The round in flight's send time: the kernel guard of the cover it may give. */
  get roundSentAt(): number | undefined {
    return this.sentAt;
  }

  get lastRefusal(): string {
    return this.refusal;
  }

  /** The lease is gone or given back: no cover carries over to a later hold. */
  reset(): void {
    this.cover = undefined;
    this.sentAt = undefined;
    this.waiting.clear();
  }

  // ---- the responder's side ---------------------------------------------------------------

  /**
   * A peer asks whether it may keep holding. `holding`: this node holds (or is taking) the same
   * lease — then no. Otherwise yes, and this node promises not to hold before now + window.
   */
  promise(now: number, holding: boolean): { ok: boolean; why: string } {
    if (holding) return { ok: false, why: 'this node holds the lease' };
    const until = now + this.t.windowUs;
    if (until > this.promised) this.promised = until;
    return { ok: true, why: 'not holding' };
  }

  /** A node under a promise must not start holding (it may still take the lease in etcd). */
  mayGrant(now: number): boolean {
    return now >= this.promised;
  }

  get promisedUntil(): number {
    return this.promised;
  }
}
