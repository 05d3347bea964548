/**
 * Link-layer announcement frames, byte for byte as keepalived sends them (digest §5.3):
 * a gratuitous ARP request and an unsolicited IPv6 neighbour advertisement for a VIP.
 */
import { internetChecksum } from '../util/checksum.js';
import { ipBytes } from '../util/ip.js';
import { NetArgumentError } from './validate.js';

export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
const ICMPV6 = 58;
const ND_NEIGHBOR_ADVERT = 136;
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;

export function parseMac(mac: string): Buffer {
  const m =
    /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(mac);
  if (!m) throw new NetArgumentError(`${JSON.stringify(mac)} is not a MAC address`);
  return Buffer.from(m.slice(1).map((h) => parseInt(h, 16)));
}

export function ipv4Bytes(addr: string): Buffer {
  return ipBytes(addr, 4) ?? fail(`${JSON.stringify(addr)} is not an IPv4 address`);
}

/** 16 network-order bytes of an IPv6 address (accepts ::, embedded IPv4 and a %zone). */
export function ipv6Bytes(addr: string): Buffer {
  return ipBytes(addr, 6) ?? fail(`${JSON.stringify(addr)} is not an IPv6 address`);
}

function fail(message: string): never {
  throw new NetArgumentError(message);
}

function ethernet(dst: Buffer, src: Buffer, type: number): Buffer {
  const h = Buffer.alloc(14);
  dst.copy(h, 0);
  src.copy(h, 6);
  h.writeUInt16BE(type, 12);
  return h;
}

/** Gratuitous ARP: broadcast REQUEST, sender = target = VIP, target HW = ff:ff:ff:ff:ff:ff (42 bytes). */
export function buildGratuitousArp(mac: string, vip: string): Buffer {
  const src = parseMac(mac);
  const ip = ipv4Bytes(vip);
  const bcast = Buffer.alloc(6, 0xff);
  const arp = Buffer.alloc(28);
  arp.writeUInt16BE(1, 0); // ARPHRD_ETHER
  arp.writeUInt16BE(0x0800, 2);
  arp[4] = 6;
  arp[5] = 4;
  arp.writeUInt16BE(1, 6); // ARPOP_REQUEST
  src.copy(arp, 8);
  ip.copy(arp, 14);
  bcast.copy(arp, 18);
  ip.copy(arp, 24);
  return Buffer.concat([ethernet(bcast, src, ETH_P_ARP), arp]);
}

export interface NaOptions {
  /** Set the Router flag (keepalived does when IPv6 forwarding is on for the interface). */
  router?: boolean;
}

/** Unsolicited NA from the VIP to ff02::1, hop limit 255, Override set, target link-layer option (86 bytes). */
export function buildUnsolicitedNa(mac: string, vip: string, opts: NaOptions = {}): Buffer {
  const hw = parseMac(mac);
  const target = ipv6Bytes(vip);
  const allNodes = ipv6Bytes('ff02::1');
  const icmp = Buffer.alloc(32);
  icmp[0] = ND_NEIGHBOR_ADVERT;
  icmp[4] = NA_FLAG_OVERRIDE | (opts.router ? NA_FLAG_ROUTER : 0);
  target.copy(icmp, 8);
  icmp[24] = 2; // option: target link-layer address
  icmp[25] = 1; // length in units of 8 bytes
  hw.copy(icmp, 26);
  const pseudo = Buffer.alloc(40);
  target.copy(pseudo, 0);
  allNodes.copy(pseudo, 16);
  pseudo.writeUInt32BE(icmp.length, 32);
  pseudo[39] = ICMPV6;
  icmp.writeUInt16BE(internetChecksum(pseudo, icmp), 2);
  const ip6 = Buffer.alloc(40);
  ip6.writeUInt32BE(0x60000000, 0);
  ip6.writeUInt16BE(icmp.length, 4);
  ip6[6] = ICMPV6;
  ip6[7] = 255;
  target.copy(ip6, 8);
  allNodes.copy(ip6, 24);
  return Buffer.concat([ethernet(Buffer.from([0x33, 0x33, 0, 0, 0, 1]), hw, ETH_P_IPV6), ip6, icmp]);
}
