/**
 * The moves that decide whether an instance may become or stay MASTER beyond VRRP's own
 * election: gates (the generic `inhibit` event), the sync group's rule, and quorum mode's lease
 * (docs/quorum.md: the `lease` event and the wantLease/releaseLease actions). Pure, like
 * fsm-core.ts; fsm.ts handles the remaining events.
 */
import { InstanceCore, type Drain } from './fsm-core.js';
import { skewMinUs, US_PER_CS } from './timers.js';
import type { Action, Event, Reason } from './types.js';

export class GatedCore extends InstanceCore {
  protected downTimer(now: number, out: Action[]): void {
    if (this._state !== 'BACKUP') return;
    const p = this.params;
    const gate = this.gateReason();
    if (gate) {
      // A closed gate: stay BACKUP and look again a down interval later.
      this._wantState = 'BACKUP';
      if (!this._gateLogged) out.push({ type: 'log', level: 'info', text: `${gate.text}: staying BACKUP` });
      this._gateLogged = true;
      this.setTimer(out, 'masterDown', now + this.masterDownUs());
      return;
    }
    this._wantState = 'MASTER';
    if (this.hooks.canGoMaster && !this.hooks.canGoMaster()) {
      // Sync group: stay BACKUP until every member wants MASTER; re-arm.
      this.setTimer(
        out,
        'masterDown',
        now + p.advertIntervalCs * US_PER_CS + skewMinUs(p.version, this._masterAdverIntCs),
      );
      return;
    }
    if (p.quorum && !this._leaseHeld) {
      // Quorum mode: MASTER only under the lease; the `lease` event decides, the timer re-checks.
      this.setTimer(out, 'masterDown', now + this.masterDownUs());
      this.askLease(out);
      return;
    }
    this.becomeMaster(now, out, this._downCause);
  }

  /**
   * Quorum mode, the lease machine's answer. held: a BACKUP that asked becomes MASTER now (not
   * at its re-armed down timer); one that no longer wants it gives it back. denied: it stays
   * BACKUP with the state reason quorum_denied. lost: the hand-over path (priority 0, VIPs off).
   */
  protected onLease(now: number, ev: Extract<Event, { type: 'lease' }>, out: Action[]): void {
    if (!this.params.quorum) return;
    if (ev.status === 'held') {
      this._leaseHeld = true;
      if (ev.untilUs !== undefined) this._leaseUntil = ev.untilUs;
      this._denied = undefined;
      if (this._state === 'MASTER') return;
      const ready = this._gates.size === 0 && (this.hooks.canGoMaster?.() ?? true);
      if (this._state === 'BACKUP' && this._leaseWanted && this._wantState === 'MASTER' && ready)
        this.becomeMaster(now, out, this._downCause);
      else if (!this._leaseWanted) this.giveLease(out, `${this.tag()} lease not needed in ${this._state}`);
      return;
    }
    this._leaseHeld = false;
    this._leaseUntil = undefined;
    if (ev.status === 'denied') {
      if (this._state !== 'BACKUP' || !this._leaseWanted) return;
      const text = `${this.tag()} stays BACKUP (quorum_denied): ${ev.text ?? 'the lease is held by another node'}`;
      if (this._denied?.text !== text) out.push({ type: 'log', level: 'info', text });
      this._denied = { kind: 'quorum_denied', text };
      return;
    }
    if (this._handoverPending) this.dropPendingVips(out);
    if (this._state !== 'MASTER') return;
    this.releaseMaster(out, true);
    this._masterAddress = undefined;
    this._masterPriority = undefined;
    const text = `${this.tag()} Leaving MASTER STATE (quorum lost${ev.text ? `: ${ev.text}` : ''})`;
    this.enterBackup(now, out, { kind: 'quorum_lost', text }, 'full');
  }

