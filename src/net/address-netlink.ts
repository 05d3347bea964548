/**
 * addresses.ts's operations through rtnetlink (netlink.ts): the AddressSpec → netlink request
 * mapping with iproute2's and keepalived's defaults (IPv6 nodad, preferred_lft 0 for /128,
 * `brd +`), and kernel answers back into addresses.ts's shapes.
 */
import type { AddressSpec, IfAddress, InterfaceInfo } from './addresses.js';
import type { Netlink } from './netlink.js';
import { broadcastOf, FOREVER, IFA_F, SCOPES, type AddrRequest } from './rtnl-codec.js';
import type { AddrMsg } from './rtnl-parse.js';
import { checkAddr, NetArgumentError } from './validate.js';

const SCOPE_NAMES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

function lft(v: number | 'forever' | undefined): number | undefined {
  return v === 'forever' ? FOREVER : v;
}

/** The netlink request for a spec already checked by addresses.ts's norm(). */
export function addrRequest(spec: AddressSpec, fam: 4 | 6, addr: string, prefix: number): Omit<AddrRequest, 'index'> {
  const r: Omit<AddrRequest, 'index'> = { family: fam, address: addr, prefix };
  if (spec.peer) r.peer = checkAddr(spec.peer, fam, 'peer');
  let flags = 0;
  if (fam === 4) {
    if (spec.broadcast === '+') {
      if (prefix < 31) r.broadcast = broadcastOf(addr, prefix);
    } else if (spec.broadcast && spec.broadcast !== '-') r.broadcast = checkAddr(spec.broadcast, 4, 'brd');
    if (spec.label) r.label = spec.label;
    if (spec.scope !== undefined) {
      const n = SCOPES[spec.scope] ?? (/^\d+$/.test(spec.scope) ? Number(spec.scope) : undefined);
      if (n === undefined || n > 255) throw new NetArgumentError(`scope ${JSON.stringify(spec.scope)} is not a scope`);
      r.scope = n;
    }
  } else if (spec.nodad ?? true) flags |= IFA_F.NODAD;
  if (spec.noprefixroute) flags |= IFA_F.NOPREFIXROUTE;
  if (flags) r.flags = flags;
  const valid = lft(spec.validLft);
  let preferred = lft(spec.preferredLft ?? (fam === 6 && prefix === 128 ? 0 : undefined));
  if (valid !== undefined && valid !== FOREVER) preferred = Math.min(preferred ?? valid, valid);
  if (valid !== undefined) r.validLft = valid;
  if (preferred !== undefined) r.preferredLft = preferred;
  return r;
}

export function toIfAddress(a: AddrMsg): IfAddress {
  return {
    family: a.family,
    address: a.address,
    prefix: a.prefix,
    scope: SCOPE_NAMES[a.scope] ?? String(a.scope),
    ...(a.label ? { label: a.label } : {}),
    secondary: (a.flags & IFA_F.SECONDARY) !== 0,
    deprecated: (a.flags & IFA_F.DEPRECATED) !== 0,
    tentative: (a.flags & IFA_F.TENTATIVE) !== 0,
    ...(a.validLft !== undefined && a.validLft !== FOREVER ? { validLft: a.validLft } : {}),
  };
}

export function interfaceInfoNl(nl: Netlink, ifname: string): InterfaceInfo {
  const l = nl.link(ifname);
  if (!l) throw new NetArgumentError(`interface ${ifname} not found`);
  const addrs = nl
    .dumpAddresses()
    .filter((a) => a.index === l.index)
    .map(toIfAddress);
  const v4 = addrs.find((a) => a.family === 4 && !a.secondary && a.scope !== 'host');
  const ll = addrs.find((a) => a.family === 6 && a.scope === 'link');
  return {
    ifname,
    ifindex: l.index,
    mac: l.mac ?? '',
    up: l.up,
    operstate: l.operstate ?? 'UNKNOWN',
    mtu: l.mtu ?? 0,
    ...(v4 ? { ipv4: v4.address } : {}),
    ...(ll ? { linkLocal6: ll.address } : {}),
    addresses: addrs,
  };
}
