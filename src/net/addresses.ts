/**
 * VIP addresses and virtual routes. Every mutation is idempotent and returns whether it changed
 * anything, so callers log and count only real changes. Through rtnetlink in the addon
 * (address-netlink.ts) when no IpRunner is given and the addon loads; through iproute2 when a
 * runner is given (tests, `ip -n NS` in the lab) or the addon cannot load (the fallback).
 */
import { addrRequest, interfaceInfoNl, toIfAddress } from './address-netlink.js';
import { defaultIp, IpCommandError, ipJson, type IpRunner } from './iproute.js';
import { openNetlink, type Netlink } from './netlink.js';
import { checkAddr, checkIfname, familyOf, NetArgumentError } from './validate.js';

export interface AddressSpec {
  ifname: string;
  address: string;
  /** Default 32 / 128. */
  prefix?: number;
  /** IPv4 only, ≤15 characters. */
  label?: string;
  /** IPv4 only: host, link, site, global, nowhere or a number. */
  scope?: string;
  /** IPv4 broadcast: an address, '+' or '-'. */
  broadcast?: string;
  peer?: string;
  /** IPv6: skip duplicate address detection (keepalived's default; `-nodad` turns it off). Default true. */
  nodad?: boolean;
  /** IPv6: seconds or 'forever'; default 0 for /128 (deprecated, never chosen as source), else forever. */
  preferredLft?: number | 'forever';
  /** Seconds until the kernel removes the address by itself (quorum fencing); default forever. */
  validLft?: number | 'forever';
  noprefixroute?: boolean;
}

export interface IfAddress {
  family: 4 | 6;
  address: string;
  prefix: number;
  scope: string;
  label?: string;
  secondary: boolean;
  deprecated: boolean;
  tentative: boolean;
  /** Seconds left before the kernel removes it; absent = forever. */
  validLft?: number;
}

interface JsonAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  scope?: string;
  label?: string;
  secondary?: boolean;
  deprecated?: boolean;
  tentative?: boolean;
  dadfailed?: boolean;
  valid_life_time?: number;
}

interface JsonLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  operstate?: string;
  mtu?: number;
  address?: string;
  addr_info?: JsonAddrInfo[];
}

function norm(spec: AddressSpec): { fam: 4 | 6; addr: string; prefix: number } {
  if (spec === null || typeof spec !== 'object') throw new NetArgumentError('address spec must be an object');
  checkIfname(spec.ifname);
  const fam = typeof spec.address === 'string' ? familyOf(spec.address) : undefined;
  if (!fam) throw new NetArgumentError(`${JSON.stringify(spec.address)} is not an IP address`);
  const addr = checkAddr(spec.address, fam, 'address');
  const max = fam === 4 ? 32 : 128;
  const prefix = spec.prefix ?? max;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new NetArgumentError(`prefix /${String(prefix)} is out of range for ${addr}`);
  }
  if (spec.label !== undefined && (fam === 6 || spec.label.length > 15)) {
    throw new NetArgumentError(`label ${JSON.stringify(spec.label)} is invalid (IPv4 only, at most 15 characters)`);
  }
  return { fam, addr, prefix };
}

/** The `ip addr add` arguments for a spec (exported for tests). */
export function addArgs(spec: AddressSpec): string[] {
  const { fam, addr, prefix } = norm(spec);
  const a = ['addr', 'add', `${addr}/${prefix}`];
  if (spec.peer) a.push('peer', checkAddr(spec.peer, fam, 'peer'));
  if (fam === 4) {
    if (spec.broadcast)
      a.push(
        'broadcast',
        spec.broadcast === '+' || spec.broadcast === '-' ? spec.broadcast : checkAddr(spec.broadcast, 4, 'brd'),
      );
    if (spec.scope) a.push('scope', spec.scope);
  }
  a.push('dev', spec.ifname);
  if (fam === 4 && spec.label) a.push('label', spec.label);
  if (fam === 6 && (spec.nodad ?? true)) a.push('nodad');
  const valid = spec.validLft;
  let pref = spec.preferredLft ?? (fam === 6 && prefix === 128 ? 0 : undefined);
  if (typeof valid === 'number' && (pref === undefined || pref === 'forever' || pref > valid)) pref = valid;
  if (valid !== undefined) a.push('valid_lft', String(valid));
  if (pref !== undefined) a.push('preferred_lft', String(pref));
  if (spec.noprefixroute) a.push('noprefixroute');
  return a;
}