  /**
   * Quorum mode: a MASTER past its lease's `untilUs` resigns before anything else it does — a
   * stopped or stalled daemon resuming runs its overdue advert timer before the lease machine's,
   * and must not out-prioritise the node that holds the lease now.
   */
  protected lapsedLease(now: number, out: Action[]): void {
    if (this._state !== 'MASTER' || this._leaseUntil === undefined || now < this._leaseUntil) return;
    const late = Math.round((now - this._leaseUntil) / 1000);
    this.onLease(
      now,
      { type: 'lease', status: 'lost', text: `the lease ran out ${late} ms ago (a stalled daemon)` },
      out,
    );
  }

  /** A gate closed or opened; a closed one makes a MASTER resign into BACKUP. */
  protected onInhibit(now: number, ev: Extract<Event, { type: 'inhibit' }>, out: Action[]): void {
    if (ev.on) this._gates.set(ev.key, ev.text ?? '');
    else if (this._gates.delete(ev.key) && this._gates.size === 0) this._gateLogged = false;
    const gate = this.gateReason();
    if (!gate || this._state !== 'MASTER') return;
    this.releaseMaster(out, true);
    this._masterAddress = undefined;
    this._masterPriority = undefined;
    this.enterBackup(now, out, gate, 'full');
  }

  protected leaveFault(now: number, out: Action[], reason: Reason): void {
    this._masterAdverIntCs = this.params.advertIntervalCs;
    const delay = this.isOwnerMaster() ? this.params.advertIntervalCs * US_PER_CS + this.skewUs() : 'full';
    this.enterBackup(now, out, reason, delay);
  }

  protected onSync(now: number, ev: Extract<Event, { type: 'syncGroup' }>, out: Action[]): void {
    const reason: Reason = { kind: 'sync_group', text: ev.text };
    switch (ev.to) {
      case 'MASTER':
        if (this._state !== 'BACKUP' || this._gates.size > 0) return;
        if (this.params.quorum && !this._leaseHeld) {
          this._wantState = 'MASTER';
          this._downCause = reason;
          this.askLease(out);
        } else this.becomeMaster(now, out, reason);
        return;
      case 'BACKUP':
        if (this._state === 'MASTER') {
          this.releaseMaster(out, false);
          this.enterBackup(now, out, reason, 'full');
        }
        return;
      case 'FAULT':
        this._groupFault = true;
        if (this._state === 'BACKUP' || this._state === 'MASTER')
          this.enterFault(out, { ...this.faultReason(false), kind: 'sync_group', text: ev.text });
        return;
      case 'RECOVER':
        this._groupFault = false;
        if (this._state === 'FAULT' && !this.faulted) this.leaveFault(now, out, { kind: 'recovered', text: ev.text });
        return;
    }
  }

  /**
   * Quorum mode, a planned hand-over (switchover, graceful stop) of a MASTER outside a sync group:
   * drain first. It stays MASTER — lease held, VIPs up, adverts at its priority, so no peer moves —
   * while new connections are refused (`blockNew`: their SYNs dropped, the client retransmits them
   * in 1 s) and the ones in flight finish here; at `drainEnd` (never past the lease's `untilUs`) the
   * deferred hand-over runs the ordered release. false: no drain, hand over now. A sync group's
   * members release one lease together, so they do not drain (docs/quorum.md, Limits).
   */
  protected startDrain(now: number, out: Action[], d: Drain): boolean {
    const us = this.params.quorumDrainUs ?? 0;
    if (!this.params.quorum || this._state !== 'MASTER' || us <= 0 || this.hooks.canGoMaster) return false;
    if (this._drain) {
      if (d.kind === 'shutdown') this._drain = d; // a stop during a switchover's drain: the stop follows it
      return true;
    }
    this._drain = d;
    this._blocked = true;
    out.push({ type: 'blockNew' });
    const text = `${this.tag()} draining ${Math.round(us / 1000)} ms before the hand-over: new connections refused`;
    out.push({ type: 'log', level: 'info', text });
    this.setTimer(out, 'drainEnd', Math.min(now + us, this._leaseUntil ?? now + us));
    return true;
  }
}
