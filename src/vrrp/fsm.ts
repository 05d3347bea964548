/**
 * The VRRP state machine of one instance (RFC 3768/5798 as keepalived implements them): pure
 * and deterministic. Events come in with `now` in integer microseconds; actions go out as
 * data, in the order the daemon must perform them. No I/O, no clock, no timers of its own: it
 * asks for timers with setTimer/cancelTimer and ignores a timer event that is stale (not due,
 * or cancelled). The vocabulary is in types.ts, the shared moves in fsm-core.ts.
 */
import { compareAddresses, US_PER_CS } from './timers.js';
import { GatedCore } from './fsm-gates.js';
import type { Action, Event, Reason, TimerName } from './types.js';

export type {
  Action,
  Event,
  GarpBurst,
  InstanceParams,
  Reason,
  ReasonKind,
  SyncDirective,
  TimerName,
  VrrpState,
} from './types.js';
export { HOLD_PRIORITY, type InstanceHooks } from './fsm-core.js';

export class VrrpInstance extends GatedCore {
  step(now: number, ev: Event): Action[] {
    const out: Action[] = [];
    if (ev.type !== 'lease') this.lapsedLease(now, out);
    switch (ev.type) {
      case 'start':
        this.onStart(now, out, ev.wasMaster === true);
        break;
      case 'advert':
        this.onAdvert(now, ev, out);
        break;
      case 'timer':
        this.onTimer(now, ev.timer, out);
        break;
      case 'tracking':
        this.onTracking(now, ev, out);
        break;
      case 'vipRemovedExternally':
        this.onVipRemoved(now, out);
        break;
      case 'shutdown':
        this.onShutdown(now, ev.handover === true, out);
        break;
      case 'handover':
        this.onHandover(now, ev, out);
        break;
      case 'syncGroup':
        this.onSync(now, ev, out);
        break;
      case 'vipsReady':
        this.firstAdvert(out);
        break;
      case 'hold':
        this.setHold(out, ev.key, ev.on, ev.untilUs, ev.text ?? `${ev.key} ${ev.on ? 'on' : 'off'}`);
        break;
      case 'inhibit':
        this.onInhibit(now, ev, out);
        break;
      case 'lease':
        this.onLease(now, ev, out);
        break;
    }
    return out;
  }

  private onStart(now: number, out: Action[], wasMaster: boolean): void {
    if (this._state !== 'INIT') return;
    if (this.faulted) {
      out.push({ type: 'removeVips' });
      this.enterFault(out, this.faultReason(true));
      return;
    }
    const gated = this._gates.size > 0 || this.params.quorum === true;
    if (this.isOwnerMaster() && !gated) {
      this.becomeMaster(now, out, { kind: 'init', text: `${this.tag()} Entering MASTER STATE (address owner)` });
      return;
    }
    if (wasMaster && !gated) {
      this.becomeMaster(now, out, {
        kind: 'init',
        text: `${this.tag()} Entering MASTER STATE (was MASTER before reload)`,
      });
      return;
    }
    // Stale VIPs (and a drain's block) left by a crash go first; then wait the full Master_Down_Interval.
    out.push({ type: 'removeVips' });
    if ((this.params.quorumDrainUs ?? 0) > 0) out.push({ type: 'unblockNew' });
    this.enterBackup(now, out, { kind: 'init', text: `${this.tag()} Entering BACKUP STATE (init)` }, 'full');
  }

  private onAdvert(now: number, ev: Extract<Event, { type: 'advert' }>, out: Action[]): void {
    if (this._state === 'BACKUP' && this._handoverPending && ev.priority > 0 && ev.from !== this.params.myAddress) {
      this.endHandover(out, 'the new MASTER has announced itself');
    }
    if (this._state === 'BACKUP') this.backupRx(now, ev, out);
    else if (this._state === 'MASTER') this.masterRx(now, ev, out);
    else if (this._state === 'STOP' && this._handoverPending && ev.priority > 0 && ev.from !== this.params.myAddress) {
      this.endHandover(out, 'the new MASTER has announced itself');
    }
    // INIT, FAULT, STOP: adverts are ignored otherwise.
  }

