/**
 * What the notifier is told and configured with: states, scripts per state, the event, the
 * configuration (scripts, FIFOs, webhooks, timeouts), and which script a state runs.
 */
import type { ScriptIdentity } from '../track/types.js';
import type { FifoState } from './fifo.js';
import type { WebhookConfig } from './webhook.js';

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';

/** A notify script as configured: `notify_master "/path/x.sh arg" [user [group]]`. */
export interface NotifyScript {
  argv: string[];
  user?: string;
  group?: string;
}

export interface NotifyTargets {
  master?: NotifyScript;
  backup?: NotifyScript;
  fault?: NotifyScript;
  stop?: NotifyScript;
  /** notify_deleted; without it a deleted instance is reported as FAULT (keepalived). */
  deleted?: NotifyScript;
  /** Generic `notify`: gets `INSTANCE|GROUP name STATE priority` appended. */
  generic?: NotifyScript;
  /** notify_master_rx_lower_pri */
  masterRxLowerPri?: NotifyScript;
  /** `notify_deleted` given without a script: report DELETED rather than FAULT. */
  notifyDeleted?: boolean;
}

export interface NotifierConfig {
  instances?: Record<string, NotifyTargets>;
  groups?: Record<string, NotifyTargets>;
  /** notify_fifo / vrrp_notify_fifo, each with its optional fifo script. */
  fifos?: Array<{ path: string; script?: NotifyScript }>;
  webhooks?: WebhookConfig[];
  /** Per script run, µs; default 30 s. */
  scriptTimeoutUs?: number;
  /**
   * How long a running event's scripts may go on once a newer state change for the same
   * instance is queued (then they are stopped and logged as superseded), µs; default 1 s.
   */
  supersedeUs?: number;
  /** STOP notifications, µs (keepalived kills them after 1 s); default 1 s. */
  stopTimeoutUs?: number;
  /** Global script_user, resolved; default: floatd's own identity. */
  scriptUser?: ScriptIdentity;
  scriptSecurity?: boolean;
  /** Reported in webhooks; default os.hostname(). */
  host?: string;
}

export interface NotifyEvent {
  kind: 'INSTANCE' | 'GROUP';
  name: string;
  from: string;
  to: NotifyState;
  /** Effective priority (what scripts get); groups report 0 to scripts and the FIFO. */
  priority: number;
  /** Configured priority, for webhooks; default: priority. */
  basePriority?: number;
  /** The instance's sync group, for webhooks. */
  group?: string;
  reason: string;
  /** Quorum mode: the lease's epoch (fencing token) while held; FLOATD_EPOCH for scripts, `epoch` in webhooks. */
  epoch?: number;
}

export interface NotifyLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The state's own script (notify_master…); none for the FIFO-only states. */
export function scriptFor(t: NotifyTargets, state: NotifyState | FifoState): NotifyScript | undefined {
  switch (state) {
    case 'MASTER':
      return t.master;
    case 'BACKUP':
      return t.backup;
    case 'FAULT':
      return t.fault;
    case 'STOP':
      return t.stop;
    case 'DELETED':
      return t.deleted;
    default:
      return undefined;
  }
}
