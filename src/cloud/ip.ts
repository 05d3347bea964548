/** Address arithmetic the drivers share. */
import { BlockList, isIP } from 'node:net';

/**
 * Whether `address` lies in `net/len` (Hetzner names a floating IPv6 by its /64, Vultr a
 * reserved IPv6 by subnet and size, while floatd's config names the address itself).
 */
export function inSubnet(address: string, net: string, len: number): boolean {
  const fam = isIP(net);
  if (fam === 0 || isIP(address) !== fam || !Number.isInteger(len)) return false;
  const type = fam === 6 ? 'ipv6' : 'ipv4';
  const bl = new BlockList();
  bl.addSubnet(net, len, type);
  return bl.check(address, type);
}
