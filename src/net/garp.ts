/** Sends gratuitous ARP / unsolicited NA for a VIP through the addon's AF_PACKET sender. */
import { readFileSync } from 'node:fs';
import { buildGratuitousArp, buildUnsolicitedNa } from './frames.js';
import { native } from './native.js';
import { checkAddr, checkIfname, familyOf, NetArgumentError } from './validate.js';

/** Side effects a test can replace. */
export interface GarpDeps {
  ifInfo(ifname: string): { mac: string; noarp: boolean };
  sendFrame(ifname: string, frame: Buffer): number;
  /** IPv6 forwarding on the interface (sets the NA Router flag). */
  forwarding(ifname: string): boolean;
}

function readForwarding(ifname: string): boolean {
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

export const realGarpDeps: GarpDeps = {
  ifInfo: (i) => native().ifInfo(i),
  sendFrame: (i, f) => native().sendFrame(i, f),
  forwarding: readForwarding,
};

/**
 * Announces `vip` on `ifname`: GARP for IPv4, unsolicited NA for IPv6. Returns false when
 * nothing was sent because the interface is NOARP (keepalived skips those too).
 */
export function announceAddress(ifname: string, vip: string, deps: GarpDeps = realGarpDeps): boolean {
  checkIfname(ifname);
  const fam = familyOf(vip);
  if (!fam) throw new NetArgumentError(`${JSON.stringify(vip)} is not an IP address`);
  const addr = checkAddr(vip, fam, 'VIP');
  const info = deps.ifInfo(ifname);
  if (info.noarp) return false;
  const frame = fam === 4
    ? buildGratuitousArp(info.mac, addr)
    : buildUnsolicitedNa(info.mac, addr, { router: deps.forwarding(ifname) });
  deps.sendFrame(ifname, frame);
  return true;
}
