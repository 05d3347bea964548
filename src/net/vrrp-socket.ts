/**
 * VRRP advert sockets: one raw socket per (family, interface, multicast group | unicast
 * source), receiving like keepalived does (digest §1.6). A multicast socket joins the group
 * and binds to it so unicast adverts don't arrive there; a unicast socket binds to
 * unicast_src_ip. IPv4 data includes the IP header (the codec parses it and, when sending,
 * builds it); IPv6 data is the VRRP payload, and the kernel fills the checksum.
 */
import { EventEmitter } from 'node:events';
import { native, type HandleError, type NativeAddon, type RawHandle, type RawOpenOptions } from '../native/addon.js';
import { NetArgumentError, checkAddr, checkIfname } from './validate.js';
import { isMulticast } from '../util/ip.js';

export const VRRP_PROTO = 112;
export const AH_PROTO = 51;
export const VRRP_GROUP_V4 = '224.0.0.18';
export const VRRP_GROUP_V6 = 'ff02::12';

export interface VrrpSocketOptions {
  family: 4 | 6;
  ifname: string;
  /** unicast_src_ip: with peers, the socket is unicast and binds here. IPv6: also the send source. */
  unicastSrc?: string;
  /** unicast_peer list; non-empty selects unicast mode. */
  peers?: string[];
  /** mcast_dst_ip; default 224.0.0.18 / ff02::12. */
  mcastGroup?: string;
  /** IPv6 source for multicast adverts (normally the interface link-local address). */
  mcastSrc?: string;
  /** 112 (VRRP) or 51 (IPv4 AH); default 112. */
  proto?: number;
  /** TTL / hop limit set on the socket; default 255. IPv4 adverts carry the codec's TTL. */
  ttl?: number;
}

export interface VrrpPacket {
  /** IPv4: whole IP packet; IPv6: VRRP payload only. */
  data: Buffer;
  src: string;
  dst: string;
  /** TTL (IPv4) or hop limit (IPv6) as received; -1 if the kernel gave none. */
  ttl: number;
  ifindex: number;
}

export interface VrrpSocket {
  readonly family: 4 | 6;
  readonly ifname: string;
  readonly mode: 'unicast' | 'multicast';
  /** Where this socket listens: the group or the unicast source. */
  readonly localAddress: string;
  /** Sends one advert; IPv6 uses `src` (default unicastSrc/mcastSrc) via IPV6_PKTINFO. Returns bytes sent. */
  send(bytes: Uint8Array, dst: string, src?: string): number;
  on(ev: 'packet', fn: (p: VrrpPacket) => void): this;
  on(ev: 'error', fn: (e: NodeJS.ErrnoException) => void): this;
  off(ev: 'packet', fn: (p: VrrpPacket) => void): this;
  off(ev: 'error', fn: (e: NodeJS.ErrnoException) => void): this;
  /** Whether the socket keeps the process alive (default true). */
  ref(keep: boolean): void;
  close(): void;
}

interface Resolved {
  family: 4 | 6;
  ifname: string;
  proto: number;
  ttl: number;
  mode: 'unicast' | 'multicast';
  local: string;
  defaultSrc: string | undefined;
}

/** Validates options and decides unicast vs multicast; pure, so it is unit-tested without root. */
export function resolveVrrpSocketOptions(o: VrrpSocketOptions): Resolved {
  if (o === null || typeof o !== 'object') throw new NetArgumentError('openVrrpSocket needs an options object');
  if (o.family !== 4 && o.family !== 6) throw new NetArgumentError(`family must be 4 or 6, got ${String(o.family)}`);
  const family = o.family;
  const ifname = checkIfname(o.ifname);
  const proto = o.proto ?? VRRP_PROTO;
  if (proto !== VRRP_PROTO && !(proto === AH_PROTO && family === 4)) {
    throw new NetArgumentError(`proto must be 112, or 51 (AH) for IPv4, got ${String(proto)}`);
  }
  const ttl = o.ttl ?? 255;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255)
    throw new NetArgumentError(`ttl must be 1..255, got ${String(ttl)}`);
  if (o.peers !== undefined && !Array.isArray(o.peers))
    throw new NetArgumentError('peers must be an array of addresses');
  const peers = (o.peers ?? []).map((p, i) => checkAddr(p, family, `unicast peer #${i + 1}`));
  const src = o.unicastSrc === undefined ? undefined : checkAddr(o.unicastSrc, family, 'unicast_src_ip');
  if (peers.length > 0) {
    if (!src) {
      throw new NetArgumentError(
        `unicast VRRP on ${ifname} needs unicastSrc (keepalived ` +
          `uses the interface's primary address; see interfaceInfo())`,
      );
    }
    for (const p of peers) if (isMulticast(p)) throw new NetArgumentError(`unicast peer ${p} is a multicast address`);
    return { family, ifname, proto, ttl, mode: 'unicast', local: src, defaultSrc: src };
  }
  const group =
    o.mcastGroup === undefined
      ? family === 4
        ? VRRP_GROUP_V4
        : VRRP_GROUP_V6
      : checkAddr(o.mcastGroup, family, 'mcast_dst_ip');
  if (!isMulticast(group)) throw new NetArgumentError(`mcast_dst_ip ${group} is not a multicast address`);
  const mcastSrc = o.mcastSrc === undefined ? src : checkAddr(o.mcastSrc, family, 'mcast_src_ip');
  return { family, ifname, proto, ttl, mode: 'multicast', local: group, defaultSrc: mcastSrc };
}

