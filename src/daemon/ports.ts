/**
 * The runtime's ports: everything it does to the world goes through these interfaces, so the
 * simulator (test/sim) runs the shipped composition against in-memory adapters. The real
 * adapters are in dataplane.ts (addresses, routes, GARP/NA through `ip` and the addon) and the
 * default socket/link-watch/tracker factories in runtime.ts.
 */
import type { AddressSpec } from '../net/addresses.js';
import type { VrrpSocket, VrrpSocketOptions } from '../net/vrrp-socket.js';

/** Addresses, routes and announcements in the kernel. */
export interface DataplanePort {
  /** The interface's default advert sources; undefined if it does not exist. */
  interfaceInfo(ifname: string): Promise<{ ipv4?: string; linkLocal6?: string } | undefined>;
  /** true if added (false: it was there already). */
  addAddress(spec: AddressSpec): Promise<boolean>;
  /** true if removed (false: it was not there). */
  removeAddress(spec: AddressSpec): Promise<boolean>;
  addRoute(route: string[]): Promise<boolean>;
  removeRoute(route: string[]): Promise<boolean>;
  /** Re-arms a VIP's valid_lft (quorum mode's kernel backstop). */
  refreshLifetime(spec: AddressSpec, seconds: number): Promise<void>;
  /** One gratuitous ARP / unsolicited NA; false when nothing was sent (NOARP interface). */
  announce(ifname: string, address: string): boolean;
  /** The addresses on the interface now (what "present" in status reports). */
  listAddresses(ifname: string): Promise<string[]>;
  /**
   * Quorum mode's hand-over drain: drop (on) or stop dropping (off) new TCP connections (SYNs) to
   * these addresses, keyed by `owner` (an instance). Absent: no drain is possible (the simulator).
   */
  blockNew?(owner: string, specs: AddressSpec[], on: boolean): Promise<void>;
  /** Takes the data plane's descriptors now (netlink, a packet socket per interface), before any
   * descriptor pressure (issue 15 item 4); returns what could not be opened, as messages. */
  prepare?(ifnames: string[]): string[];
}

export type SocketOpener = (o: VrrpSocketOptions) => VrrpSocket;

/** Link and address events (net/link-watch.ts's LinkWatch fits). */
export interface LinkWatchPort {
  watchLink(ifname: string): void;
  linkUp(ifname: string): boolean | undefined;
  watchAddress(ifname: string, address: string): void;
  unwatchAddress(ifname: string, address: string): void;
  on(ev: 'link', fn: (e: { ifname: string; up: boolean }) => void): unknown;
  on(ev: 'address-removed', fn: (e: { ifname: string; address: string }) => void): unknown;
  start(): unknown;
  stop(): void;
}
