/**
 * Takes every descriptor the data plane needs at start, before any descriptor pressure
 * (issue 15 item 4: 20,000 half-open connections left no descriptor for a takeover): the
 * rtnetlink request socket and one packet socket per VRRP interface for GARP/NA. A takeover
 * then opens nothing. Failures are returned (e.g. an interface that does not exist yet: its
 * socket is opened at the first announcement instead), never thrown.
 */
import { defaultAnnouncer, type Announcer } from './garp.js';
import { openNetlink } from './netlink.js';

export interface PrepareResult {
  /** 'netlink' or 'ip' (no addon, or FLOATD_NETLINK=0). */
  kernel: 'netlink' | 'ip';
  /** Interfaces whose packet socket could not be opened now, with the reason. */
  failed: { ifname: string; error: string }[];
}

export function prepareDataplane(ifnames: Iterable<string>, announcer: Announcer = defaultAnnouncer()): PrepareResult {
  const kernel = openNetlink() ? 'netlink' : 'ip';
  const failed: PrepareResult['failed'] = [];
  for (const ifname of new Set(ifnames)) {
    try {
      announcer.prepare(ifname);
    } catch (e) {
      failed.push({ ifname, error: (e as Error).message });
    }
  }
  return { kernel, failed };
}
