/** Checks across blocks, once everything is read: references by name, VRID clashes, what follows a sync group. */
import type { Build } from './blocks.js';
import type { Ctx } from './ctx.js';
import { TRACK_FIELDS } from './track-blocks.js';

export function crossChecks(c: Ctx, { cfg }: Build): void {
  for (const ic of cfg.instances)
    for (const f of ic.floatingIps) {
      if (!cfg.floatingIps.some((x) => x.name === f))
        c.err(
          ic.pos,
          'floating_ip',
          `vrrp_instance ${ic.name} refers to floating_ip ${f}, which is not defined`,
          undefined,
          'CONFIG_REFERENCE',
        );
    }
  // A sync group's floating_ip follows the group: every member carries it (the group moves as one).
  for (const sg of cfg.syncGroups)
    for (const f of sg.floatingIps ?? []) {
      if (!cfg.floatingIps.some((x) => x.name === f))
        c.err(
          sg.pos,
          'floating_ip',
          `vrrp_sync_group ${sg.name} refers to floating_ip ${f}, which is not defined`,
          undefined,
          'CONFIG_REFERENCE',
        );
      for (const m of sg.members) {
        const ic = cfg.instances.find((i) => i.name === m);
        if (ic && !ic.floatingIps.includes(f)) ic.floatingIps.push(f);
      }
    }
  // Issue 13: a MASTER that steps down on a higher-priority advert sends one advert first
  // (keepalived's higher_prio_send_advert), so a peer that left it a floating IP during a
  // partition hears that contact is back and claims the address (docs/cloud.md, Partitions).
  for (const ic of cfg.instances)
    if (ic.floatingIps.some((n) => cfg.floatingIps.find((f) => f.name === n)?.peers)) ic.higherPrioSendAdvert = true;
  for (const f of cfg.floatingIps) {
    if (!cfg.instances.some((i) => i.floatingIps.includes(f.name))) {
      c.warn(
        f.pos,
        'floating_ip',
        `floating_ip ${f.name} is not used by any vrrp_instance or vrrp_sync_group`,
        `add "floating_ip ${f.name}" to the instance that should hold it`,
      );
    }
  }
  // A sync group's track_* apply to every member (keepalived); a name the member tracks already counts once.
  for (const sg of cfg.syncGroups)
    for (const m of sg.members) {
      const ic = cfg.instances.find((i) => i.name === m);
      if (ic)
        for (const f of Object.values(TRACK_FIELDS))
          for (const x of sg[f] ?? []) if (!ic[f].some((y) => y.name === x.name)) ic[f].push({ ...x });
    }
  // Nothing to run (no instance, no virtual_server): an empty or half-copied file, refused by a reload.
  if (cfg.instances.length === 0 && !cfg.virtualServers?.length) {
    c.warn(
      { file: cfg.files[0] ?? '', line: 1, col: 1 },
      'vrrp_instance',
      'no vrrp_instance (and no virtual_server): floatd would run nothing (a reload with this file is refused)',
      'an empty or half-copied file? add a vrrp_instance block',
      'CONFIG_NO_INSTANCE',
    );
  }
  const vrids = new Map<string, string>();
  for (const ic of cfg.instances) {
    const key = `${ic.interface}/${ic.family}/${ic.vrid}`;
    const other = vrids.get(key);
    if (other)
      c.err(
        ic.pos,
        'virtual_router_id',
        `VRID ${ic.vrid} on ${ic.interface} is already used by ${other}`,
        undefined,
        'CONFIG_CONFLICT',
      );
    vrids.set(key, ic.name);
  }
}
