/**
 * The kernel backstop of quorum mode: VIPs carry a valid_lft that each acknowledged renewal
 * refreshes, so a frozen or killed holder loses its addresses by itself (docs/quorum.md). Each
 * change runs only if the clock is still within the guard when it starts; `ip addr replace`
 * re-adds an address the kernel already expired, which is as safe as a refresh under the guard.
 */
import { addArgs, type AddressSpec } from '../net/addresses.js';
import { defaultIp, IpCommandError, type IpRunner } from '../net/iproute.js';

/** `ip addr replace … valid_lft L preferred_lft L` (IPv6 /128 stays preferred_lft 0: never a source). */
export function lifetimeArgs(spec: AddressSpec, lifetimeS: number): string[] {
  const a = addArgs(spec);
  a[1] = 'replace';
  const i = a.indexOf('preferred_lft');
  const v6max = a[2]?.includes(':') === true && a[2].endsWith('/128');
  if (i >= 0) a.splice(i, 2);
  a.push('valid_lft', String(lifetimeS), 'preferred_lft', v6max ? '0' : String(lifetimeS));
  return a;
}

/** Adds or refreshes each address with the lifetime while `guard()` holds; returns how many ran. */
export async function refreshLifetimes(specs: readonly AddressSpec[], lifetimeS: number, guard: () => boolean, run: IpRunner = defaultIp): Promise<number> {
  let n = 0;
  for (const s of specs) {
    if (!guard()) break;
    const args = lifetimeArgs(s, lifetimeS);
    const r = await run(args);
    if (r.code !== 0) throw new IpCommandError(args, r);
    n++;
  }
  return n;
}
