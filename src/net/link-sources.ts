/**
 * Where LinkWatch learns about links and addresses. Preferred: an rtnetlink subscription in
 * the addon (RTMGRP_LINK + IPv4/IPv6 address groups) and link state by RTM_GETLINK on the
 * request socket: no child process, no descriptor opened after start. Fallback (no addon):
 * an `ip -o monitor link address` child and /sys/class/net reads.
 * A read that fails for any reason other than "no such interface" is 'unknown', never
 * 'down': with descriptors exhausted (EMFILE) a link must not look cut (issue 15 item 4).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { native, type HandleError } from '../native/addon.js';
import { openNetlink, type LinkState } from './netlink.js';
import { RTMGRP } from './rtnl-codec.js';
import { parseMessages, type RtnlMsg } from './rtnl-parse.js';

export type { LinkState };

const IFF_UP = 0x1;

/** Link state from sysfs; `read` is replaceable so a test can inject EMFILE. */
export function sysfsLinkState(
  ifname: string,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): LinkState {
  let flags: number;
  try {
    flags = parseInt(read(`/sys/class/net/${ifname}/flags`).trim(), 16);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'unknown';
  }
  if (!Number.isFinite(flags)) return 'unknown';
  if ((flags & IFF_UP) === 0) return 'down';
  try {
    return read(`/sys/class/net/${ifname}/carrier`).trim() === '1' ? 'up' : 'down';
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    // EINVAL while the device is going down; ENOENT: it just went away
    return c === 'EINVAL' ? 'down' : c === 'ENOENT' ? 'absent' : 'unknown';
  }
}

export function spawnIpMonitor(): ChildProcess {
  return spawn('ip', ['-o', 'monitor', 'link', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Parses one `ip -o monitor address` line: `[Deleted ]IDX: IF    inet[6] ADDR/PFX …`. */
export function parseMonitorLine(line: string): { deleted: boolean; ifname: string; address: string } | undefined {
  const m = /^(Deleted\s+)?\d+:\s+(\S+)\s+inet6?\s+([0-9a-fA-F:.]+)(?:\/\d+)?/.exec(line.trim());
  if (!m) return undefined;
  return { deleted: !!m[1], ifname: m[2]!, address: m[3]! };
}

export interface Subscription {
  close(): void;
}

/** Kernel link + address events, or undefined when the addon is not there. */
export type Subscribe = (onMsgs: (m: RtnlMsg[]) => void, onError: (e: HandleError) => void) => Subscription | undefined;

export const netlinkSubscribe: Subscribe = (onMsgs, onError) => {
  if (!openNetlink()) return undefined;
  const n = native();
  const h = n.nlOpen(RTMGRP.LINK | RTMGRP.IPV4_IFADDR | RTMGRP.IPV6_IFADDR, (err, dgram) => {
    if (err) onError(err);
    else if (dgram) onMsgs(parseMessages(dgram));
  });
  n.nlSetRef(h, false); // events never keep a stopping daemon alive
  return { close: () => n.nlClose(h) };
};

/** Link state through netlink when the addon loads, else sysfs. */
export function kernelLinkState(ifname: string): LinkState {
  const nl = openNetlink();
  return nl ? nl.linkState(ifname) : sysfsLinkState(ifname);
}

/** The interface's index (netlink), for matching address events; undefined if unknown. */
export function kernelIndex(ifname: string): number | undefined {
  try {
    return openNetlink()?.index(ifname);
  } catch {
    return undefined;
  }
}
