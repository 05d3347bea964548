/**
 * The reload planner, pure: from the running and the new configuration and the instances'
 * states, what a reload does. Instances that keep their identity keep MASTER (keepalived's
 * reload_master); addresses a kept MASTER no longer has go away.
 */
import type { FloatdConfig, InstanceConfig } from '../config/index.js';
import type { AddressSpec } from '../net/addresses.js';

export type ReloadPlan =
  | { kind: 'refuse'; message: string }
  | { kind: 'unchanged'; message: string }
  | { kind: 'apply'; keepMaster: Set<string> };

/** keepalived matches instances across a reload by these (vrrp_exist()). */
export function identity(ic: InstanceConfig): string {
  return JSON.stringify([
    ic.vrid,
    ic.family,
    ic.interface,
    ic.unicastPeers.length > 0,
    ic.unicastSrcIp ?? '',
    ic.mcastGroup ?? '',
  ]);
}

function stripPositions(v: unknown): string {
  return JSON.stringify(v, (k, val: unknown) => (k === 'pos' || k === 'files' || k.endsWith('Pos') ? undefined : val));
}

export function planReload(
  cur: FloatdConfig,
  next: FloatdConfig,
  stateOf: (name: string) => string | undefined,
  mayKeep: (name: string) => boolean = () => true,
): ReloadPlan {
  if (next.instances.length === 0) {
    return { kind: 'refuse', message: 'the new configuration has no vrrp_instance; keeping the running configuration' };
  }
  if (stripPositions(next) === stripPositions(cur))
    return { kind: 'unchanged', message: 'configuration unchanged; nothing to do' };
  const keepMaster = new Set<string>();
  for (const ic of next.instances) {
    const old = cur.instances.find((o) => o.name === ic.name);
    if (old && stateOf(ic.name) === 'MASTER' && identity(old) === identity(ic) && mayKeep(ic.name))
      keepMaster.add(ic.name);
  }
  return { kind: 'apply', keepMaster };
}

/** Addresses held before that the new configuration does not have. */
export function vipsToDrop(before: readonly AddressSpec[], after: readonly AddressSpec[]): AddressSpec[] {
  const key = (s: AddressSpec): string => `${s.ifname} ${s.address}`;
  const keep = new Set(after.map(key));
  return before.filter((s) => !keep.has(key(s)));
}
