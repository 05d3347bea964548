/**
 * The one HTTP path every cloud driver uses: JSON (or text) over Node's global fetch, a timeout
 * per request, and every failure classified into a CloudError whose message names the request
 * (method, path, status) and the provider's own words — never the token.
 */
import { CloudError, type CloudErrorKind, type ProviderSettings } from './types.js';
import { VERSION } from '../util/version.js';
import { delayUs, msToUs, realClock, timeoutSignalUs, US_PER_MS, type Clock } from '../util/clock.js';

/** What differs between providers in how they answer errors and throttle. */
export interface ProviderDialect {
  /** Name used in messages: "digitalocean GET /v2/… → 404 not_found: …". */
  name: string;
  /** The provider's own code and message from an error body (already JSON-parsed, or the raw text). */
  errorDetail(body: unknown): { code?: string; message?: string };
  /**
   * Kinds that differ from the status default (401/403 auth, 404 not_found, 429 rate_limited,
   * 5xx server, other 4xx invalid): DO 422 "pending event" and Hetzner 423 `locked` are 'busy'.
   */
  classify?(status: number, code: string | undefined, message: string | undefined): CloudErrorKind | undefined;
  /** When a throttled client may try again, from the provider's own headers (Retry-After is read first). */
  retryAfterMs?(headers: Headers, nowMs: number): number | undefined;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Base URL of this request (API or metadata); `path` is appended. */
  base: string;
  /** Path and query, starting with '/'. Logged and put in messages as is. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; undefined for an empty or non-JSON body. */
  json: unknown;
}

export type HttpSettings = Pick<ProviderSettings, 'timeoutUs' | 'signal' | 'onCall' | 'token' | 'clock'>;

/** Trims a base URL so `base + '/path'` never doubles the slash. */
export function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Seconds or an HTTP date (RFC 9110 §10.2.3), as milliseconds from now; undefined if unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** A reset header holding a Unix time in seconds, as milliseconds from now. */
export function resetEpochToMs(value: string | null, nowMs: number): number | undefined {
  if (value === null || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  return Math.max(0, Math.round(Number(value) * 1000 - nowMs));
}

/**
 * A dialect's errorDetail from the parts of a JSON error body that `pick` finds; plain-text
 * bodies (metadata services, proxies) become the message, cut to 200 characters.
 */
export function bodyDetail(
  body: unknown,
  pick: (b: Record<string, unknown>) => { code?: unknown; message?: unknown } | undefined,
): { code?: string; message?: string } {
  if (typeof body === 'string') return body.trim() ? { message: body.trim().slice(0, 200) } : {};
  if (body === null || typeof body !== 'object') return {};
  const d = pick(body as Record<string, unknown>);
  return {
    ...(typeof d?.code === 'string' ? { code: d.code } : {}),
    ...(typeof d?.message === 'string' ? { message: d.message } : {}),
  };
}

/** An id the provider writes one way (`what`: "a droplet id", "a server UUID", …); anything else is 'invalid'. */
export function checkedId(provider: string, what: string, pattern: RegExp, v: string, from: string): string {
  if (!pattern.test(v)) throw new CloudError('invalid', `${provider}: ${from} gave "${v.slice(0, 64)}", not ${what}`);
  return v;
}

/** An instance id that must be all digits (droplet, server, Linode). */
export function digitsId(provider: string, noun: string, v: string, from: string): string {
  return checkedId(provider, `a ${noun} id`, /^\d+$/, v, from);
}

function defaultKind(status: number): CloudErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  return 'invalid';
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A provider's words on one line: CR, LF and other control characters (a reply with CRLF split
 * log lines, issue 15 item 17) become visible escapes; at most 300 characters.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const t = text
    .replace(/\r\n|[\r\n]/g, ' ⏎ ')
    .replace(/[\x00-\x1f\x7f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}

/** Removes the secret from any text that might echo it (a provider repeating a header, say). */
function scrub(text: string, token: string): string {
  return token.length >= 4 ? text.split(token).join('[redacted]') : text;
}

/**
 * Sends one request. Resolves with 2xx and 3xx answers; throws CloudError for everything else,
 * including timeouts ('timeout') and transport failures ('network').
 */
export async function httpRequest(s: HttpSettings, dialect: ProviderDialect, req: HttpRequest): Promise<HttpResponse> {
  const clock = s.clock ?? realClock;
  const startedUs = clock.nowUs();
  const where = `${dialect.name} ${req.method} ${req.path}`;
  const deadline = timeoutSignalUs(clock, s.timeoutUs);
  const signals = [deadline.signal];
  if (s.signal) signals.push(s.signal);
  // Providers ask clients to name themselves; it also tells floatd's calls apart in their logs.
  const headers: Record<string, string> = {
    accept: 'application/json',
    'user-agent': `floatd/${VERSION}`,
    ...req.headers,
  };
  let payload: string | undefined;
  if (req.body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(req.body);
  }
  const report = (status: number | 'timeout' | 'network'): void => {
    s.onCall?.({ method: req.method, path: req.path, status, ms: Math.round((clock.nowUs() - startedUs) / US_PER_MS) });
  };

  let res: Response;
  let text: string;
  try {
    res = await fetch(req.base + req.path, {
      method: req.method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      redirect: 'manual',
      signal: AbortSignal.any(signals),
    });
    // The body is read under the same signal: a server that stalls mid-body still times out.
    text = await res.text();
  } catch (e) {
    throw transportError(e, where, s, report);
  } finally {
    deadline.clear();
  }
  report(res.status);
  if (res.status < 400) return { status: res.status, headers: res.headers, text, json: parseBody(text) };

  const body = parseBody(text);
  const detail = dialect.errorDetail(body ?? text);
  const kind = dialect.classify?.(res.status, detail.code, detail.message) ?? defaultKind(res.status);
  const words = oneLine([detail.code, detail.message].filter((x): x is string => !!x).join(': '));
  const message = scrub(`${where} → ${res.status}${words ? ` ${words}` : ''}`, s.token);
  let retryAfterMs: number | undefined; // the headers' wall-clock arithmetic is in ms
  if (kind === 'rate_limited') {
    const now = clock.wallMs();
    retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now) ?? dialect.retryAfterMs?.(res.headers, now);
  }
  return Promise.reject(
    new CloudError(kind, message, {
      status: res.status,
      ...(retryAfterMs !== undefined ? { retryAfterUs: msToUs(retryAfterMs) } : {}),
    }),
  );
}

