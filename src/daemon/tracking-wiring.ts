/**
 * The trackers and the link watch of one configuration, wired: interface state into the
 * trackers (a missing interface reads as down), a link coming up retries that interface's
 * faults, and a VIP removed by someone else becomes the FSM's `vipRemovedExternally` (unless
 * quorum mode let its lifetime end).
 */
import type { FloatdConfig } from '../config/index.js';
import { LinkWatch } from '../net/link-watch.js';
import { TrackerSet, type TrackerSetOptions } from '../track/tracker-set.js';
import type { ScriptIdentity } from '../track/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Event } from '../vrrp/fsm.js';
import type { InstanceRuntime } from './executor.js';
import { trackingConfig } from './mapping.js';
import type { LinkWatchPort } from './ports.js';

export interface TrackingWiringDeps {
  cfg: FloatdConfig;
  scriptUser: ScriptIdentity | undefined;
  hooks?: Pick<TrackerSetOptions, 'runner' | 'scan' | 'netProbe' | 'readTrackFile'>;
  log: Logger;
  clock: Clock;
  linkWatch?: () => LinkWatchPort;
  /** An instance's tracking aggregate changed. */
  onChange(instance: string, reason: string): void;
  /** A link came up. */
  onLinkUp(ifname: string): void;
  onAddressRemoved(ifname: string, address: string): void;
}

export function wireTracking(d: TrackingWiringDeps): { trackers: TrackerSet; watch: LinkWatchPort } {
  const set = new TrackerSet(trackingConfig(d.cfg, d.scriptUser), {
    ...d.hooks,
    log: d.log,
    clock: d.clock,
    onChange: (name, ch) => d.onChange(name, ch.reason),
  });
  for (const w of set.warnings) d.log.warn({ event: 'track.config' }, w);
  const watch = d.linkWatch ? d.linkWatch() : new LinkWatch({ clock: d.clock });
  for (const ifname of set.interfaces()) {
    watch.watchLink(ifname);
    // A missing interface reads as down (FAULT), not as "not known yet".
    set.setInterface(ifname, watch.linkUp(ifname) === true);
  }
  watch.on('link', (ev: { ifname: string; up: boolean }) => {
    set.setInterface(ev.ifname, ev.up);
    if (ev.up) d.onLinkUp(ev.ifname);
  });
  watch.on('address-removed', (ev: { ifname: string; address: string }) => d.onAddressRemoved(ev.ifname, ev.address));
  return { trackers: set, watch };
}

export interface VipRemovedDeps {
  insts: ReadonlyMap<string, InstanceRuntime>;
  /** Quorum mode holds this instance's lease (its VIP's lifetime may end by design). */
  inQuorum(instance: string): boolean;
  log: Logger;
  step(instance: string, ev: Event): void;
}

/** A VIP left its interface: the instances that hold it re-take it (or, in quorum mode, do not). */
export function vipRemoved(d: VipRemovedDeps, ifname: string, address: string): void {
  for (const [name, rt] of d.insts) {
    if (!rt.vipsUp) continue;
    const hit = [...rt.cfg.vips, ...rt.cfg.excludedVips].some(
      (v) => !v.noTrack && v.address === address && (v.dev ?? rt.cfg.interface) === ifname,
    );
    if (!hit) continue;
    if (d.inQuorum(name)) {
      // The kernel ends a VIP's lifetime when renewals stop being acknowledged: self-fencing, not
      // tampering. While the lease is held the next renewal puts it back.
      d.log.info(
        { event: 'quorum.vip_expired', instance: name, address },
        `VIP ${address} left ${ifname} (lifetime ended or removed); not re-taken by VRRP`,
      );
      continue;
    }
    d.log.warn(
      { event: 'vrrp.vip_removed', instance: name, address },
      `VIP ${address} removed from ${ifname} by someone else`,
    );
    d.step(name, { type: 'vipRemovedExternally' });
  }
}
