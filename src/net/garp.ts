/**
 * Gratuitous ARP / unsolicited NA for VIPs through ONE kept AF_PACKET socket per interface.
 * The socket is opened once (at start with prepare(), or at the first announcement) and kept:
 * opening and closing one per frame blocked the event loop 7-20 ms a frame (issue 15 item 5).
 * Sends never block (a full queue is an EAGAIN error for that frame). The MAC and NOARP flag
 * are read through the same descriptor, so announcing needs no new descriptor at takeover.
 */
import { readFileSync } from 'node:fs';
import { buildGratuitousArp, buildUnsolicitedNa } from './frames.js';
import { native } from '../native/addon.js';
import { checkAddr, checkIfname, familyOf, NetArgumentError } from './validate.js';

/** One interface's kept frame socket. */
export interface FrameLink {
  info(): { mac: string; noarp: boolean };
  send(frame: Buffer): number;
  close(): void;
}

/** Side effects a test can replace. */
export interface GarpDeps {
  openLink(ifname: string): FrameLink;
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

function nativeLink(ifname: string): FrameLink {
  const n = native();
  const h = n.packetOpen(ifname);
  return { info: () => n.packetInfo(h), send: (f) => n.packetSend(h, f), close: () => n.packetClose(h) };
}

export const realGarpDeps: GarpDeps = { openLink: nativeLink, forwarding: readForwarding };

/** The interface went away and came back (new ifindex) or the socket broke: reopen once. */
const REOPEN = new Set(['ENODEV', 'ENXIO', 'EBADF', 'ENETDOWN']);

/** Built frames kept for the repeats of a burst and the next takeover (bounded). */
const MAX_FRAMES = 4096;

export class Announcer {
  private readonly links = new Map<string, FrameLink>();
  private readonly frames = new Map<string, Buffer>();

  constructor(private readonly deps: GarpDeps = realGarpDeps) {}

  /** Opens the interface's socket now, so a takeover needs no descriptor (issue 15 item 4). */
  prepare(ifname: string): void {
    this.link(checkIfname(ifname));
  }

  /**
   * Announces `vip` on `ifname`: GARP for IPv4, unsolicited NA for IPv6. Returns false when
   * nothing was sent because the interface is NOARP (keepalived skips those too).
   */
  announce(ifname: string, vip: string): boolean {
    checkIfname(ifname);
    const fam = familyOf(vip);
    if (!fam) throw new NetArgumentError(`${JSON.stringify(vip)} is not an IP address`);
    const addr = checkAddr(vip, fam, 'VIP');
    return this.withLink(ifname, (l) => {
      const info = l.info();
      if (info.noarp) return false;
      const router = fam === 6 && this.deps.forwarding(ifname);
      const key = `${ifname} ${info.mac} ${addr} ${router ? 'R' : ''}`;
      let frame = this.frames.get(key);
      if (!frame) {
        frame = fam === 4 ? buildGratuitousArp(info.mac, addr) : buildUnsolicitedNa(info.mac, addr, { router });
        if (this.frames.size >= MAX_FRAMES) this.frames.clear();
        this.frames.set(key, frame);
      }
      l.send(frame);
      return true;
    });
  }

  /** Closes one interface's socket, or all of them. */
  close(ifname?: string): void {
    for (const [k, l] of this.links) {
      if (ifname !== undefined && k !== ifname) continue;
      l.close();
      this.links.delete(k);
    }
  }

  /** Interfaces with an open socket (for tests and status). */
  openInterfaces(): string[] {
    return [...this.links.keys()];
  }

  private link(ifname: string): FrameLink {
    let l = this.links.get(ifname);
    if (!l) {
      l = this.deps.openLink(ifname);
      this.links.set(ifname, l);
    }
    return l;
  }

  private withLink<T>(ifname: string, fn: (l: FrameLink) => T): T {
    try {
      return fn(this.link(ifname));
    } catch (e) {
      if (!REOPEN.has(String((e as NodeJS.ErrnoException).code)) || !this.links.has(ifname)) throw e;
      this.close(ifname);
      return fn(this.link(ifname));
    }
  }
}

let shared: Announcer | undefined;

/** The process-wide announcer (its sockets are reused by every announceAddress call). */
export function defaultAnnouncer(): Announcer {
  shared ??= new Announcer();
  return shared;
}

/** announce() on the shared announcer, or on a one-off one with test deps. */
export function announceAddress(ifname: string, vip: string, deps?: GarpDeps): boolean {
  return (deps ? new Announcer(deps) : defaultAnnouncer()).announce(ifname, vip);
}