function transportError(
  e: unknown,
  where: string,
  s: HttpSettings,
  report: (st: 'timeout' | 'network') => void,
): CloudError {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') {
    report('timeout');
    return new CloudError('timeout', `${where}: no answer within ${s.timeoutUs / US_PER_MS} ms`);
  }
  report('network');
  if (err.name === 'AbortError' || s.signal?.aborted)
    return new CloudError('network', `${where}: cancelled (floatd is stopping)`);
  // undici nests the reason (ECONNREFUSED…) in `cause`; some failures (a 407 without a proxy)
  // carry only an empty cause, so fall back to the outer message.
  const why =
    [err.cause?.code, err.cause?.message, err.message, err.name].find((x) => typeof x === 'string' && x !== '') ??
    String(e);
  return new CloudError('network', scrub(`${where}: ${oneLine(why)}`, s.token));
}

/**
 * Waits `us` unless the daemon stops first. Drivers use it between polls of an action so a
 * stopping daemon is not held up by a poll interval.
 */
export async function sleepUs(us: number, signal?: AbortSignal, clock: Clock = realClock): Promise<void> {
  if (!(await delayUs(clock, us, signal))) throw new CloudError('network', 'cancelled (floatd is stopping)');
}

/**
 * Reads a positive number of seconds from the floating_ip options as milliseconds. A bad value
 * is noted in `problems` (the driver refuses every call with it) rather than thrown, because
 * the runner builds drivers in places where a throw would escape as a stack trace.
 */
export function optionMs(options: Record<string, string>, key: string, defaultMs: number, problems: string[]): number {
  const v = options[key];
  if (v === undefined) return defaultMs;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    problems.push(`option ${key} must be a positive number of seconds (got "${v}")`);
    return defaultMs;
  }
  return Math.round(n * 1000);
}
