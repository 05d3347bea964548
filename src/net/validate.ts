/** Argument checks shared by the net adapters: user mistakes become clear messages, not errno soup. */
import { isIPv4, isIPv6 } from 'node:net';

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

/** Strips a %zone suffix (the interface supplies the scope). */
export function stripZone(addr: string): string {
  const i = addr.indexOf('%');
  return i < 0 ? addr : addr.slice(0, i);
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

export function isMulticast(addr: string): boolean {
  const bare = stripZone(addr).toLowerCase();
  if (isIPv4(bare)) {
    const first = Number(bare.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return isIPv6(bare) && bare.startsWith('ff');
}
