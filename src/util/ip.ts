/**
 * IP address text ↔ bytes, the one parser every layer uses. Validation is node:net's
 * (`isIPv4`/`isIPv6`, which take `::` forms, embedded IPv4 and an IPv6 `%zone`); this module
 * only expands text that node:net has already accepted. Pure; never throws.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Strips a %zone suffix (the interface supplies the scope). */
export function stripZone(addr: string): string {
  const i = addr.indexOf('%');
  return i < 0 ? addr : addr.slice(0, i);
}

/** 4 or 16 network-order bytes, or undefined when `addr` is not an address (of `family`, if given). */
export function ipBytes(addr: string, family?: 4 | 6): Buffer | undefined {
  if (isIPv4(addr)) return family === 6 ? undefined : Buffer.from(addr.split('.').map(Number));
  if (family === 4 || !isIPv6(addr)) return undefined;
  let text = stripZone(addr);
  let v4: Buffer | undefined;
  if (text.includes('.')) {
    const colon = text.lastIndexOf(':');
    v4 = Buffer.from(
      text
        .slice(colon + 1)
        .split('.')
        .map(Number),
    );
    text = `${text.slice(0, colon + 1)}0:0`;
  }
  const [head = '', tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  v4?.copy(out, 12);
  return out;
}

/** Text of 4 or 16 bytes (IPv6 in RFC 5952 form: lower case, the longest run of ≥ 2 zero words as "::"). */
export function ipString(b: Uint8Array): string | undefined {
  if (b.length === 4) return [...b].join('.');
  if (b.length !== 16) return undefined;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  let best = -1,
    bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

/** IPv4 224.0.0.0/4 or IPv6 ff00::/8 (a %zone is ignored); false for anything that is not an address. */
export function isMulticast(addr: string): boolean {
  const b = ipBytes(addr);
  if (!b) return false;
  return b.length === 4 ? (b[0]! & 0xf0) === 0xe0 : b[0] === 0xff;
}
