/** Argument checks shared by the net adapters: user mistakes become clear messages, not errno soup. */
import { isIPv4, isIPv6 } from 'node:net';
import { stripZone } from '../util/ip.js';

export class NetArgumentError extends TypeError {
  readonly code = 'FLOATD_NET_ARG';
}

/** Linux interface names: 1..15 bytes, no '/', ':' or whitespace. */
export function checkIfname(ifname: unknown, what = 'ifname'): string {
  if (typeof ifname !== 'string' || !/^[^/\s:]{1,15}$/.test(ifname) || ifname === '.' || ifname === '..') {
    throw new NetArgumentError(`${what} must be an interface name (1-15 characters), got ${JSON.stringify(ifname)}`);
  }
  return ifname;
}

export function checkAddr(addr: unknown, family: 4 | 6, what: string): string {
  if (typeof addr !== 'string') throw new NetArgumentError(`${what} must be an IPv${family} address string`);
  const bare = stripZone(addr);
  const ok = family === 4 ? isIPv4(bare) : isIPv6(bare);
  if (!ok) throw new NetArgumentError(`${what} ${JSON.stringify(addr)} is not an IPv${family} address`);
  return bare;
}

export function familyOf(addr: string): 4 | 6 | undefined {
  const bare = stripZone(addr);
  return isIPv4(bare) ? 4 : isIPv6(bare) ? 6 : undefined;
}
