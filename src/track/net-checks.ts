/**
 * floatd's native checks, run in-process (no fork per check, so intervals down to 50 ms are
 * cheap): HTTP(S) GET/HEAD with expected status ranges and an optional body substring over a
 * keep-alive connection, and a TCP connect. The timeout covers the whole exchange, body
 * included, so a server trickling bytes cannot hold a check open (keepalived #1822).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { afterUs, realClock, US_PER_MS, type Clock } from '../util/clock.js';
import type { Probe, ProbeResult } from './periodic.js';
import type { HttpCheckSpec, TcpCheckSpec } from './types.js';

const BODY_LIMIT = 64 * 1024;

export interface NetProbe {
  probe: Probe;
  close(): void;
}

export function statusOk(status: number, ranges: ReadonlyArray<readonly [number, number]> | undefined): boolean {
  const rs = ranges && ranges.length ? ranges : [[200, 299] as const];
  return rs.some(([lo, hi]) => status >= lo && status <= hi);
}

function describeRanges(ranges: HttpCheckSpec['expectStatus']): string {
  const rs = ranges && ranges.length ? ranges : [[200, 299] as [number, number]];
  return rs.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',');
}

function netError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.syscall ?? 'request'} ${err.code}` : err.message;
}

/** A deadline shared by the whole exchange; `finish` settles once. */
function deadline(
  clock: Clock,
  timeoutUs: number,
  signal: AbortSignal,
  onExpire: (why: string) => void,
): { clear(): void } {
  const t = afterUs(clock, timeoutUs, () => onExpire(`timed out after ${timeoutUs / US_PER_MS} ms`), { weak: true });
  const onAbort = (): void => onExpire('aborted');
  signal.addEventListener('abort', onAbort, { once: true });
  return {
    clear: () => {
      clock.cancel(t);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

export function httpProbe(spec: HttpCheckSpec, clock: Clock = realClock): NetProbe {
  const url = new URL(spec.url);
  const tls = url.protocol === 'https:';
  const agent = tls
    ? new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: spec.tlsVerify ?? true })
    : new http.Agent({ keepAlive: true, maxSockets: 1 });
  const timeoutUs = spec.timeoutUs ?? spec.intervalUs;
  const probe: Probe = (signal) =>
    new Promise<ProbeResult>((resolve) => {
      const t0 = clock.nowUs();
      let settled = false;
      const finish = (ok: boolean, detail: string): void => {
        if (settled) return;
        settled = true;
        dl.clear();
        resolve({ ok, detail, durationMs: (clock.nowUs() - t0) / US_PER_MS });
      };
      const headers: Record<string, string> = { 'user-agent': 'floatd-check' };
      if (spec.host) headers.host = spec.host;
      const req = (tls ? https : http).request(url, {
        method: spec.method ?? 'GET',
        agent,
        headers,
        ...(tls && spec.host ? { servername: spec.host.replace(/:\d+$/, '') } : {}),
      });
      const dl = deadline(clock, timeoutUs, signal, (why) => {
        finish(false, why);
        req.destroy();
      });
      req.on('error', (e) => finish(false, netError(e)));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (!statusOk(status, spec.expectStatus)) {
          res.resume();
          finish(false, `HTTP ${status} (expected ${describeRanges(spec.expectStatus)})`);
          return;
        }
        if (spec.expectBody === undefined) {
          res.resume(); // drain so the keep-alive socket is reused
          res.on('end', () => finish(true, `HTTP ${status}`));
          res.on('error', (e) => finish(false, netError(e)));
          return;
        }
        const want = spec.expectBody;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < BODY_LIMIT) body += chunk;
          if (body.includes(want)) {
            finish(true, `HTTP ${status}`);
            res.resume();
          }
        });
        res.on('end', () =>
          finish(
            body.includes(want),
            body.includes(want) ? `HTTP ${status}` : `HTTP ${status} but the body lacks ${JSON.stringify(want)}`,
          ),
        );
        res.on('error', (e) => finish(false, netError(e)));
      });
      req.end();
    });
  return { probe, close: () => agent.destroy() };
}

export function tcpProbe(spec: TcpCheckSpec, clock: Clock = realClock): NetProbe {
  const timeoutUs = spec.timeoutUs ?? spec.intervalUs;
  const probe: Probe = (signal) =>
    new Promise<ProbeResult>((resolve) => {
      const t0 = clock.nowUs();
      let settled = false;
      const sock = net.connect({ host: spec.host, port: spec.port });
      const finish = (ok: boolean, detail: string): void => {
        if (settled) return;
        settled = true;
        dl.clear();
        sock.destroy();
        resolve({ ok, detail, durationMs: (clock.nowUs() - t0) / US_PER_MS });
      };
      const dl = deadline(clock, timeoutUs, signal, (why) => finish(false, why));
      sock.once('connect', () => finish(true, `connected to ${spec.host}:${spec.port}`));
      sock.once('error', (e) => finish(false, netError(e)));
    });
  return { probe, close: () => undefined };
}
