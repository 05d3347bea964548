/**
 * The VRRP state machine of one instance (digest §2, §3.1): pure and deterministic.
 * Events come in with `now` in integer microseconds; actions go out as data, in the order
 * the daemon must perform them. No I/O, no clock, no timers of its own: it asks for timers
 * with setTimer/cancelTimer and ignores a timer event that is stale (not due, or cancelled).
 */
import { compareAddresses, effectivePriority, masterDownUs, skewMinUs, skewUs, US_PER_CS } from './timers.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** masterDown: BACKUP's Master_Down timer; advert: MASTER's advert tick; garp*: GARP bursts. */
export type TimerName = 'masterDown' | 'advert' | 'garpDelayed' | 'garpRefresh' | 'garpLowerPrio';

export interface InstanceParams {
  name: string;
  vrid: number;
  version: 2 | 3;
  family: 4 | 6;
  /** Base priority 1..255 (255 = address owner). */
  priority: number;
  initialState: 'MASTER' | 'BACKUP';
  /** Centiseconds (v2: a multiple of 100). */
  advertIntervalCs: number;
  preempt: boolean;
  preemptDelayUs: number;
  downTimerAdverts: number;
  /** Our advert source address: the equal-priority tie-break. */
  myAddress: string;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  /** Second GARP burst after becoming MASTER / periodic refresh (0 = off). */
  garpMasterDelayUs: number;
  garpMasterRefreshUs: number;
  /** Repeat of the lower-priority GARP burst (keepalived garp_lower_prio_delay; 0/absent = off). */
  garpLowerPrioDelayUs?: number;
}

export type SyncDirective = 'MASTER' | 'BACKUP' | 'FAULT' | 'RECOVER';

export type Event =
  /** `wasMaster`: this instance was MASTER before a reload and keeps the role (keepalived's reload_master). */
  | { type: 'start'; wasMaster?: boolean }
  | { type: 'advert'; from: string; priority: number; advertIntervalCs: number }
  | { type: 'timer'; timer: TimerName }
  | { type: 'tracking'; priorityDelta: number; faults: string[]; reason: string }
  | { type: 'vipRemovedExternally' }
  | { type: 'shutdown' }
  /** Operator hand-over (API): a MASTER resigns with a priority-0 advert and becomes BACKUP. */
  | { type: 'handover'; text?: string }
  /** Sent by VrrpNode to couple the members of a vrrp_sync_group. */
  | { type: 'syncGroup'; group: string; to: SyncDirective; text: string };

export type ReasonKind =
  | 'init'
  | 'advert_timeout'
  | 'higher_priority_advert'
  | 'priority_zero'
  | 'preempt'
  | 'fault'
  | 'recovered'
  | 'shutdown'
  | 'sync_group'
  | 'vip_removed'
  | 'owner_conflict'
  | 'handover';

export interface Reason {
  kind: ReasonKind;
  /** Human, keepalived-like. */
  text: string;
  peer?: string;
  peerPriority?: number;
  tracker?: string;
}

export type GarpBurst = 'master' | 'delayed' | 'refresh' | 'lowerPrio';

export type Action =
  | { type: 'sendAdvert'; priority: number }
  | { type: 'addVips' }
  | { type: 'removeVips' }
  | { type: 'garp'; burst: GarpBurst }
  | { type: 'transition'; from: VrrpState; to: VrrpState; reason: Reason }
  | { type: 'priorityChanged'; from: number; to: number; reason: string }
  /** MASTER heard a lower-priority MASTER: notify_master_rx_lower_pri + FIFO MASTER_RX_LOWER_PRI. */
  | { type: 'masterRxLowerPri'; peer: string; peerPriority: number }
  | { type: 'setTimer'; timer: TimerName; at: number }
  | { type: 'cancelTimer'; timer: TimerName }
  /** Something worth a log line that is not a transition (discarded advert, config error). */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; text: string };

export interface InstanceHooks {
  /**
   * Asked when the down timer expires: may this instance go MASTER now? A sync group answers
   * "only if every other member wants MASTER" (digest §6). Default: yes.
   */
  canGoMaster?: () => boolean;
}

export class VrrpInstance {
  readonly params: Readonly<InstanceParams>;
  private _state: VrrpState = 'INIT';
  private _base: number;
  private _delta = 0;
  private _effective: number;
  private _faults: string[] = [];
  private _groupFault = false;
  private _wantState: VrrpState = 'INIT';
  private _masterAddress: string | undefined;
  private _masterPriority: number | undefined;
  private _masterAdverIntCs: number;
  /** When preempt_delay ends (µs), once a lower-priority advert started it. */
  private _preemptUntil: number | undefined;
  /** Cause to report when the pending down timer makes us MASTER. */
  private _downCause: Reason;
  private readonly _timers = new Map<TimerName, number>();
  private readonly hooks: InstanceHooks;