  private backupRx(now: number, ev: Extract<Event, { type: 'advert' }>, out: Action[]): void {
    if (ev.priority === 0) {
      out.push({ type: 'log', level: 'info', text: `${this.tag()} Backup received priority 0 advertisement` });
      this._downCause = {
        kind: 'priority_zero',
        text: `${this.tag()} Backup received priority 0 advertisement`,
        peer: ev.from,
        peerPriority: 0,
      };
      this.setTimer(out, 'masterDown', now + this.skewUs());
      // Quorum mode: ask now; the lease (once the old holder revokes it) makes us MASTER at once.
      if (this.params.quorum && this._gates.size === 0) {
        this._wantState = 'MASTER';
        this.askLease(out);
      }
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
          out.push({
            type: 'log',
            level: 'info',
            text: `${this.tag()} start preempt delay (${p.preemptDelayUs / 1e6} s)`,
          });
        }
      }
      this._downCause = this.timeoutReason();
      this.setTimer(out, 'masterDown', now + this.masterDownUs());
      this.giveLease(out, `${this.tag()} following MASTER ${ev.from}`);
      return;
    }
    // Lower priority and we may preempt: discard, and do NOT refresh the down timer.
    out.push({
      type: 'log',
      level: 'info',
      text: `${this.tag()} received lower priority (${ev.priority}) advert from ${ev.from} - discarding`,
    });
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
      const text =
        `${this.tag()} CONFIGURATION ERROR: local instance and a remote instance are both configured as ` +
        'address owner, ' +
        'please fix - reducing local priority';
      out.push({ type: 'log', level: 'error', text });
      this._base = 254;
      this.applyPriority(this._delta, text, out);
    }
    const cmp = compareAddresses(ev.from, p.myAddress);
    const mine = this._effective;
    const higher = ev.priority > mine || (ev.priority === mine && cmp > 0);
    const lower = ev.priority < mine || (ev.priority === mine && cmp < 0);
    if (ev.priority === mine && cmp === 0) {
      out.push({
        type: 'log',
        level: 'warn',
        text: `${this.tag()} WARNING - equal priority advert received from remote host with our IP address.`,
      });
      return;
    }
    if (lower) {
      const suffix = p.lowerPrioNoAdvert ? '' : ', forcing new election';
      out.push({
        type: 'log',
        level: 'info',
        text: `${this.tag()} Received advert from ${ev.from} with lower priority ${ev.priority}, ours ${mine}` + suffix,
      });
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
          ? `${this.tag()} Master received advert from ${ev.from} with same priority ${ev.priority} ` +
            'but higher IP address than ours'
          : `${this.tag()} Master received advert from ${ev.from} with higher priority ${ev.priority}, ours ${mine}`;
      this.releaseMaster(out, false);
      this._masterAddress = ev.from;
      this._masterPriority = ev.priority;
      const kind = ownerConflict ? 'owner_conflict' : 'higher_priority_advert';
      const reason: Reason = { kind, text, peer: ev.from, peerPriority: ev.priority };
      this.enterBackup(now, out, reason, 'full', this.timeoutReason(), ev.advertIntervalCs);
    }
  }

  private onTimer(now: number, timer: TimerName, out: Action[]): void {
    const due = this._timers.get(timer);
    if (due === undefined || now < due) return; // stale or early: ignore
    this._timers.delete(timer);
    const p = this.params;
    switch (timer) {
      case 'masterDown':
        this.downTimer(now, out);
        return;
      case 'advert': {
        if (this._state !== 'MASTER') return;
        this._firstAdvertPending = false;
        this.cancelTimer(out, 'firstAdvert');
        out.push({ type: 'sendAdvert', priority: this._effective });
        // A timer a little late re-arms from when it was due: lateness does not add to every
        // interval. Much later (a stalled loop) counts from now: no catch-up burst.
        const late = p.advertLatenessUs ?? 0;
        const from = late > 0 && now - due < late ? due : now;
        this.setTimer(out, 'advert', from + p.advertIntervalCs * US_PER_CS);
        return;
      }
      case 'firstAdvert':
        this.firstAdvert(out);
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
      case 'drainEnd': {
        const d = this._drain;
        if (!d || this._state !== 'MASTER') return;
        this._drain = undefined; // the block stays until the release lifts it, after the VIP removal
        if (d.kind === 'handover') this.onHandover(now, d.ev, out, true);
        else this.onShutdown(now, true, out, true);
        return;
      }
      case 'handoverLimit':
        if (this._handoverPending)
          this.endHandover(out, `no new MASTER heard within ${Math.round((p.shutdownHandoverUs ?? 0) / 1000)} ms`);
        return;
      case 'holdEnd': {
        const ended = [...this._holds].filter(([, u]) => u !== undefined && u <= now).map(([k]) => k);
        for (const k of ended) this._holds.delete(k);
        this.armHoldTimer(out);
        this.applyPriority(
          this._delta,
          ended.includes('handover') ? 'hand-over hold ended' : `hold ended (${ended.join(', ')})`,
          out,
        );
        return;
      }
    }
  }

  private onTracking(now: number, ev: Extract<Event, { type: 'tracking' }>, out: Action[]): void {
    if (this._state === 'STOP') return;
    this.applyPriority(ev.priorityDelta, ev.reason, out);
    const wasFaulted = this.faulted;
    this._faults = [...ev.faults];
    if (this._state === 'INIT') return; // recorded; applied at start
    if (!wasFaulted && this.faulted) {
      const r = this.faultReason(false);
      if (ev.reason) r.text += `: ${ev.reason}`;
      this.enterFault(out, r);
    } else if (wasFaulted && !this.faulted && this._state === 'FAULT') {
      this.leaveFault(now, out, {
        kind: 'recovered',
        text: `${this.tag()} Entering BACKUP STATE (fault cleared${ev.reason ? `: ${ev.reason}` : ''})`,
      });
    }
  }

  private onVipRemoved(now: number, out: Action[]): void {
    if (this._state !== 'MASTER') return;
    // keepalived's set_vrrp_backup: resign, then re-take after Skew_Time and re-add the VIPs.
    this.releaseMaster(out, true);
    const reason: Reason = {
      kind: 'vip_removed',
      text: `${this.tag()} Virtual address removed externally; leaving MASTER to re-take it`,
    };
    this.enterBackup(now, out, reason, this.skewUs(), reason);
  }

  /**
   * Shutdown. A graceful one (`handover`) of a MASTER with shutdownHandoverUs keeps the VIPs
   * after the priority-0 advert until the new MASTER speaks (or the bound passes): clients are
   * served until the new MASTER's GARPs move them.
   */
  private onShutdown(now: number, handover: boolean, out: Action[], drained = false): void {
    if (this._state === 'STOP') return;
    if (handover && !drained && this.startDrain(now, out, { kind: 'shutdown' })) return;
    const bound = this.params.shutdownHandoverUs ?? 0;
    // Quorum mode: the new MASTER needs the lease first, so the VIPs go now (after the drain), the lease after them.
    if (this._state === 'MASTER' && handover && bound > 0 && !this.params.quorum) {
      this.cancelAll(out);
      this.cancelTimer(out, 'holdEnd');
      out.push({ type: 'sendAdvert', priority: 0 });
      this._handoverPending = true;
      this.setTimer(out, 'handoverLimit', now + bound);
    } else if (this._state === 'MASTER') this.releaseMaster(out, true);
    else {
      // A switchover still holding the VIPs keeps waiting on a graceful stop, not on a reload's.
      if (this._handoverPending && !handover) this.dropPendingVips(out);
      this.cancelAll(out);
      this.giveLease(out, `${this.tag()} stopping`);
    }
    if (!this._handoverPending) this.cancelTimer(out, 'holdEnd');
    this._wantState = 'STOP';
    this.transition(out, 'STOP', { kind: 'shutdown', text: `${this.tag()} Stopping (shutdown)` });
  }

  private endHandover(out: Action[], why: string): void {
    this._handoverPending = false;
    this.cancelTimer(out, 'handoverLimit');
    out.push({ type: 'log', level: 'info', text: `${this.tag()} ${why}: removing the VIPs` });
    out.push({ type: 'removeVips' });
  }

  /** Like a shutdown for the peers (priority 0: they take over after Skew_Time), but we stay BACKUP. */
  private onHandover(now: number, ev: Extract<Event, { type: 'handover' }>, out: Action[], drained = false): void {
    if (this._state !== 'MASTER') return;
    if (!drained && this.startDrain(now, out, { kind: 'handover', ev })) return;
    if (ev.holdUntilUs !== undefined) {
      const s = Math.round((ev.holdUntilUs - now) / 1e6);
      this.setHold(out, 'handover', true, ev.holdUntilUs, `hand-over: lowest priority for ${s} s`);
    } else if (this._holds.has('handover')) this.setHold(out, 'handover', false, undefined, 'hand-over hold cleared');
    const bound = this.params.shutdownHandoverUs ?? 0;
    // Quorum mode keeps nothing (the new MASTER needs the lease first): the drain came before this.
    const keep = ev.keepVips === true && bound > 0 && !this.params.quorum;
    if (keep) {
      this.cancelAll(out);
      out.push({ type: 'sendAdvert', priority: 0 });
    } else this.releaseMaster(out, true);
    this._masterAddress = undefined;
    this._masterPriority = undefined;
    const reason: Reason = {
      kind: 'handover',
      text: `${this.tag()} Leaving MASTER STATE (hand-over${ev.text ? `: ${ev.text}` : ''})`,
    };
    this.enterBackup(now, out, reason, 'full');
    if (keep) {
      this._handoverPending = true;
      this.setTimer(out, 'handoverLimit', now + bound);
    }
  }
}
