/**
 * What the GCP driver (gcp.ts) reads in Compute Engine answers: the error dialect, the name
 * patterns, the instance / NIC / route / operation shapes, and pure helpers over them.
 */
import { isIP } from 'node:net';
import { bodyDetail, checkedId, type ProviderDialect } from '../http.js';
import { ipBytes } from '../../util/ip.js';
import type { ActionState } from '../action-poll.js';

/**
 * Compute's quota 429s (and the older 403 rateLimitExceeded) carry no Retry-After: Google's
 * quota service gives none. Rate quotas are counted per minute, so wait a few seconds rather
 * than the reconciler's first quarter-second backoff; its backoff grows if the limit persists.
 */
const RATE_LIMIT_WAIT_MS = 5000;
const RATE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'RATE_LIMIT_EXCEEDED']);
/** RFC 1035 names: instances, routes, subnetwork ranges. */
export const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Project ids, optionally domain-scoped ("example.com:my-project"). */
export const PROJECT = /^([a-z0-9][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
export const ZONE = /^[a-z]+(-[a-z]+)*[0-9]+-[a-z]$/;
export const NIC = /^nic[0-9]+$/;
export const OPERATION = /^[A-Za-z0-9_-]{1,128}$/;

export const dialect: ProviderDialect = {
  name: 'gcp',
  errorDetail: (body) =>
    bodyDetail(body, (b) => {
      const e = b.error as { message?: unknown; status?: unknown; errors?: { reason?: unknown }[] } | undefined;
      if (!e || typeof e !== 'object') return undefined;
      const reason = Array.isArray(e.errors) ? e.errors[0]?.reason : undefined;
      return { code: typeof reason === 'string' ? reason : e.status, message: e.message };
    }),
  classify(status, code) {
    if (status === 403 && code !== undefined && RATE_REASONS.has(code)) return 'rate_limited';
    // A resource quota (routes per network, …): retrying soon cannot help, and it is no auth problem.
    if (status === 403 && code === 'quotaExceeded') return 'invalid';
    if (status === 412 || status === 409) return 'busy';
    if (status === 400 && code === 'resourceNotReady') return 'busy';
    return undefined;
  },
  retryAfterMs: () => RATE_LIMIT_WAIT_MS,
};
export const metaDialect: ProviderDialect = { ...dialect, name: 'gcp metadata' };

export interface AliasRange {
  ipCidrRange?: unknown;
  subnetworkRangeName?: unknown;
}
export interface Nic {
  name?: unknown;
  network?: unknown;
  fingerprint?: unknown;
  aliasIpRanges?: unknown;
}
export interface Instance {
  name?: unknown;
  zone?: unknown;
  networkInterfaces?: unknown;
}
export interface Operation {
  name?: unknown;
  status?: unknown;
  error?: { errors?: { code?: unknown; message?: unknown }[] };
}
export interface Route {
  destRange?: unknown;
  network?: unknown;
  nextHopInstance?: unknown;
  nextHopIp?: unknown;
  nextHopGateway?: unknown;
  nextHopIlb?: unknown;
}
export interface Where {
  name: string;
  zone: string;
}
export interface Held {
  where: Where;
  inst: Instance;
  nic: Nic;
}

/** "203.0.113.10" → "203.0.113.10/32"; a range must start on its prefix boundary. Error text when not. */
export function normRange(text: string, v4only: boolean): { range: string } | { error: string } {
  const parts = text.trim().toLowerCase().split('/');
  const ip = parts[0] ?? '';
  const fam = isIP(ip);
  if (fam === 0 || parts.length > 2) return { error: `"${text}" is not an IP address or range` };
  if (v4only && fam === 6) return { error: `alias IP ranges are IPv4 ("${text}"); use mode route for IPv6` };
  const max = fam === 4 ? 32 : 128;
  const len = parts[1] === undefined ? max : /^\d{1,3}$/.test(parts[1]) ? Number(parts[1]) : NaN;
  if (!(len >= 0 && len <= max)) return { error: `"${text}" has no valid prefix length (0..${max})` };
  if (fam === 4 && len < 32) {
    const n = ipBytes(ip, 4)?.readUInt32BE(0) ?? 0;
    if (n % 2 ** (32 - len) !== 0) return { error: `"${text}" does not start on a /${len} boundary` };
  }
  return { range: `${ip}/${len}` };
}

/** The last path segment after `key/` in a resource URL (zones/Z, instances/N, networks/N). */
export function segment(url: unknown, key: string): string | undefined {
  if (typeof url !== 'string') return undefined;
  const m = new RegExp(`(?:^|/)${key}/([^/]+)$`).exec(url) ?? new RegExp(`(?:^|/)${key}/([^/]+)/`).exec(url);
  return m?.[1];
}

export function nicsOf(i: Instance): Nic[] {
  return Array.isArray(i.networkInterfaces) ? (i.networkInterfaces as Nic[]) : [];
}

export function rangesOf(n: Nic): AliasRange[] {
  return Array.isArray(n.aliasIpRanges) ? (n.aliasIpRanges as AliasRange[]) : [];
}

/** The alias ranges as they go back into a PATCH body (only the two fields the API takes). */
export function bodyRanges(rs: AliasRange[]): { ipCidrRange: string; subnetworkRangeName?: string }[] {
  return rs
    .filter((r) => typeof r.ipCidrRange === 'string')
    .map((r) => ({
      ipCidrRange: r.ipCidrRange as string,
      ...(typeof r.subnetworkRangeName === 'string' ? { subnetworkRangeName: r.subnetworkRangeName } : {}),
    }));
}

export function opState(op: Operation | undefined): ActionState {
  if (op?.status !== 'DONE') return { state: 'running' };
  const errs = op.error?.errors;
  if (!Array.isArray(errs) || errs.length === 0) return { state: 'done' };
  const why = errs
    .map((e) => [e.code, e.message].filter((x): x is string => typeof x === 'string').join(': '))
    .join('; ');
  return { state: 'failed', why: why || 'error' };
}

export const instanceName = (v: string, from: string): string => checkedId('gcp', 'an instance name', NAME, v, from);
