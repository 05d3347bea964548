/**
 * The DNS-rebinding guard of a loopback listener: the `Host` header (and an absolute-form
 * request target's authority) must name this machine's loopback exactly. A web page that
 * rebinds its own DNS name to 127.0.0.1 then cannot read the status through a visitor's
 * browser, because the browser still sends the page's own name. Pure functions, no I/O.
 */
import { isIP } from 'node:net';

export interface ParsedHost {
  /** Lower-cased name, dotted IPv4, or IPv6 without brackets. */
  host: string;
  kind: 'name' | 'ipv4' | 'ipv6';
  port?: number;
}

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9](?:[a-z0-9-]{0,62}))*$/;

/**
 * RFC 9110 `uri-host [":" port]`, strictly: `[v6]` or a name/IPv4, an optional port of 1-5
 * digits (≤ 65535). Anything else (`[::1].evil.com`, `a b`, `host:`, a second colon) is
 * undefined.
 */
export function parseHostHeader(value: string): ParsedHost | undefined {
  let host: string;
  let portText: string | undefined;
  if (value.startsWith('[')) {
    const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(value);
    if (!m || isIP(m[1]!) !== 6) return undefined;
    host = canonicalV6(m[1]!);
    portText = m[2];
  } else {
    const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(value);
    if (!m) return undefined;
    host = m[1]!.toLowerCase();
    portText = m[2];
    if (!NAME.test(host)) return undefined;
  }
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && port > 65535) return undefined;
  const kind = value.startsWith('[') ? 'ipv6' : isIP(host) === 4 ? 'ipv4' : 'name';
  return { host, kind, ...(port !== undefined ? { port } : {}) };
}

/** `::0:1` and `0:0:0:0:0:0:0:1` are `::1`: the WHATWG URL parser writes the short form. */
function canonicalV6(a: string): string {
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a.toLowerCase();
  }
}

/** localhost (any case), 127.0.0.0/8 as a dotted quad, ::1; and the listener's own addresses. */
export function isAllowedLocalHost(h: ParsedHost, listenNames: readonly string[] = []): boolean {
  if (h.kind === 'name' && h.host === 'localhost') return true;
  if (h.kind === 'ipv4' && h.host.startsWith('127.')) return true;
  if (h.kind === 'ipv6' && h.host === '::1') return true;
  return listenNames.some((n) => {
    const p = parseHostHeader(isIP(n) === 6 ? `[${n}]` : n);
    return p !== undefined && p.kind === h.kind && p.host === h.host;
  });
}

export type HostVerdict = 'ok' | 'malformed' | 'foreign';

/**
 * Verdict on a request's Host header. A missing Host is allowed (HTTP/1.0; Node itself refuses
 * an HTTP/1.1 request without one, and a browser always sends it).
 */
export function checkHostHeader(value: string | undefined, listenNames: readonly string[] = []): HostVerdict {
  if (value === undefined) return 'ok';
  const p = parseHostHeader(value);
  if (!p) return 'malformed';
  return isAllowedLocalHost(p, listenNames) ? 'ok' : 'foreign';
}

/** Back-compatible boolean form (true = answer the request). */
export function hostHeaderIsLocal(host: string | undefined, listenNames: readonly string[] = []): boolean {
  return checkHostHeader(host, listenNames) === 'ok';
}
