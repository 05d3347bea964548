/**
 * The EC2 wire layer of the AWS driver (aws.ts): the SDK loaded on first use, the two
 * middlewares it is given (Describe* sent as GET; the raw answer observed for the call report),
 * and EC2 errors mapped to CloudErrors (code before HTTP status; no secret in a message).
 */
import { CloudError, type CloudErrorKind, type ProviderSettings } from '../types.js';
import { parseRetryAfter } from '../http.js';
import { msToUs, realClock, US_PER_MS } from '../../util/clock.js';

/**
 * EC2 throttles with RequestLimitExceeded and no retry hint. Its buckets refill every second
 * (e.g. 20 tokens/s for describes, 5/s for mutations), so one second is the wait that works.
 */
const THROTTLE_WAIT_MS = 1000;

const AUTH_CODES = new Set([
  'AuthFailure',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'OptInRequired',
  'Blocked',
  'RequestExpired',
]);
const THROTTLE_CODES = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException']);
const SERVER_CODES = new Set([
  'InternalError',
  'InternalFailure',
  'Unavailable',
  'ServiceUnavailable',
  'InsufficientAddressCapacity',
]);

/**
 * An EC2 error code (or, without one, the HTTP status) as a CloudError kind. The code comes
 * first: EC2 throttles with 503 RequestLimitExceeded, which must not read as an outage.
 */
export function classifyEc2(status: number, code: string | undefined): CloudErrorKind {
  if (code !== undefined) {
    if (AUTH_CODES.has(code)) return 'auth';
    if (THROTTLE_CODES.has(code)) return 'rate_limited';
    if (code.endsWith('.NotFound')) return 'not_found';
    if (code === 'Resource.AlreadyAssociated' || code === 'IncorrectState') return 'busy';
    if (SERVER_CODES.has(code)) return 'server';
    if (/^(InvalidParameter|MissingParameter|InvalidAction|InvalidInstanceID$|InvalidNetworkInterfaceID$)/.test(code))
      return 'invalid';
  }
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  return 'invalid';
}

export type Sdk = typeof import('@aws-sdk/client-ec2');
let sdkLoad: Promise<Sdk> | undefined;
/** The SDK takes most of a second to load: only daemons with an AWS address pay for it. */
export const loadSdk = (): Promise<Sdk> => {
  // The SDK prints a multi-line notice on Node < 22 (its releases after January 2027 will need
  // 22) into the daemon's stderr at the first client; the locked version works on Node 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return (sdkLoad ??= import('@aws-sdk/client-ec2').catch((e: unknown) => {
    sdkLoad = undefined;
    throw e;
  }));
};

/** The part of the SDK's request and middleware stack this driver touches. */
interface RawRequest {
  method: string;
  body?: unknown;
  query?: Record<string, string>;
  headers: Record<string, string>;
}
interface RawResponse {
  statusCode: number;
  headers: Record<string, string | undefined>;
}
type Handler = (args: { request: unknown }) => Promise<{ response: unknown }>;
type Middleware = (next: Handler, context: { commandName?: string }) => Handler;
export interface Stack {
  add(mw: Middleware, o: { step: 'build' | 'deserialize'; priority: 'low'; name: string }): void;
}

/** What one API call saw on the wire, for its message and the call report. */
export interface Seen {
  method: string;
  status?: number;
  headers?: Record<string, string | undefined>;
}

/**
 * An SDK failure as a CloudError whose message reads `aws GET /?Action=X → 401 AuthFailure: …`;
 * scrub removes the driver's secrets from it.
 */
export function ec2Failure(
  s: ProviderSettings,
  scrub: (text: string) => string,
  e: unknown,
  where: string,
  seen: Seen,
  deadline: AbortSignal,
): CloudError {
  const wallMs = (): number => (s.clock ?? realClock).wallMs();
  if (e instanceof CloudError) return e;
  const err = (e ?? {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    Code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  if (s.signal?.aborted) return new CloudError('network', `${where}: cancelled (floatd is stopping)`);
  if (deadline.aborted || err.name === 'TimeoutError')
    return new CloudError('timeout', `${where}: no answer within ${s.timeoutUs / US_PER_MS} ms`);
  const status =
    seen.status ?? (typeof err.$metadata?.httpStatusCode === 'number' ? err.$metadata.httpStatusCode : undefined);
  const text = typeof err.message === 'string' ? err.message.slice(0, 300) : '';
  if (status === undefined) {
    const why =
      [err.code, text, err.name].find((x): x is string => typeof x === 'string' && x !== '') ?? 'request failed';
    return new CloudError('network', scrub(`${where}: ${why}`));
  }
  if (status < 300)
    return new CloudError('server', scrub(`${where} → ${status}: unreadable answer (${text || String(err.name)})`));
  const rawCode = typeof err.Code === 'string' ? err.Code : typeof err.name === 'string' ? err.name : undefined;
  // The SDK names errors it could not parse generically; those carry no EC2 code.
  const code = rawCode && !/^(Unknown|UnknownError|Error|SyntaxError|TypeError)$/.test(rawCode) ? rawCode : undefined;
  const kind = classifyEc2(status, code);
  const words = [code, text].filter(Boolean).join(': ');
  const retry =
    kind === 'rate_limited'
      ? (parseRetryAfter(seen.headers?.['retry-after'] ?? null, wallMs()) ?? THROTTLE_WAIT_MS)
      : undefined;
  return new CloudError(kind, scrub(`${where} → ${status}${words ? ` ${words}` : ''}`), {
    status,
    ...(retry !== undefined ? { retryAfterUs: msToUs(retry) } : {}),
  });
}

/** Sends Describe* as GET with the parameters in the query (reads are then safe to replay and to log). */
export const describeAsGet: Middleware = (next, context) => async (args) => {
  const req = args.request as RawRequest;
  if (context.commandName?.startsWith('Describe') && typeof req.body === 'string') {
    req.method = 'GET';
    req.query = Object.fromEntries(new URLSearchParams(req.body));
    req.body = undefined;
    for (const h of Object.keys(req.headers)) if (/^content-(type|length)$/i.test(h)) delete req.headers[h];
  }
  return next(args);
};

/** Innermost middleware: sees the raw HTTP answer (status, headers) or the transport failure. */
export function observe(
  seen: Seen,
  report: (s: number | 'timeout' | 'network') => void,
  failedAs: () => 'timeout' | 'network',
): Middleware {
  return (next) => async (args) => {
    seen.method = (args.request as RawRequest).method;
    let out: { response: unknown };
    try {
      out = await next(args);
    } catch (e) {
      report((e as { name?: unknown }).name === 'TimeoutError' ? 'timeout' : failedAs());
      throw e;
    }
    const res = out.response as RawResponse;
    seen.status = res.statusCode;
    seen.headers = res.headers;
    report(res.statusCode);
    return out;
  };
}
