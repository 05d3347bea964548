/**
 * The kernel backstop of quorum mode: VIPs carry a valid_lft that each acknowledged renewal
 * refreshes, so a frozen or killed holder loses its addresses by itself (docs/quorum.md). Each
 * change runs only if the clock is still within the guard right before it (src/net's netlink
 * call is synchronous, so nothing lands later than the check by more than one syscall).
 */
import { addAddress, refreshLifetime, type AddressSpec } from '../net/addresses.js';

/** Adds (or re-arms) one VIP with the lifetime if the guard still holds; true if it was added now. */
export async function addWithLifetime(spec: AddressSpec, seconds: number, guard: () => boolean): Promise<boolean> {
  if (!guard()) return false;
  if (await addAddress({ ...spec, validLft: seconds })) return true;
  if (guard()) await refreshLifetime(spec, seconds); // already there (a restart, a second add): re-arm it
  return false;
}

/**
 * Refreshes (netlink: re-creates if the kernel expired it) each address while `guard()` holds;
 * returns how many ran. `refresh`: the runtime's dataplane port (default: src/net directly).
 */
export async function refreshLifetimes(
  specs: readonly AddressSpec[],
  seconds: number,
  guard: () => boolean,
  refresh: (s: AddressSpec, seconds: number) => Promise<void> = refreshLifetime,
): Promise<number> {
  let n = 0;
  for (const s of specs) {
    if (!guard()) break;
    await refresh(s, seconds);
    n++;
  }
  return n;
}