export function parseAddrInfo(links: JsonLink[]): IfAddress[] {
  const out: IfAddress[] = [];
  for (const l of links) {
    for (const ai of l.addr_info ?? []) {
      if (ai.family !== 'inet' && ai.family !== 'inet6') continue;
      out.push({
        family: ai.family === 'inet' ? 4 : 6,
        address: ai.local,
        prefix: ai.prefixlen,
        scope: ai.scope ?? 'global',
        ...(ai.label ? { label: ai.label } : {}),
        secondary: !!ai.secondary,
        deprecated: !!ai.deprecated,
        tentative: !!ai.tentative,
        ...(ai.valid_life_time !== undefined && ai.valid_life_time < 0xffff_ffff
          ? { validLft: ai.valid_life_time }
          : {}),
      });
    }
  }
  return out;
}

/** The netlink client when no runner was given and the addon loads; else undefined (use `ip`). */
function kernel(run: IpRunner | undefined): Netlink | undefined {
  return run === undefined ? openNetlink() : undefined;
}

/** Addresses on an interface, as the kernel has them now. */
export async function listAddresses(ifname: string, run?: IpRunner): Promise<IfAddress[]> {
  checkIfname(ifname);
  const nl = kernel(run);
  if (nl) return nl.listAddresses(ifname).map(toIfAddress);
  return parseAddrInfo(await ipJson<JsonLink[]>(run ?? defaultIp, ['addr', 'show', 'dev', ifname]));
}

/** Is `address` on `ifname` in the kernel (not in floatd's intent)? For status (issue 15 item 26). */
export async function addressPresent(ifname: string, address: string, run?: IpRunner): Promise<boolean> {
  const { addr } = norm({ ifname, address });
  const want = addr.toLowerCase();
  return (await listAddresses(ifname, run)).some((a) => a.address.toLowerCase() === want);
}

/**
 * Sets the address's lifetime to `seconds` from now (valid and preferred; IPv6 /128 keeps
 * preferred 0), adding it if it is missing: one netlink request (NLM_F_REPLACE), or
 * `ip addr change` without the addon. The quorum lease renews VIPs with this.
 */
export async function refreshLifetime(spec: AddressSpec, seconds: number, run?: IpRunner): Promise<void> {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds >= 0xffff_ffff) {
    throw new NetArgumentError(`lifetime ${String(seconds)} must be a whole number of seconds ≥ 1`);
  }
  const s: AddressSpec = { ...spec, validLft: seconds };
  if (s.preferredLft === 'forever') delete s.preferredLft;
  const { fam, addr, prefix } = norm(s);
  const nl = kernel(run);
  if (nl) {
    nl.replaceAddress(spec.ifname, addrRequest(s, fam, addr, prefix));
    return;
  }
  const args = addArgs(s);
  args[1] = 'change';
  const r = await (run ?? defaultIp)(args);
  if (r.code !== 0) throw new IpCommandError(args, r);
}

/**
 * Adds the address; true if it was added, false if the kernel already had it. One `ip` call
 * (no listing first): this is on the failover path, where each child process costs
 * milliseconds, and the kernel's refusal already says "present", as a netlink add
 * answers keepalived.
 */
export async function addAddress(spec: AddressSpec, run?: IpRunner): Promise<boolean> {
  const nl = kernel(run);
  if (nl) {
    const { fam, addr, prefix } = norm(spec);
    return nl.addAddress(spec.ifname, addrRequest(spec, fam, addr, prefix));
  }
  const args = addArgs(spec);
  const r = await (run ?? defaultIp)(args);
  if (r.code === 0) return true;
  // "RTNETLINK answers: File exists", or with extended acks "Error: ipv4: Address already assigned."
  if (/File exists|already assigned/i.test(r.stderr)) return false;
  throw new IpCommandError(args, r);
}

