/**
 * The kernel's addresses, routes and links through rtnetlink in the addon: no child process
 * on the failover path. One request socket per process, opened once (openNetlink() at start,
 * so a process out of descriptors still has it); a request is one sendmsg and the kernel's
 * answer, microseconds. Interface indexes are looked up by RTM_GETLINK (no descriptor) and
 * cached; a stale one (ENODEV) is looked up again once.
 */
import { native, nativeAvailable, type NetlinkHandle } from '../native/addon.js';
import { addrMessage, getAddrDump, getLink, type AddrRequest } from './rtnl-codec.js';
import { expiredByLifetime, parseMessages, type AddrMsg, type LinkMsg } from './rtnl-parse.js';
import { parseRoute, routeMessage, type RouteRequest } from './rtnl-route.js';

/** What a kernel round trip needs: tests give a fake, the real one is the addon. */
export interface NetlinkTransport {
  request(msg: Buffer): Buffer[];
}

export type LinkState = 'up' | 'down' | 'absent' | 'unknown';

const errCode = (e: unknown): string => String((e as NodeJS.ErrnoException).code ?? '');

export class Netlink {
  private seq = Math.floor(Math.random() * 0x7fff_ffff);
  private readonly indexes = new Map<string, number>();

  constructor(private readonly t: NetlinkTransport) {}

  private next(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /** The interface's index; throws ENODEV if there is none. */
  index(ifname: string, fresh = false): number {
    const cached = this.indexes.get(ifname);
    if (cached !== undefined && !fresh) return cached;
    const link = this.link(ifname);
    if (!link) throw Object.assign(new Error(`interface ${ifname} not found`), { code: 'ENODEV' });
    return link.index;
  }

  /** The kernel's RTM_NEWLINK for `ifname`, or undefined if it does not exist. */
  link(ifname: string): LinkMsg | undefined {
    let replies: Buffer[];
    try {
      replies = this.t.request(getLink(this.next(), ifname));
    } catch (e) {
      if (errCode(e) === 'ENODEV') {
        this.indexes.delete(ifname);
        return undefined;
      }
      throw e;
    }
    const l = replies.flatMap(parseMessages).find((m): m is LinkMsg => m.kind === 'link');
    if (l) this.indexes.set(ifname, l.index);
    return l;
  }

  /** up / down / absent; 'unknown' when the kernel could not be asked (never "down" by mistake). */
  linkState(ifname: string): LinkState {
    try {
      const l = this.link(ifname);
      return !l ? 'absent' : l.up ? 'up' : 'down';
    } catch {
      return 'unknown';
    }
  }

  /** Runs fn with the interface's index, once more with a fresh index if the cached one is stale. */
  private withIndex<T>(ifname: string, fn: (index: number) => T): T {
    const first = this.index(ifname);
    try {
      return fn(first);
    } catch (e) {
      if (errCode(e) !== 'ENODEV') throw e;
      const again = this.index(ifname, true);
      if (again === first) throw e;
      return fn(again);
    }
  }

  /** true if added, false if the kernel already had it (EEXIST). */
  addAddress(ifname: string, r: Omit<AddrRequest, 'index'>): boolean {
    try {
      this.withIndex(ifname, (index) => this.t.request(addrMessage('add', { ...r, index }, this.next())));
      return true;
    } catch (e) {
      if (errCode(e) === 'EEXIST') return false;
      throw e;
    }
  }

  /**
   * Sets the address's lifetimes (RTM_NEWADDR with NLM_F_REPLACE): one request. The kernel
   * (re)creates the address if it is missing, which is what a holder renewing its lease wants.
   */
  replaceAddress(ifname: string, r: Omit<AddrRequest, 'index'>): void {
    this.withIndex(ifname, (index) => this.t.request(addrMessage('replace', { ...r, index }, this.next())));
  }

  /** true if removed, false if it was not there (EADDRNOTAVAIL) or the interface is gone. */
  removeAddress(ifname: string, r: Pick<AddrRequest, 'family' | 'address' | 'prefix' | 'peer'>): boolean {
    try {
      this.withIndex(ifname, (index) => this.t.request(addrMessage('del', { ...r, index }, this.next())));
      return true;
    } catch (e) {
      if (['EADDRNOTAVAIL', 'ENODEV', 'ENOENT', 'ESRCH'].includes(errCode(e))) return false;
      throw e;
    }
  }

  /** The kernel's addresses on `ifname` (a dump, filtered by index). */
  listAddresses(ifname: string): AddrMsg[] {
    const index = this.index(ifname, true);
    return this.dumpAddresses().filter((a) => a.index === index);
  }

  dumpAddresses(): AddrMsg[] {
    return this.t
      .request(getAddrDump(this.next()))
      .flatMap(parseMessages)
      .filter((m): m is AddrMsg => m.kind === 'addr');
  }

  dumpLinks(): LinkMsg[] {
    const links = this.t
      .request(getLink(this.next()))
      .flatMap(parseMessages)
      .filter((m): m is LinkMsg => m.kind === 'link');
    for (const l of links) if (l.ifname) this.indexes.set(l.ifname, l.index);
    return links;
  }

  /**
   * Adds (or removes) a keepalived virtual_routes line; true if changed, false if it already
   * existed (was already gone); undefined when the line uses words this encoder does not
   * cover, so the caller runs `ip route` for it.
   */
  route(kind: 'add' | 'del', words: readonly string[]): boolean | undefined {
    const r: RouteRequest | undefined = parseRoute(words);
    if (!r) return undefined;
    try {
      const send = (index: number | undefined): Buffer[] => this.t.request(routeMessage(kind, r, index, this.next()));
      if (r.dev) this.withIndex(r.dev, send);
      else send(undefined);
      return true;
    } catch (e) {
      const c = errCode(e);
      if (kind === 'add' && c === 'EEXIST') return false;
      if (kind === 'del' && (c === 'ESRCH' || c === 'ENODEV' || c === 'ENOENT')) return false;
      throw e;
    }
  }
}

export { expiredByLifetime };

let shared: Netlink | undefined | null;

/**
 * The process's netlink client, or undefined when the addon cannot load (then `ip` is used).
 * Call at start: the socket is taken before any descriptor pressure. FLOATD_NETLINK=0 in the
 * environment forces the iproute2 path (for comparisons such as bench/failover.ts).
 */
export function openNetlink(): Netlink | undefined {
  if (shared !== undefined) return shared ?? undefined;
  if (process.env.FLOATD_NETLINK === '0' || !nativeAvailable()) {
    shared = null;
    return undefined;
  }
  const n = native();
  let h: NetlinkHandle;
  try {
    h = n.nlOpen(0, null);
  } catch {
    shared = null;
    return undefined;
  }
  shared = new Netlink({ request: (m) => n.nlRequest(h, m) });
  return shared;
}