/** The addon calls a socket uses (tests give a fake). */
export type RawOps = Pick<NativeAddon, 'rawOpen' | 'rawSend' | 'rawClose' | 'rawSetRef'>;

class RawVrrpSocket implements VrrpSocket {
  private readonly events = new EventEmitter();
  readonly family: 4 | 6;
  readonly ifname: string;
  readonly mode: 'unicast' | 'multicast';
  readonly localAddress: string;
  private handle: RawHandle | undefined;
  private readonly defaultSrc: string | undefined;
  private readonly opts: RawOpenOptions;
  private keepRef = true;
  private closed = false;

  constructor(
    private readonly r: Resolved,
    private readonly ops: RawOps,
  ) {
    this.family = r.family;
    this.ifname = r.ifname;
    this.mode = r.mode;
    this.localAddress = r.local;
    this.defaultSrc = r.defaultSrc;
    this.opts =
      r.mode === 'multicast'
        ? { ifname: r.ifname, group: r.local, bind: r.local, ttl: r.ttl }
        : { ifname: r.ifname, bind: r.local, ttl: r.ttl };
    this.handle = this.open();
  }

  private open(): RawHandle {
    const h = this.ops.rawOpen(this.r.family, this.r.proto, this.opts, (err, data, src, dst, ttl, ifindex) => {
      if (err) {
        this.failed(h, err);
        return;
      }
      const p: VrrpPacket = { data: data!, src: src!, dst: dst!, ttl: ttl!, ifindex: ifindex! };
      this.events.emit('packet', p);
    });
    if (!this.keepRef) this.ops.rawSetRef(h, false);
    return h;
  }

  /**
   * A socket error. A fatal one means the addon closed the socket: a deaf socket would let a
   * BACKUP take the VIP from a live MASTER, so it is reopened at once; if that fails too, the
   * error goes out with `fatal` and the socket stays closed (send throws EBADF).
   */
  private failed(h: RawHandle, err: HandleError): void {
    if (err.fatal && this.handle === h && !this.closed) {
      this.handle = undefined;
      try {
        this.handle = this.open();
        this.emitError(Object.assign(err, { fatal: false, reopened: true }));
      } catch (e) {
        this.emitError(Object.assign(e as HandleError, { fatal: true }));
      }
      return;
    }
    this.emitError(err);
  }

  private emitError(err: NodeJS.ErrnoException): void {
    // An 'error' with no listener would throw from the event loop; a socket error must not crash the daemon.
    if (this.events.listenerCount('error') > 0) this.events.emit('error', err);
  }

  on(ev: 'packet', fn: (p: VrrpPacket) => void): this;
  on(ev: 'error', fn: (e: NodeJS.ErrnoException) => void): this;
  on(ev: string, fn: (a: VrrpPacket & NodeJS.ErrnoException) => void): this {
    this.events.on(ev, fn);
    return this;
  }

  off(ev: 'packet', fn: (p: VrrpPacket) => void): this;
  off(ev: 'error', fn: (e: NodeJS.ErrnoException) => void): this;
  off(ev: string, fn: (a: VrrpPacket & NodeJS.ErrnoException) => void): this {
    this.events.off(ev, fn);
    return this;
  }

  send(bytes: Uint8Array, dst: string, src?: string): number {
    if (!this.handle) throw Object.assign(new Error(`VRRP socket on ${this.ifname} is closed`), { code: 'EBADF' });
    const to = checkAddr(dst, this.family, 'destination');
    const from =
      src === undefined ? (this.family === 6 ? this.defaultSrc : undefined) : checkAddr(src, this.family, 'source');
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return this.ops.rawSend(this.handle, buf, to, from);
  }

  ref(keep: boolean): void {
    this.keepRef = keep;
    if (this.handle) this.ops.rawSetRef(this.handle, keep);
  }

  close(): void {
    this.closed = true;
    if (!this.handle) return;
    this.ops.rawClose(this.handle);
    this.handle = undefined;
  }
}

/** Opens a VRRP socket; throws NetArgumentError for bad options and errno-coded errors (EPERM, ENODEV…). */
export function openVrrpSocket(o: VrrpSocketOptions, ops: RawOps = native()): VrrpSocket {
  return new RawVrrpSocket(resolveVrrpSocketOptions(o), ops);
}