/** Removes the address if present; true if it was removed. */
export async function removeAddress(spec: AddressSpec, run?: IpRunner): Promise<boolean> {
  const { fam, addr, prefix } = norm(spec);
  const nl = kernel(run);
  if (nl)
    return nl.removeAddress(spec.ifname, {
      family: fam,
      address: addr,
      prefix,
      ...(spec.peer ? { peer: checkAddr(spec.peer, fam, 'peer') } : {}),
    });
  const args = ['addr', 'del', `${addr}/${prefix}`, 'dev', spec.ifname];
  const r = await (run ?? defaultIp)(args);
  if (r.code === 0) return true;
  if (/Cannot assign requested address|Address not found|Cannot find device|does not exist/i.test(r.stderr))
    return false;
  throw new IpCommandError(args, r);
}

export interface InterfaceInfo {
  ifname: string;
  ifindex: number;
  mac: string;
  /** Administratively up and with carrier (IFF_UP + LOWER_UP), as keepalived requires. */
  up: boolean;
  operstate: string;
  mtu: number;
  /** First primary global-or-site IPv4 address (keepalived's default advert source). */
  ipv4?: string;
  /** First link-local IPv6 address (the default IPv6 advert source). */
  linkLocal6?: string;
  addresses: IfAddress[];
}

export async function interfaceInfo(ifname: string, run?: IpRunner): Promise<InterfaceInfo> {
  checkIfname(ifname);
  const nl = kernel(run);
  if (nl) return interfaceInfoNl(nl, ifname);
  const links = await ipJson<JsonLink[]>(run ?? defaultIp, ['addr', 'show', 'dev', ifname]);
  const l = links[0];
  if (!l) throw new NetArgumentError(`interface ${ifname} not found`);
  const addrs = parseAddrInfo([l]);
  const flags = l.flags ?? [];
  const v4 = addrs.find((a) => a.family === 4 && !a.secondary && a.scope !== 'host');
  const ll = addrs.find((a) => a.family === 6 && a.scope === 'link');
  return {
    ifname: l.ifname,
    ifindex: l.ifindex,
    mac: l.address ?? '',
    up: flags.includes('UP') && flags.includes('LOWER_UP'),
    operstate: l.operstate ?? 'UNKNOWN',
    mtu: l.mtu ?? 0,
    ...(v4 ? { ipv4: v4.address } : {}),
    ...(ll ? { linkLocal6: ll.address } : {}),
    addresses: addrs,
  };
}

/** Splits a keepalived virtual_routes line into `ip route` arguments and its family flag. */
export function routeArgs(spec: string | string[]): { family: string[]; args: string[] } {
  const words = (Array.isArray(spec) ? spec : spec.trim().split(/\s+/)).filter((w) => w !== '');
  if (words.length === 0) throw new NetArgumentError('empty route');
  // keepalived-only words are not iproute2 syntax
  const args = words.filter((w) => w !== 'no_track' && w !== 'inet6' && w !== 'inet');
  const v6 = words.includes('inet6') || args.some((w) => familyOf(w.split('/')[0] ?? '') === 6);
  return { family: v6 ? ['-6'] : [], args };
}

/** Adds a virtual route (netlink, or `ip route add` for lines it does not cover); false if it existed. */
export async function addRoute(spec: string | string[], run?: IpRunner): Promise<boolean> {
  const { family, args } = routeArgs(spec);
  const done = kernel(run)?.route('add', family.length ? ['inet6', ...args] : args);
  if (done !== undefined) return done;
  const full = [...family, 'route', 'add', ...args];
  const r = await (run ?? defaultIp)(full);
  if (r.code === 0) return true;
  if (/File exists/i.test(r.stderr)) return false;
  throw new IpCommandError(full, r);
}

/** Removes a virtual route (netlink, or `ip route del`); false if there was no such route. */
export async function removeRoute(spec: string | string[], run?: IpRunner): Promise<boolean> {
  const { family, args } = routeArgs(spec);
  const done = kernel(run)?.route('del', family.length ? ['inet6', ...args] : args);
  if (done !== undefined) return done;
  const full = [...family, 'route', 'del', ...args];
  const r = await (run ?? defaultIp)(full);
  if (r.code === 0) return true;
  if (/No such process|Cannot find device/i.test(r.stderr)) return false;
  throw new IpCommandError(full, r);
}
