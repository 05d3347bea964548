/**
 * The VRRP machine's vocabulary: parameters, events in, actions out (docs/state-machine.md).
 * Plain data; fsm.ts interprets it.
 */

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** masterDown: BACKUP's Master_Down timer; advert: MASTER's advert tick; garp*: GARP bursts. */
export type TimerName =
  | 'masterDown'
  | 'advert'
  | 'garpDelayed'
  | 'garpRefresh'
  | 'garpLowerPrio'
  /** New MASTER: the bound on waiting for the VIPs before the first advert (advertAfterVips). */
  | 'firstAdvert'
  /** Stopping MASTER: the bound on keeping the VIPs until a new MASTER speaks. */
  | 'handoverLimit'
  /** The earliest end of a timed hold (the API hand-over's). */
  | 'holdEnd'
  /** Quorum mode: the end of a planned hand-over's drain (InstanceParams.quorumDrainUs). */
  | 'drainEnd';

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
  /**
   * A new MASTER's first advert waits for `vipsReady` (the VIPs are on the interface and the
   * GARPs out), at most one advert interval. Off: keepalived's order, advert first (its netlink
   * adds are instant). floatd's daemon turns it on: its VIP changes take milliseconds.
   */
  advertAfterVips?: boolean;
  /**
   * A graceful shutdown of a MASTER keeps the VIPs (after the priority-0 advert) until an
   * advert from another router with priority > 0 arrives, at most this long; 0/absent: the VIPs
   * go at once (keepalived).
   */
  shutdownHandoverUs?: number;
  /**
   * Timer lateness compensation: an advert timer that fires at most this late re-arms from its
   * due time, so lateness does not add to every interval; later than that (a stalled loop), it
   * re-arms from now (no catch-up burst). 0/absent: always from now.
   */
  advertLatenessUs?: number;
  /**
   * Quorum mode (docs/quorum.md): MASTER only under a held lease. An expired down timer (or a
   * priority-0 advert) asks for it (`wantLease`) and the instance stays BACKUP until the
   * `lease` event says it is held; a lost lease resigns it (priority 0) with reason quorum_lost, and
   * so does any event that finds a MASTER past the lease's `untilUs` (a stopped daemon resuming).
   */
  quorum?: boolean;
  /**
   * Quorum mode, a planned hand-over (switchover, graceful stop) of a MASTER outside a sync group:
   * it first refuses new connections to its VIPs (`blockNew`) for this long while it still holds
   * them and the lease, so the connections in flight finish on it; then the usual release. A
   * refused SYN is retransmitted by the client (1 s) and finds the new holder. 0/absent: no drain.
   */
  quorumDrainUs?: number;
}

export type SyncDirective = 'MASTER' | 'BACKUP' | 'FAULT' | 'RECOVER';

export type Event =
  /** `wasMaster`: this instance was MASTER before a reload and keeps the role (keepalived's reload_master). */
  | { type: 'start'; wasMaster?: boolean }
  | { type: 'advert'; from: string; priority: number; advertIntervalCs: number }
  | { type: 'timer'; timer: TimerName }
  | { type: 'tracking'; priorityDelta: number; faults: string[]; reason: string }
  | { type: 'vipRemovedExternally' }
  /** `handover`: a graceful stop (SIGTERM), see InstanceParams.shutdownHandoverUs. */
  | { type: 'shutdown'; handover?: boolean }
  /**
   * Operator hand-over (API): a MASTER resigns with a priority-0 advert and becomes BACKUP.
   * `holdUntilUs`: it also stays at the lowest priority until then (hold 'handover'); absent:
   * an earlier hand-over's hold ends now. `keepVips` (switchover): the VIPs stay until another
   * router's advert with priority > 0 arrives, at most shutdownHandoverUs (as a graceful stop);
   * not in quorum mode, which drains first instead (quorumDrainUs).
   */
  | { type: 'handover'; text?: string; holdUntilUs?: number; keepVips?: boolean }
  /** The dataplane finished the VIP adds and GARPs that the last addVips/garp asked for. */
  | { type: 'vipsReady' }
  /**
   * A soft hold: while any hold is on, the effective priority is the lowest (1; an owner's 255
   * stays), so preemption does not take the address back. Timed when `untilUs` is given.
   * Used by the API hand-over ('handover') and maintenance mode ('maintenance').
   */
  | { type: 'hold'; key: string; on: boolean; untilUs?: number; text?: string }
  /**
   * A gate (hard inhibit): while any gate is closed the instance may not become or stay MASTER;
   * a MASTER resigns (priority-0 advert) into BACKUP, a BACKUP's expired down timer re-arms.
   * `key` names the gate and is the reason shown (e.g. 'quorum_denied').
   */
  | { type: 'inhibit'; key: string; on: boolean; text?: string }
  /**
   * Quorum mode: the lease machine's answer. held: this node may hold the VIPs; denied: another
   * holds the key (or etcd does not answer), `text` says who; lost: fenced, the VIPs must go now.
   */
  | {
      type: 'lease';
      status: 'held' | 'denied' | 'lost';
      text?: string;
      /** held: until when it may be held (lease deadline or failsafe cover), sent again as it moves. */
      untilUs?: number;
    }
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
  | 'handover'
  /** A gate ('inhibit' event) made the MASTER resign; reason.gate names it. */
  | 'inhibited'
  /** The hand-over hold ended (the instance is back at its priority). */
  | 'hold'
  /** Quorum mode: the down timer fired but another node holds the lease (a state reason, no transition). */
  | 'quorum_denied'
  /** Quorum mode: the lease was lost (renewals unanswered, key deleted): resigned with priority 0. */
  | 'quorum_lost';

export interface Reason {
  kind: ReasonKind;
  /** Human, keepalived-like. */
  text: string;
  peer?: string;
  peerPriority?: number;
  tracker?: string;
  /** For 'inhibited': the gate's key, e.g. quorum_denied. */
  gate?: string;
}

export type GarpBurst = 'master' | 'delayed' | 'refresh' | 'lowerPrio';

export type Action =
  | { type: 'sendAdvert'; priority: number }
  | { type: 'addVips' }
  | { type: 'removeVips' }
  | { type: 'garp'; burst: GarpBurst }
  /** The dataplane reports `vipsReady` once the VIPs and GARPs asked for so far are done. */
  | { type: 'reportVipsReady' }
  | { type: 'transition'; from: VrrpState; to: VrrpState; reason: Reason }
  | { type: 'priorityChanged'; from: number; to: number; reason: string }
  /** MASTER heard a lower-priority MASTER: notify_master_rx_lower_pri + FIFO MASTER_RX_LOWER_PRI. */
  | { type: 'masterRxLowerPri'; peer: string; peerPriority: number }
  | { type: 'setTimer'; timer: TimerName; at: number }
  | { type: 'cancelTimer'; timer: TimerName }
  /** Quorum mode: ask for the lease (idempotent; answered by a `lease` event). */
  | { type: 'wantLease' }
  /** Quorum mode, a hand-over's drain: drop new TCP connections (SYNs) to the VIPs while they are still here. */
  | { type: 'blockNew' }
  /** The drain's block lifted (queued after the VIP removal). */
  | { type: 'unblockNew' }
  /** Quorum mode: give the lease back (revoked once the VIPs queued for removal are gone). */
  | { type: 'releaseLease'; why: string }
  /** Something worth a log line that is not a transition (discarded advert, config error). */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; text: string };
