/**
 * VRRP timer arithmetic, in integer microseconds with keepalived's truncation
 * (RFC 3768 §6.1, RFC 5798 §6.1), and the source-address tie-break (RFC 5798 §6.4.3).
 */
import { ipBytes } from '../util/ip.js';

export const US_PER_CS = 10_000;

export type VrrpVersion = 2 | 3;

/**
 * Skew_Time for a priority value. v2 (RFC 3768): (256-p)/256 s, independent of the interval.
 * v3 (RFC 5798): (256-p) * Master_Adver_Interval / 256, computed from centiseconds as
 * keepalived does ((p * cs * 625) / 16 truncates the same way).
 */
export function skewUs(version: VrrpVersion, priority: number, masterAdverIntCs: number): number {
  const p = 256 - priority;
  return version === 3 ? Math.floor((p * masterAdverIntCs * 625) / 16) : Math.floor((p * 1_000_000) / 256);
}

/** The smallest skew (as for priority 255): used when a sync-group member re-arms its timer. */
export function skewMinUs(version: VrrpVersion, masterAdverIntCs: number): number {
  return skewUs(version, 255, masterAdverIntCs);
}

/** Master_Down_Interval = down_timer_adverts * Master_Adver_Interval + Skew_Time. */
export function masterDownUs(
  version: VrrpVersion,
  priority: number,
  masterAdverIntCs: number,
  downTimerAdverts: number,
): number {
  return downTimerAdverts * masterAdverIntCs * US_PER_CS + skewUs(version, priority, masterAdverIntCs);
}

/** Effective priority (keepalived vrrp_set_effective_priority): owners (255) ignore weights, others clamp to 1..254. */
export function effectivePriority(base: number, delta: number): number {
  if (base === 255) return 255;
  return Math.min(254, Math.max(1, base + delta));
}

/**
 * Compare two addresses as unsigned big-endian integers: <0, 0, >0. Unparseable addresses
 * sort lowest (never crash on bad input); different lengths compare by length.
 */
export function compareAddresses(a: string, b: string): number {
  const x = ipBytes(a) ?? [];
  const y = ipBytes(b) ?? [];
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
