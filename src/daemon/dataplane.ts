/**
 * The dataplane port's adapter for the kernel: net/addresses.ts (rtnetlink through the addon, `ip` as
 * the fallback) for addresses and routes, the addon's packet socket for GARP/NA.
 */
import {
  addAddress,
  addRoute,
  interfaceInfo,
  listAddresses,
  refreshLifetime,
  removeAddress,
  removeRoute,
} from '../net/addresses.js';
import { announceAddress } from '../net/garp.js';
import { prepareDataplane } from '../net/prepare.js';
import { applyDrain } from '../net/syn-drain.js';
import type { DataplanePort } from './ports.js';

export const kernelDataplane: DataplanePort = {
  interfaceInfo: (ifname) =>
    interfaceInfo(ifname).then(
      (i) => i,
      () => undefined,
    ),
  addAddress: (s) => addAddress(s),
  removeAddress: (s) => removeAddress(s),
  addRoute: (r) => addRoute(r),
  removeRoute: (r) => removeRoute(r),
  refreshLifetime: (s, seconds) => refreshLifetime(s, seconds),
  announce: (ifname, address) => announceAddress(ifname, address),
  listAddresses: async (ifname) => (await listAddresses(ifname)).map((a) => a.address),
  blockNew: (owner, specs, on) => applyDrain(owner, specs, on),
  prepare: (ifnames) => prepareDataplane(ifnames).failed.map((f) => `${f.ifname}: ${f.error}`),
};