  constructor(params: InstanceParams, hooks: InstanceHooks = {}) {
    this.params = { ...params };
    this._base = params.priority;
    this._effective = effectivePriority(params.priority, 0);
    this._masterAdverIntCs = params.advertIntervalCs;
    this._downCause = this.timeoutReason();
    this.hooks = hooks;
  }

  get state(): VrrpState { return this._state; }
  /** What it would be without sync-group constraints (keepalived's wantstate). */
  get wantState(): VrrpState { return this._wantState; }
  get basePriority(): number { return this._base; }
  get effectivePriority(): number { return this._effective; }
  get masterAddress(): string | undefined { return this._masterAddress; }
  get masterPriority(): number | undefined { return this._masterPriority; }
  /** Interval used for the down timer (v3 BACKUP adopts the master's). */
  get masterAdverIntCs(): number { return this._masterAdverIntCs; }
  /** Own fault triggers (from tracking), not counting a fault imposed by the sync group. */
  get faults(): readonly string[] { return this._faults; }
  get faulted(): boolean { return this._faults.length > 0 || this._groupFault; }
  get timers(): ReadonlyMap<TimerName, number> { return this._timers; }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const at of this._timers.values()) if (min === undefined || at < min) min = at;
    return min;
  }

  skewUs(): number { return skewUs(this.params.version, this._effective, this._masterAdverIntCs); }
  masterDownUs(): number {
    return masterDownUs(this.params.version, this._effective, this._masterAdverIntCs, this.params.downTimerAdverts);
  }

  step(now: number, ev: Event): Action[] {
    const out: Action[] = [];
    switch (ev.type) {
      case 'start': this.onStart(now, out, ev.wasMaster === true); break;
      case 'advert': this.onAdvert(now, ev, out); break;
      case 'timer': this.onTimer(now, ev.timer, out); break;
      case 'tracking': this.onTracking(now, ev, out); break;
      case 'vipRemovedExternally': this.onVipRemoved(now, out); break;
      case 'shutdown': this.onShutdown(out); break;
      case 'handover': this.onHandover(now, ev.text, out); break;
      case 'syncGroup': this.onSync(now, ev, out); break;
    }
    return out;
  }

  // ---- helpers ----------------------------------------------------------------------

  private tag(): string { return `(${this.params.name})`; }
  private timeoutReason(): Reason { return { kind: 'advert_timeout', text: `${this.tag()} Receive advertisement timeout` }; }

  private setTimer(out: Action[], timer: TimerName, at: number): void {
    this._timers.set(timer, at);
    out.push({ type: 'setTimer', timer, at });
  }

  private cancelTimer(out: Action[], timer: TimerName): void {
    if (this._timers.delete(timer)) out.push({ type: 'cancelTimer', timer });
  }

  private cancelAll(out: Action[]): void {
    for (const t of [...this._timers.keys()]) this.cancelTimer(out, t);
  }

  private transition(out: Action[], to: VrrpState, reason: Reason): void {
    const from = this._state;
    this._state = to;
    out.push({ type: 'transition', from, to, reason });
  }

  private isOwnerMaster(): boolean { return this._base === 255 && this.params.initialState === 'MASTER'; }

  /**
   * Enter BACKUP with the down timer at `now + delay` ('full' = Master_Down_Interval, after
   * adopting `adoptCs` as the master's interval for v3).
   */
  private enterBackup(now: number, out: Action[], reason: Reason, delayUs: number | 'full', cause: Reason = this.timeoutReason(), adoptCs?: number): void {
    this.cancelAll(out);
    this._masterAdverIntCs = adoptCs !== undefined && this.params.version === 3 ? adoptCs : this.params.advertIntervalCs;
    this._wantState = 'BACKUP';
    this._preemptUntil = undefined;
    this.transition(out, 'BACKUP', reason);
    this._downCause = cause;
    this.setTimer(out, 'masterDown', now + (delayUs === 'full' ? this.masterDownUs() : delayUs));
  }

  /** MASTER: advert first, then VIPs, GARP, notify, then the delayed GARP and advert timers. */
  private becomeMaster(now: number, out: Action[], reason: Reason): void {
    this.cancelAll(out);
    this._masterAdverIntCs = this.params.advertIntervalCs;
    this._wantState = 'MASTER';
    this._preemptUntil = undefined;
    this._masterAddress = this.params.myAddress;
    this._masterPriority = this._effective;
    out.push({ type: 'sendAdvert', priority: this._effective });
    out.push({ type: 'addVips' });
    out.push({ type: 'garp', burst: 'master' });
    this.transition(out, 'MASTER', reason);
    const p = this.params;
    if (p.garpMasterDelayUs > 0) this.setTimer(out, 'garpDelayed', now + p.garpMasterDelayUs);
    if (p.garpMasterRefreshUs > 0) this.setTimer(out, 'garpRefresh', now + p.garpMasterRefreshUs);
    this.setTimer(out, 'advert', now + p.advertIntervalCs * US_PER_CS);
  }

  /** Leave MASTER: optional priority-0 advert (once, see docs), VIPs removed. */
  private releaseMaster(out: Action[], resign: boolean): void {
    this.cancelAll(out);
    if (resign) out.push({ type: 'sendAdvert', priority: 0 });
    out.push({ type: 'removeVips' });
  }

  private enterFault(out: Action[], reason: Reason): void {
    if (this._state === 'MASTER') this.releaseMaster(out, true);
    else this.cancelAll(out);
    this._wantState = 'FAULT';
    this._preemptUntil = undefined;
    this.transition(out, 'FAULT', reason);
  }

  private faultReason(init: boolean): Reason {
    const tracker = this._faults[0];
    const by = tracker !== undefined ? ` (${this._faults.join(', ')})` : ' (sync group)';
    const r: Reason = { kind: 'fault', text: `${this.tag()} Entering FAULT STATE${init ? ' (init)' : ''}${by}` };
    if (tracker !== undefined) r.tracker = tracker;
    return r;
  }

  // ---- events ------------------------------------------------------------------------

  private onStart(now: number, out: Action[], wasMaster: boolean): void {
    if (this._state !== 'INIT') return;
    if (this.faulted) {
      out.push({ type: 'removeVips' });
      this.enterFault(out, this.faultReason(true));
      return;
    }
    if (this.isOwnerMaster()) {
      this.becomeMaster(now, out, { kind: 'init', text: `${this.tag()} Entering MASTER STATE (address owner)` });
      return;
    }
    if (wasMaster) {
      this.becomeMaster(now, out, { kind: 'init', text: `${this.tag()} Entering MASTER STATE (was MASTER before reload)` });
      return;
    }
    // Stale VIPs left by a crash go first; then wait the full Master_Down_Interval.
    out.push({ type: 'removeVips' });
    this.enterBackup(now, out, { kind: 'init', text: `${this.tag()} Entering BACKUP STATE (init)` }, 'full');
  }

  private onAdvert(now: number, ev: Extract<Event, { type: 'advert' }>, out: Action[]): void {
    if (this._state === 'BACKUP') this.backupRx(now, ev, out);
    else if (this._state === 'MASTER') this.masterRx(now, ev, out);
    // INIT, FAULT, STOP: adverts are ignored.
  }

  private backupRx(now: number, ev: Extract<Event, { type: 'advert' }>, out: Action[]): void {
    if (ev.priority === 0) {
      out.push({ type: 'log', level: 'info', text: `${this.tag()} Backup received priority 0 advertisement` });
      this._downCause = { kind: 'priority_zero', text: `${this.tag()} Backup received priority 0 advertisement`, peer: ev.from, peerPriority: 0 };
      this.setTimer(out, 'masterDown', now + this.skewUs());
      return;
    }
    const p = this.params;
    const delayPending = p.preemptDelayUs > 0 && (this._preemptUntil === undefined || now < this._preemptUntil);
    if (!p.preempt || ev.priority >= this._effective || delayPending) {
      if (p.version === 3) this._masterAdverIntCs = ev.advertIntervalCs;
      this._masterAddress = ev.from;
      this._masterPriority = ev.priority;
      this._wantState = 'BACKUP';
      if (p.preemptDelayUs > 0) {
        if (ev.priority >= this._effective) this._preemptUntil = undefined;
        else if (this._preemptUntil === undefined) {
          this._preemptUntil = now + p.preemptDelayUs;
          out.push({ type: 'log', level: 'info', text: `${this.tag()} start preempt delay (${p.preemptDelayUs / 1e6} s)` });
        }
      }
      this._downCause = this.timeoutReason();
      this.setTimer(out, 'masterDown', now + this.masterDownUs());
      return;
    }
    // Lower priority and we may preempt: discard, and do NOT refresh the down timer.
    out.push({ type: 'log', level: 'info', text: `${this.tag()} received lower priority (${ev.priority}) advert from ${ev.from} - discarding` });
    this._downCause = {
      kind: 'preempt',
      text: `${this.tag()} Preempting master ${ev.from} (priority ${ev.priority}, ours ${this._effective})`,
      peer: ev.from,
      peerPriority: ev.priority,
    };
  }

  private masterRx(now: number, ev: Extract<Event, { type: 'advert' }>, out: Action[]): void {
    const p = this.params;
    if (ev.priority === 0) {
      out.push({ type: 'log', level: 'info', text: `${this.tag()} Master received priority 0 message` });
      out.push({ type: 'sendAdvert', priority: this._effective });
      return;
    }
    let ownerConflict = false;
    if (ev.priority === 255 && this._effective === 255) {
      ownerConflict = true;
      const text = `${this.tag()} CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority`;
      out.push({ type: 'log', level: 'error', text });
      this._base = 254;
      this.applyPriority(now, this._delta, text, out);
    }
    const cmp = compareAddresses(ev.from, p.myAddress);
    const mine = this._effective;
    const higher = ev.priority > mine || (ev.priority === mine && cmp > 0);
    const lower = ev.priority < mine || (ev.priority === mine && cmp < 0);
    if (ev.priority === mine && cmp === 0) {
      out.push({ type: 'log', level: 'warn', text: `${this.tag()} WARNING - equal priority advert received from remote host with our IP address.` });
      return;
    }
    if (lower) {
      const suffix = p.lowerPrioNoAdvert ? '' : ', forcing new election';
      out.push({ type: 'log', level: 'info', text: `${this.tag()} Received advert from ${ev.from} with lower priority ${ev.priority}, ours ${mine}${suffix}` });
      if (!p.lowerPrioNoAdvert) out.push({ type: 'sendAdvert', priority: mine });
      out.push({ type: 'garp', burst: 'lowerPrio' });
      const d = p.garpLowerPrioDelayUs ?? 0;
      if (d > 0) this.setTimer(out, 'garpLowerPrio', now + d);
      out.push({ type: 'masterRxLowerPri', peer: ev.from, peerPriority: ev.priority });
      return;
    }
    if (higher) {
      if (p.higherPrioSendAdvert) out.push({ type: 'sendAdvert', priority: mine });
      const text = ownerConflict
        ? `${this.tag()} CONFIGURATION ERROR: both address owner; yielding to ${ev.from} (priority reduced to 254)`
        : ev.priority === mine
          ? `${this.tag()} Master received advert from ${ev.from} with same priority ${ev.priority} but higher IP address than ours`
          : `${this.tag()} Master received advert from ${ev.from} with higher priority ${ev.priority}, ours ${mine}`;
      this.releaseMaster(out, false);
      this._masterAddress = ev.from;
      this._masterPriority = ev.priority;
      const reason: Reason = { kind: ownerConflict ? 'owner_conflict' : 'higher_priority_advert', text, peer: ev.from, peerPriority: ev.priority };
      this.enterBackup(now, out, reason, 'full', this.timeoutReason(), ev.advertIntervalCs);
    }
  }

  private onTimer(now: number, timer: TimerName, out: Action[]): void {
    const due = this._timers.get(timer);
    if (due === undefined || now < due) return; // stale or early: ignore
    this._timers.delete(timer);
    const p = this.params;
    switch (timer) {
      case 'masterDown': {
        if (this._state !== 'BACKUP') return;
        this._wantState = 'MASTER';
        if (this.hooks.canGoMaster && !this.hooks.canGoMaster()) {
          // Sync group: stay BACKUP until every member wants MASTER; re-arm (digest §2.3/§6).
          this.setTimer(out, 'masterDown', now + p.advertIntervalCs * US_PER_CS + skewMinUs(p.version, this._masterAdverIntCs));
          return;
        }
        this.becomeMaster(now, out, this._downCause);
        return;
      }
      case 'advert':
        if (this._state !== 'MASTER') return;
        out.push({ type: 'sendAdvert', priority: this._effective });
        this.setTimer(out, 'advert', now + p.advertIntervalCs * US_PER_CS);
        return;
      case 'garpDelayed':
        if (this._state === 'MASTER') out.push({ type: 'garp', burst: 'delayed' });
        return;
      case 'garpRefresh':
        if (this._state !== 'MASTER') return;
        out.push({ type: 'garp', burst: 'refresh' });
        this.setTimer(out, 'garpRefresh', now + p.garpMasterRefreshUs);
        return;
      case 'garpLowerPrio':
        if (this._state === 'MASTER') out.push({ type: 'garp', burst: 'lowerPrio' });
        return;
    }
  }

  /** Recompute the effective priority; in BACKUP shift the pending down timer by the skew change. */
  private applyPriority(_now: number, delta: number, why: string, out: Action[]): void {
    this._delta = delta;
    const from = this._effective;
    const oldSkew = this.skewUs();
    this._effective = effectivePriority(this._base, delta);
    if (this._effective === from) return;
    out.push({ type: 'priorityChanged', from, to: this._effective, reason: `${this.tag()} Changing effective priority from ${from} to ${this._effective}${why ? ` (${why})` : ''}` });
    if (this._state === 'MASTER') this._masterPriority = this._effective;
    const due = this._timers.get('masterDown');
    if (this._state === 'BACKUP' && due !== undefined) this.setTimer(out, 'masterDown', due + this.skewUs() - oldSkew);
  }

  private onTracking(now: number, ev: Extract<Event, { type: 'tracking' }>, out: Action[]): void {
    if (this._state === 'STOP') return;
    this.applyPriority(now, ev.priorityDelta, ev.reason, out);
    const wasFaulted = this.faulted;
    this._faults = [...ev.faults];
    if (this._state === 'INIT') return; // recorded; applied at start
    if (!wasFaulted && this.faulted) {
      const r = this.faultReason(false);
      if (ev.reason) r.text += `: ${ev.reason}`;
      this.enterFault(out, r);
    } else if (wasFaulted && !this.faulted && this._state === 'FAULT') {
      this.leaveFault(now, out, { kind: 'recovered', text: `${this.tag()} Entering BACKUP STATE (fault cleared${ev.reason ? `: ${ev.reason}` : ''})` });
    }
  }

  private leaveFault(now: number, out: Action[], reason: Reason): void {
    this._masterAdverIntCs = this.params.advertIntervalCs;
    const delay = this.isOwnerMaster() ? this.params.advertIntervalCs * US_PER_CS + this.skewUs() : 'full';
    this.enterBackup(now, out, reason, delay);
  }

  private onVipRemoved(now: number, out: Action[]): void {
    if (this._state !== 'MASTER') return;
    // keepalived's set_vrrp_backup: resign, then re-take after Skew_Time and re-add the VIPs.
    this.releaseMaster(out, true);
    const reason: Reason = { kind: 'vip_removed', text: `${this.tag()} Virtual address removed externally; leaving MASTER to re-take it` };
    this.enterBackup(now, out, reason, this.skewUs(), reason);
  }

  private onShutdown(out: Action[]): void {
    if (this._state === 'STOP') return;
    if (this._state === 'MASTER') this.releaseMaster(out, true);
    else this.cancelAll(out);
    this._wantState = 'STOP';
    this.transition(out, 'STOP', { kind: 'shutdown', text: `${this.tag()} Stopping (shutdown)` });
  }

  /** Like a shutdown for the peers (priority 0: they take over after Skew_Time), but we stay BACKUP. */
  private onHandover(now: number, text: string | undefined, out: Action[]): void {
    if (this._state !== 'MASTER') return;
    this.releaseMaster(out, true);
    this._masterAddress = undefined;
    this._masterPriority = undefined;
    const reason: Reason = { kind: 'handover', text: `${this.tag()} Leaving MASTER STATE (hand-over${text ? `: ${text}` : ''})` };
    this.enterBackup(now, out, reason, 'full');
  }

  private onSync(now: number, ev: Extract<Event, { type: 'syncGroup' }>, out: Action[]): void {
    const reason: Reason = { kind: 'sync_group', text: ev.text };
    switch (ev.to) {
      case 'MASTER':
        if (this._state === 'BACKUP') this.becomeMaster(now, out, reason);
        return;
      case 'BACKUP':
        if (this._state === 'MASTER') {
          this.releaseMaster(out, false);
          this.enterBackup(now, out, reason, 'full');
        }
        return;
      case 'FAULT':
        this._groupFault = true;
        if (this._state === 'BACKUP' || this._state === 'MASTER') this.enterFault(out, { ...this.faultReason(false), kind: 'sync_group', text: ev.text });
        return;
      case 'RECOVER':
        this._groupFault = false;
        if (this._state === 'FAULT' && !this.faulted) this.leaveFault(now, out, { kind: 'recovered', text: ev.text });
        return;
    }
  }
}
