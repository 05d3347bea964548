/**
 * Connects VRRP states to the floating-IP runners: an address is wanted ("hold") while any
 * instance that uses it is MASTER, and released otherwise. One runner per floating_ip block.
 * Providers whose address must also sit on the interface (Hetzner, Linode, …) contribute it
 * to their instances' VIPs, so the VRRP machinery adds, announces and removes it.
 */
import type { FloatdConfig, VipConfig } from '../config/model.js';
import type { FloatingIpStatus, VrrpStateName } from '../model/status-types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { FloatingIpRunner } from '../cloud/runner.js';
import type { ProviderFactory } from '../cloud/types.js';
import type { AssignPermit } from '../cloud/runner.js';

export interface CloudIpsDeps {
  log: Logger;
  clock: Clock;
  factories: Record<string, ProviderFactory>;
  /** Fencing check right before each assign (quorum mode); default: always allowed. */
  mayAssign?: (floatingIp: string) => AssignPermit;
  /** A floating IP became contested (reason) or stopped being so (undefined): for webhooks. */
  onContest?: (name: string, reason: string | undefined) => void;
}

export class CloudIps {
  private readonly runners = new Map<string, FloatingIpRunner>();
  private readonly states = new Map<string, VrrpStateName>();

  /** `prev`: the CloudIps of the configuration before a reload (stopped): what it knew carries over. */
  constructor(
    private readonly cfg: FloatdConfig,
    deps: CloudIpsDeps,
    prev?: CloudIps,
  ) {
    for (const f of cfg.floatingIps) {
      if (!cfg.instances.some((i) => i.floatingIps.includes(f.name))) continue;
      const r = new FloatingIpRunner(f, deps);
      const old = prev?.runners.get(f.name);
      if (old) r.inheritFrom(old);
      this.runners.set(f.name, r);
    }
  }

  /** Extra interface addresses for an instance (providers that need the address configured locally). */
  localVips(instance: string): VipConfig[] {
    const ic = this.cfg.instances.find((i) => i.name === instance);
    if (!ic) return [];
    const out: VipConfig[] = [];
    for (const name of ic.floatingIps) {
      const r = this.runners.get(name);
      if (!r?.needsLocalAddress) continue;
      const v6 = r.cfg.address.includes(':');
      out.push({ address: r.cfg.address, prefix: v6 ? 128 : 32, noTrack: true });
    }
    return out;
  }

  /**
   * Feed every valid advert received from a peer (any priority, in any state): contact with the
   * peers is what tells a partition from a takeover (issue 13, docs/cloud.md "Partitions").
   */
  onAdvert(instance: string): void {
    const ic = this.cfg.instances.find((i) => i.name === instance);
    for (const name of ic?.floatingIps ?? []) this.runners.get(name)?.heard();
  }

  /** Feed every VRRP transition; recomputes the wish of each address the instance uses. */
  onState(instance: string, state: VrrpStateName, reason: string): void {
    this.states.set(instance, state);
    const ic = this.cfg.instances.find((i) => i.name === instance);
    if (!ic) return;
    for (const name of ic.floatingIps) {
      const r = this.runners.get(name);
      if (!r) continue;
      const masters = this.cfg.instances.filter(
        (i) => i.floatingIps.includes(name) && this.states.get(i.name) === 'MASTER',
      );
      if (masters.length > 0) r.setDesire('hold', `${masters.map((m) => m.name).join(', ')} MASTER: ${reason}`);
      else r.setDesire('release', `${instance} ${state}: ${reason}`);
    }
  }

  /** Quorum mode: the fencing check's answer may have changed (lease acquired); fenced addresses are re-checked now. */
  permitChanged(): void {
    for (const r of this.runners.values()) r.permitChanged();
  }

  status(): FloatingIpStatus[] {
    return [...this.runners.values()].map((r) => r.status());
  }

  stop(): void {
    for (const r of this.runners.values()) r.stop();
  }
}
