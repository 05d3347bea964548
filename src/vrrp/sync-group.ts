/**
 * vrrp_sync_group rules (keepalived vrrp_sync.c; docs/state-machine.md), as pure functions over
 * member states. VrrpNode applies
 * them after every member step.
 */
import type { SyncDirective, VrrpState } from './fsm.js';

export interface SyncGroupParams {
  name: string;
  members: string[];
}

export interface MemberView {
  state: VrrpState;
  wantState: VrrpState;
  /** Own fault triggers active (not counting a group-imposed fault). */
  ownFault: boolean;
}

/** Group state: FAULT if any member is, MASTER only if all are, else BACKUP (INIT/STOP pass through). */
export function groupState(members: readonly MemberView[]): VrrpState {
  if (members.length === 0) return 'INIT';
  if (members.every((m) => m.state === 'STOP')) return 'STOP';
  if (members.some((m) => m.state === 'INIT')) return 'INIT';
  if (members.some((m) => m.state === 'FAULT')) return 'FAULT';
  if (members.every((m) => m.state === 'MASTER')) return 'MASTER';
  return 'BACKUP';
}

/** A member whose down timer expired may go MASTER only if every other member wants to too. */
export function canGoMaster(self: number, members: readonly MemberView[]): boolean {
  return members.every((m, i) => i === self || m.wantState === 'MASTER' || m.state === 'MASTER');
}

/**
 * What the other members must do when one member moved `from` -> `to` (keepalived vrrp_sync.c):
 * follow it
 * to MASTER, to BACKUP (only a MASTER->BACKUP move drags others down), or into FAULT.
 * Every directive is idempotent, so cascades terminate.
 */
export function directiveFor(from: VrrpState, to: VrrpState): SyncDirective | undefined {
  if (to === 'FAULT') return 'FAULT';
  if (to === 'MASTER' && from !== 'MASTER') return 'MASTER';
  if (from === 'MASTER' && to === 'BACKUP') return 'BACKUP';
  return undefined;
}
