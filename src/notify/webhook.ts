/**
 * Webhook delivery: POST a JSON body, each attempt with a timeout, retried with exponential
 * backoff on network errors, timeouts, 408, 429 and 5xx (Retry-After honoured up to the backoff
 * cap), a bounded number of times. Other 4xx are final. Optional HMAC-SHA256 signature header.
 * Nothing secret is logged: the URL is shown without credentials or query, headers never.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { afterUs, delayUs, realClock, US_PER_MS, US_PER_S, type Clock } from '../util/clock.js';

export interface WebhookConfig {
  url: string;
  /** Extra headers (e.g. Authorization); never logged. */
  headers?: Record<string, string>;
  /** Signs the body: header `X-Floatd-Signature: sha256=<hex HMAC>`. Never logged. */
  secret?: string;
  /** Per attempt, µs; default 5 s. */
  timeoutUs?: number;
  /** Attempts after the first; default 4. */
  retries?: number;
  /** First backoff, µs, doubled each retry up to maxBackoffUs; defaults 500 ms / 10 s. */
  backoffUs?: number;
  maxBackoffUs?: number;
  /** Verify the server certificate (https); default true. */
  tlsVerify?: boolean;
  /** Only events of these instances/groups; absent = all. */
  only?: string[];
}

export interface AttemptResult {
  ok: boolean;
  retry: boolean;
  detail: string;
  /** The server's Retry-After, µs. */
  retryAfterUs?: number;
}

export type WebhookPoster = (cfg: WebhookConfig, body: string, clock: Clock) => Promise<AttemptResult>;

/** The URL as it may appear in logs. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/** One POST attempt; never rejects. */
export const postOnce: WebhookPoster = (cfg, body, clock) =>
  new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(cfg.url);
    } catch {
      resolve({ ok: false, retry: false, detail: 'invalid webhook url' });
      return;
    }
    const tls = u.protocol === 'https:';
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'floatd',
      ...cfg.headers,
    };
    if (cfg.secret)
      headers['x-floatd-signature'] = `sha256=${createHmac('sha256', cfg.secret).update(body).digest('hex')}`;
    let settled = false;
    const finish = (r: AttemptResult): void => {
      if (settled) return;
      settled = true;
      clock.cancel(timer);
      resolve(r);
    };
    const req = (tls ? https : http).request(u, {
      method: 'POST',
      headers,
      ...(tls ? { rejectUnauthorized: cfg.tlsVerify ?? true } : {}),
    });
    const timeoutUs = cfg.timeoutUs ?? 5 * US_PER_S;
    const expire = (): void => {
      finish({ ok: false, retry: true, detail: `timed out after ${timeoutUs / US_PER_MS} ms` });
      req.destroy();
    };
    const timer = afterUs(clock, timeoutUs, expire, { weak: true });
    req.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, retry: true, detail: e.code ?? e.message }));
    req.on('response', (res) => {
      res.resume();
      const s = res.statusCode ?? 0;
      const ra = Number(res.headers['retry-after']);
      const retryAfter = Number.isFinite(ra) && ra >= 0 ? { retryAfterUs: Math.round(ra * US_PER_S) } : {};
      if (s >= 200 && s < 300) finish({ ok: true, retry: false, detail: `HTTP ${s}` });
      else finish({ ok: false, retry: s === 408 || s === 429 || s >= 500, detail: `HTTP ${s}`, ...retryAfter });
    });
    req.end(body);
  });

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  detail: string;
}

/** Delivers with retries; the number of attempts is bounded by retries+1. */
export async function deliver(
  cfg: WebhookConfig,
  body: string,
  opts: { clock?: Clock; post?: WebhookPoster; signal?: AbortSignal } = {},
): Promise<DeliveryResult> {
  const clock = opts.clock ?? realClock;
  const post = opts.post ?? postOnce;
  const max = 1 + Math.max(0, cfg.retries ?? 4);
  let backoff = cfg.backoffUs ?? 500 * US_PER_MS;
  const cap = cfg.maxBackoffUs ?? 10 * US_PER_S;
  let last: AttemptResult = { ok: false, retry: false, detail: 'not sent' };
  for (let attempt = 1; attempt <= max; attempt++) {
    last = await post(cfg, body, clock);
    if (last.ok || !last.retry || attempt === max || opts.signal?.aborted)
      return { ok: last.ok, attempts: attempt, detail: last.detail };
    const wait = Math.min(cap, Math.max(backoff, last.retryAfterUs ?? 0));
    await delayUs(clock, wait, opts.signal, { weak: true });
    backoff = Math.min(cap, backoff * 2);
  }
  return { ok: last.ok, attempts: max, detail: last.detail };
}
