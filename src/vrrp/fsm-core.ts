/**
 * The state and the moves shared by every event of one VRRP instance (fsm.ts handles the
 * events): becoming MASTER, entering BACKUP or FAULT, releasing MASTER, timers, priorities,
 * holds and gates. Pure: no I/O, no clock; actions are pushed onto `out` in the order the
 * daemon must perform them.
 */
import { effectivePriority, masterDownUs, skewUs, US_PER_CS } from './timers.js';
import type { Action, Event, InstanceParams, Reason, TimerName, VrrpState } from './types.js';

/** What a drain defers: the operator's hand-over (the event as it came) or a graceful stop. */
export type Drain = { kind: 'handover'; ev: Extract<Event, { type: 'handover' }> } | { kind: 'shutdown' };

export interface InstanceHooks {
  /**
   * Asked when the down timer expires: may this instance go MASTER now? A sync group answers
   * "only if every other member wants MASTER" (keepalived's vrrp_sync_group). Default: yes.
   */
  canGoMaster?: () => boolean;
}

/** The effective priority while a hold is on: the lowest a non-owner can have. */
export const HOLD_PRIORITY = 1;

export class InstanceCore {
  readonly params: Readonly<InstanceParams>;
  protected _state: VrrpState = 'INIT';
  protected _base: number;
  protected _delta = 0;
  protected _effective: number;
  protected _faults: string[] = [];
  protected _groupFault = false;
  protected _wantState: VrrpState = 'INIT';
  protected _masterAddress: string | undefined;
  protected _masterPriority: number | undefined;
  protected _masterAdverIntCs: number;
  /** When preempt_delay ends (µs), once a lower-priority advert started it. */
  protected _preemptUntil: number | undefined;
  /** Cause to report when the pending down timer makes us MASTER. */
  protected _downCause: Reason;
  protected readonly _timers = new Map<TimerName, number>();
  protected readonly hooks: InstanceHooks;
  /** Soft holds (key → end in µs, or undefined = until released). */
  protected readonly _holds = new Map<string, number | undefined>();
  /** Closed gates (key → text). */
  protected readonly _gates = new Map<string, string>();
  /** MASTER whose first advert waits for vipsReady. */
  protected _firstAdvertPending = false;
  /** STOP that still holds its VIPs until a new MASTER speaks. */
  protected _handoverPending = false;
  /** A gate kept a BACKUP from going MASTER (logged once per closing). */
  protected _gateLogged = false;
  /** Quorum mode: the last `lease` event said held, and it has not been given back since. */
  protected _leaseHeld = false;
  /** Quorum mode: the lease was asked for (wantLease) and not given back (releaseLease). */
  protected _leaseWanted = false;
  /** Quorum mode: until when the held lease may be held, as the last `lease held` said. */
  protected _leaseUntil: number | undefined;
  /** Quorum mode: why this BACKUP is not MASTER although its down timer fired (quorum_denied). */
  protected _denied: Reason | undefined;
  /** The reason of the last transition. */
  protected _reason: Reason;
  /** Quorum mode: a MASTER draining before a planned hand-over, and the hand-over that follows the drain. */
  protected _drain: Drain | undefined;
  /** The drain's block on new connections is in place (lifted right after the VIP removal). */
  protected _blocked = false;

  constructor(params: InstanceParams, hooks: InstanceHooks = {}) {
    this.params = { ...params };
    this._base = params.priority;
    this._effective = effectivePriority(params.priority, 0);
    this._masterAdverIntCs = params.advertIntervalCs;
    this._downCause = this.timeoutReason();
    this._reason = { kind: 'init', text: `${this.tag()} starting` };
    this.hooks = hooks;
  }

