/**
 * Loads floatd's N-API addon (native/, built by scripts/build.sh) and gives it types.
 * Node has no raw IP or packet sockets, so the addon supplies exactly those and nothing more.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Opaque handles; each kind carries its own N-API type tag, so one kind passed for another throws. */
export type RawHandle = { readonly __brand: 'RawHandle' };
export type PacketHandle = { readonly __brand: 'PacketHandle' };
export type NetlinkHandle = { readonly __brand: 'NetlinkHandle' };
export type PidHandle = { readonly __brand: 'PidHandle' };

/** Errors from a handle's poll: `fatal` = the handle stopped for good and must be reopened. */
export type HandleError = NodeJS.ErrnoException & { fatal?: boolean };

export interface RawOpenOptions {
  /** SO_BINDTODEVICE; required to join a multicast group. */
  ifname?: string;
  /** Local address to bind (unicast_src_ip), or the multicast group itself. */
  bind?: string;
  /** Multicast group to join on `ifname`. */
  group?: string;
  /** TTL / hop limit for unicast and multicast; default 255. */
  ttl?: number;
  /** IP_TOS / IPV6_TCLASS; default 0xC0. */
  tos?: number;
  /** IPv4 only: 1 = caller supplies the IP header (default 1). */
  hdrincl?: number;
  /** IPv6 only: IPV6_CHECKSUM offset, -1 = off; default 6 for protocol 112. */
  checksumOffset?: number;
}

export type RawCallback = (
  err: HandleError | null,
  data?: Buffer,
  src?: string,
  dst?: string,
  ttl?: number,
  ifindex?: number,
) => void;

export interface IfInfo {
  ifname: string;
  ifindex: number;
  mac: string;
  /** ARPHRD_* (1 = Ethernet). */
  hwtype: number;
  flags: number;
  up: boolean;
  running: boolean;
  noarp: boolean;
  mtu: number;
}

export interface NativeAddon {
  rawOpen(family: 4 | 6, proto: number, opts: RawOpenOptions, cb: RawCallback): RawHandle;
  rawSend(h: RawHandle, data: Buffer, dst: string, src?: string): number;
  rawClose(h: RawHandle): void;
  rawSetRef(h: RawHandle, ref: boolean): void;
  /** Test hook: runs crafted control messages through the receive path's cmsg parser. */
  _parseControl(control: Buffer): { dst: string; ttl: number; ifindex: number };
  ifInfo(ifname: string): IfInfo;
  /** A kept, non-blocking, send-only AF_PACKET socket on `ifname`. */
  packetOpen(ifname: string): PacketHandle;
  /** One whole Ethernet frame; never blocks (EAGAIN when the queue is full). */
  packetSend(h: PacketHandle, frame: Buffer): number;
  /** ifInfo through the kept descriptor (no new descriptor needed). */
  packetInfo(h: PacketHandle): IfInfo;
  packetClose(h: PacketHandle): void;
  /** groups 0 + null: a request socket; RTMGRP_* bits + callback: a subscription (datagrams). */
  nlOpen(groups: 0, cb: null): NetlinkHandle;
  nlOpen(groups: number, cb: (err: HandleError | null, datagram?: Buffer) => void, rcvbuf?: number): NetlinkHandle;
  /** Sends one message, returns the dump's messages ([] for an ack); the kernel's refusal throws. */
  nlRequest(h: NetlinkHandle, msg: Buffer): Buffer[];
  nlClose(h: NetlinkHandle): void;
  nlSetRef(h: NetlinkHandle, ref: boolean): void;
  /** cb once when the process exits (pidfd); throws ESRCH if it does not exist. */
  pidWatch(pid: number, cb: (err: HandleError | null) => void): PidHandle;
  pidUnwatch(h: PidHandle): void;
  /** One datagram to an AF_UNIX SOCK_DGRAM socket (sd_notify); '@' = abstract namespace. Never blocks. */
  unixDgramSend(path: string, data: Buffer): number;
  /** SCHED_RR at `priority` (1..99) for the event-loop thread, reset on fork (vrrp_rt_priority). */
  setRealtime(priority: number): void;
}

export class NativeMissingError extends Error {
  readonly code = 'FLOATD_NATIVE_MISSING';
}

const ADDON_REL = join('native', 'build', 'Release', 'floatd_native.node');

/** Walks up from this file to the checkout root holding native/build (works from src/ and dist/). */
export function findAddon(start = dirname(fileURLToPath(import.meta.url))): string | undefined {
  const env = process.env.FLOATD_NATIVE;
  if (env) return existsSync(env) ? env : undefined;
  let dir = start;
  for (let i = 0; i < 6; i++) {
    const p = join(dir, ADDON_REL);
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

let cached: NativeAddon | undefined;

/** The addon, loaded once; throws NativeMissingError with a how-to-fix message. */
export function native(): NativeAddon {
  if (cached) return cached;
  const path = findAddon();
  if (!path) {
    throw new NativeMissingError(
      'floatd native addon not found (native/build/Release/floatd_native.node): run scripts/build.sh to build it',
    );
  }
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    throw new NativeMissingError(
      `floatd native addon at ${path} failed to load (${(e as Error).message}): rebuild it with scripts/build.sh`,
    );
  }
  return cached;
}

/** True when the addon can be loaded (tests use this to skip). */
export function nativeAvailable(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}
