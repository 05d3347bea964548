/**
 * VRRP timer arithmetic, in integer microseconds with keepalived's truncation
 * (RFC 3768 §6.1, RFC 5798 §6.1), and the source-address tie-break (RFC 5798 §6.4.3).
 */

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
export function masterDownUs(version: VrrpVersion, priority: number, masterAdverIntCs: number,
  downTimerAdverts: number): number {
  return downTimerAdverts * masterAdverIntCs * US_PER_CS + skewUs(version, priority, masterAdverIntCs);
}

/** Effective priority (keepalived vrrp_set_effective_priority): owners (255) ignore weights, others clamp to 1..254. */
export function effectivePriority(base: number, delta: number): number {
  if (base === 255) return 255;
  return Math.min(254, Math.max(1, base + delta));
}

function ipv4Bytes(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function ipv6Bytes(s: string): number[] | undefined {
  const zone = s.indexOf('%');
  const addr = zone >= 0 ? s.slice(0, zone) : s;
  let tail: number[] = [];
  let text = addr;
  const lastColon = addr.lastIndexOf(':');
  if (addr.includes('.')) {
    // Embedded IPv4 in the last 32 bits.
    const v4 = ipv4Bytes(addr.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    text = addr.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string | undefined): string[] => (h ? h.split(':') : []);
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const out: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  if (tail.length === 4) out.splice(12, 4, ...tail);
  return out;
}

/** Address as big-endian bytes (4 or 16), or undefined if it is not an IP address. */
export function addressBytes(addr: string): number[] | undefined {
  return addr.includes(':') ? ipv6Bytes(addr) : ipv4Bytes(addr);
}

/**
 * Compare two addresses as unsigned big-endian integers: <0, 0, >0. Unparseable addresses
 * sort lowest (never crash on bad input); different lengths compare by length.
 */
export function compareAddresses(a: string, b: string): number {
  const x = addressBytes(a) ?? [];
  const y = addressBytes(b) ?? [];
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