  get state(): VrrpState {
    return this._state;
  }
  /** What it would be without sync-group constraints (keepalived's wantstate). */
  get wantState(): VrrpState {
    return this._wantState;
  }
  get basePriority(): number {
    return this._base;
  }
  get effectivePriority(): number {
    return this._effective;
  }
  get masterAddress(): string | undefined {
    return this._masterAddress;
  }
  get masterPriority(): number | undefined {
    return this._masterPriority;
  }
  /** Interval used for the down timer (v3 BACKUP adopts the master's). */
  get masterAdverIntCs(): number {
    return this._masterAdverIntCs;
  }
  /** Own fault triggers (from tracking), not counting a fault imposed by the sync group. */
  get faults(): readonly string[] {
    return this._faults;
  }
  get faulted(): boolean {
    return this._faults.length > 0 || this._groupFault;
  }
  get timers(): ReadonlyMap<TimerName, number> {
    return this._timers;
  }
  /** Active soft holds, by key. */
  get holds(): readonly string[] {
    return [...this._holds.keys()];
  }
  /** Closed gates, by key. */
  get gates(): readonly string[] {
    return [...this._gates.keys()];
  }
  /** Stopped, but still holding the VIPs until the new MASTER speaks (or the bound passes); or draining. */
  get handoverPending(): boolean {
    return this._handoverPending || this._drain !== undefined;
  }
  /** Quorum mode: draining before a planned hand-over (still MASTER, new connections refused). */
  get draining(): boolean {
    return this._drain !== undefined;
  }
  /** Why the instance is in its state: the last transition's reason, or quorum_denied while denied. */
  get stateReason(): Reason {
    return this._denied ?? this._reason;
  }
  /** Quorum mode: the denial that keeps this BACKUP from MASTER, if any. */
  get quorumDenied(): Reason | undefined {
    return this._denied;
  }
  /** Quorum mode: the lease is held / asked for. */
  get lease(): { held: boolean; wanted: boolean } {
    return { held: this._leaseHeld, wanted: this._leaseWanted };
  }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const at of this._timers.values()) if (min === undefined || at < min) min = at;
    return min;
  }

  skewUs(): number {
    return skewUs(this.params.version, this._effective, this._masterAdverIntCs);
  }
  masterDownUs(): number {
    return masterDownUs(this.params.version, this._effective, this._masterAdverIntCs, this.params.downTimerAdverts);
  }

  protected tag(): string {
    return `(${this.params.name})`;
  }
  protected timeoutReason(): Reason {
    return { kind: 'advert_timeout', text: `${this.tag()} Receive advertisement timeout` };
  }

  protected setTimer(out: Action[], timer: TimerName, at: number): void {
    this._timers.set(timer, at);
    out.push({ type: 'setTimer', timer, at });
  }

  protected cancelTimer(out: Action[], timer: TimerName): void {
    if (this._timers.delete(timer)) out.push({ type: 'cancelTimer', timer });
  }

  /** Every protocol timer; a timed hold outlives state changes. */
  protected cancelAll(out: Action[]): void {
    for (const t of [...this._timers.keys()]) if (t !== 'holdEnd' && t !== 'handoverLimit') this.cancelTimer(out, t);
    this._firstAdvertPending = false;
  }

  protected transition(out: Action[], to: VrrpState, reason: Reason): void {
    const from = this._state;
    this._state = to;
    this._reason = reason;
    this._denied = undefined;
    out.push({ type: 'transition', from, to, reason });
  }

  protected isOwnerMaster(): boolean {
    return this._base === 255 && this.params.initialState === 'MASTER';
  }

  /**
   * Enter BACKUP with the down timer at `now + delay` ('full' = Master_Down_Interval, after
   * adopting `adoptCs` as the master's interval for v3).
   */
  protected enterBackup(
    now: number,
    out: Action[],
    reason: Reason,
    delayUs: number | 'full',
    cause: Reason = this.timeoutReason(),
    adoptCs?: number,
  ): void {
    this.cancelAll(out);
    this._masterAdverIntCs =
      adoptCs !== undefined && this.params.version === 3 ? adoptCs : this.params.advertIntervalCs;
    this._wantState = 'BACKUP';
    this._preemptUntil = undefined;
    this.transition(out, 'BACKUP', reason);
    this._downCause = cause;
    this.setTimer(out, 'masterDown', now + (delayUs === 'full' ? this.masterDownUs() : delayUs));
  }

  /**
   * MASTER: advert, VIPs, GARP, notify, then the delayed GARP and advert timers. With
   * advertAfterVips the advert waits for vipsReady (bounded by one advert interval).
   */
  protected becomeMaster(now: number, out: Action[], reason: Reason): void {
    this.cancelAll(out);
    // Back to MASTER while a switchover still held the VIPs: they stay, the wait ends.
    this._handoverPending = false;
    this.cancelTimer(out, 'handoverLimit');
    const p = this.params;
    this._masterAdverIntCs = p.advertIntervalCs;
    this._wantState = 'MASTER';
    this._preemptUntil = undefined;
    this._masterAddress = p.myAddress;
    this._masterPriority = this._effective;
    if (!p.advertAfterVips) out.push({ type: 'sendAdvert', priority: this._effective });
    out.push({ type: 'addVips' });
    out.push({ type: 'garp', burst: 'master' });
    if (p.advertAfterVips) out.push({ type: 'reportVipsReady' });
    this.transition(out, 'MASTER', reason);
    if (p.garpMasterDelayUs > 0) this.setTimer(out, 'garpDelayed', now + p.garpMasterDelayUs);
    if (p.garpMasterRefreshUs > 0) this.setTimer(out, 'garpRefresh', now + p.garpMasterRefreshUs);
    if (p.advertAfterVips) {
      this.setTimer(out, 'firstAdvert', now + p.advertIntervalCs * US_PER_CS);
      this._firstAdvertPending = true;
    }
    this.setTimer(out, 'advert', now + p.advertIntervalCs * US_PER_CS);
  }

  /** The first advert of a new MASTER, if it still waits (vipsReady, or its bound). */
  protected firstAdvert(out: Action[]): void {
    if (this._state !== 'MASTER' || !this._firstAdvertPending) return;
    this._firstAdvertPending = false;
    this.cancelTimer(out, 'firstAdvert');
    out.push({ type: 'sendAdvert', priority: this._effective });
  }

  /** Leave MASTER: optional priority-0 advert (once, see docs), VIPs removed, then the lease given back. */
  protected releaseMaster(out: Action[], resign: boolean): void {
    this.cancelAll(out);
    if (resign) out.push({ type: 'sendAdvert', priority: 0 });
    out.push({ type: 'removeVips' });
    // A drain ends with the release, whichever way it comes (its timer, a fault, a lost lease).
    this._drain = undefined;
    if (this._blocked) out.push({ type: 'unblockNew' });
    this._blocked = false;
    this.giveLease(out, `${this.tag()} leaving MASTER`);
  }

  protected enterFault(out: Action[], reason: Reason): void {
    if (this._handoverPending) this.dropPendingVips(out);
    if (this._state === 'MASTER') this.releaseMaster(out, true);
    else this.cancelAll(out);
    this.giveLease(out, `${this.tag()} entering FAULT`);
    this._wantState = 'FAULT';
    this._preemptUntil = undefined;
    this.transition(out, 'FAULT', reason);
  }

  /** Quorum mode: ask for the lease (the lease machine ignores a repeat while it is asking). */
  protected askLease(out: Action[]): void {
    this._leaseWanted = true;
    out.push({ type: 'wantLease' });
  }

  /** Quorum mode: give the lease back, after any VIP removal already queued. */
  protected giveLease(out: Action[], why: string): void {
    if (!this.params.quorum || (!this._leaseWanted && !this._leaseHeld)) return;
    this._leaseWanted = false;
    this._leaseHeld = false;
    this._leaseUntil = undefined;
    this._denied = undefined;
    out.push({ type: 'releaseLease', why });
  }

  /** A switchover's kept VIPs go now (the instance leaves BACKUP another way). */
  protected dropPendingVips(out: Action[]): void {
    this._handoverPending = false;
    this.cancelTimer(out, 'handoverLimit');
    out.push({ type: 'removeVips' });
  }

  protected faultReason(init: boolean): Reason {
    const tracker = this._faults[0];
    const by = tracker !== undefined ? ` (${this._faults.join(', ')})` : ' (sync group)';
    const r: Reason = { kind: 'fault', text: `${this.tag()} Entering FAULT STATE${init ? ' (init)' : ''}${by}` };
    if (tracker !== undefined) r.tracker = tracker;
    return r;
  }

  /** The reason a closed gate gives (the first gate's key). */
  protected gateReason(): Reason | undefined {
    const first = [...this._gates][0];
    if (!first) return undefined;
    const [key, text] = first;
    return { kind: 'inhibited', gate: key, text: `${this.tag()} may not be MASTER (${key}${text ? `: ${text}` : ''})` };
  }

  /** Recompute the effective priority; in BACKUP shift the pending down timer by the skew change. */
  protected applyPriority(delta: number, why: string, out: Action[]): void {
    this._delta = delta;
    const from = this._effective;
    const oldSkew = this.skewUs();
    const eff = effectivePriority(this._base, delta);
    this._effective = this._holds.size > 0 && eff !== 255 ? HOLD_PRIORITY : eff;
    if (this._effective === from) return;
    const text =
      `${this.tag()} Changing effective priority from ${from} to ${this._effective}` + (why ? ` (${why})` : '');
    out.push({ type: 'priorityChanged', from, to: this._effective, reason: text });
    if (this._state === 'MASTER') this._masterPriority = this._effective;
    const due = this._timers.get('masterDown');
    if (this._state === 'BACKUP' && due !== undefined) this.setTimer(out, 'masterDown', due + this.skewUs() - oldSkew);
  }

  /** Sets or clears one soft hold and re-arms the hold timer for the earliest timed one. */
  protected setHold(out: Action[], key: string, on: boolean, untilUs: number | undefined, why: string): void {
    if (on) this._holds.set(key, untilUs);
    else this._holds.delete(key);
    this.armHoldTimer(out);
    this.applyPriority(this._delta, why, out);
  }

  protected armHoldTimer(out: Action[]): void {
    let min: number | undefined;
    for (const u of this._holds.values()) if (u !== undefined && (min === undefined || u < min)) min = u;
    if (min === undefined) this.cancelTimer(out, 'holdEnd');
    else if (this._timers.get('holdEnd') !== min) this.setTimer(out, 'holdEnd', min);
  }
}
