/**
 * keepalived's `ha_suspend` (check/check_api.c, update_checker_activity): the checkers of a
 * virtual server that has it are suspended while none of its addresses is on a local interface
 * (this node is not MASTER for it) and resumed when one appears. A check shared with a virtual
 * server that is not suspended keeps running (floatd runs one probe per (real server, check)).
 * A fwmark service has no address: ha_suspend does not apply to it (keepalived matches none).
 * The decision is pure; suspend-watch.ts polls the local addresses (os.networkInterfaces()) and applies it.
 */
import { networkInterfaces } from 'node:os';
import type { VirtualServerConfig } from '../config/lvs-model.js';
import { ipBytes, ipString } from '../util/ip.js';

/** How often the local addresses are read while a virtual server has ha_suspend. */
export const SUSPEND_POLL_US = 1_000_000;

const norm = (a: string): string => {
  const b = ipBytes(a);
  return b ? (ipString(b) ?? a) : a;
};

/** Keys of the virtual servers whose checkers are suspended. */
export function suspendedVs(vss: VirtualServerConfig[], local: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const v of vss)
    if (v.haSuspend && v.endpoints.length && !v.endpoints.some((e) => local.has(norm(e.address)))) out.add(v.key);
  return out;
}

/** Addresses on this host's interfaces (in its network namespace), normalised. */
export function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(norm(a.address));
  return out;
}
