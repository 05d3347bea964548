/**
 * One probe of a real server (shell): TCP_CHECK connects; HTTP_GET/SSL_GET fetch each url and
 * compare status and md5 digest (keepalived's genhash) with virtualhost as Host and SNI;
 * MISC_CHECK runs its command (the one checker that forks). Each has a deadline on the
 * injected clock covering the whole exchange, and never rejects: a hung server is a failure
 * after connect_timeout, never a stalled event loop.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { LvsCheckConfig, HttpCheckConfig, HttpUrl } from '../config/lvs-model.js';
import { afterUs, msToUs, US_PER_MS, type Clock } from '../util/clock.js';
import { runScript, type ScriptRunner } from '../util/run-script.js';
import { resolveUser } from '../track/users.js';
import { dnsProbe, smtpProbe, udpProbe } from './probes-extra.js';
import { pingProbe } from './ping.js';

export interface LbProbeResult {
  ok: boolean;
  detail: string;
  weight?: number;
}
export type LbProbe = (signal: AbortSignal) => Promise<LbProbeResult>;
/** The checkers that probe (FILE_CHECK is watched instead: checker-pool.ts). */
export type ProbedCheck = Exclude<LvsCheckConfig, { kind: 'FILE_CHECK' }>;
export interface Target {
  address: string;
  port: number;
}

const BODY_LIMIT = 1 << 20;

function netError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.syscall ?? 'request'} ${err.code}` : err.message;
}

/** Settles once: a timeout after `us` (`onTimeout`, default a failure), an abort or the exchange itself. */
export function settleOnce(
  clock: Clock,
  us: number,
  signal: AbortSignal,
  cleanup: () => void,
  onTimeout: () => LbProbeResult = () => ({ ok: false, detail: `timed out after ${us / US_PER_MS} ms` }),
): { done: Promise<LbProbeResult>; finish(r: LbProbeResult): void } {
  let resolve!: (r: LbProbeResult) => void;
  const done = new Promise<LbProbeResult>((r) => {
    resolve = r;
  });
  let settled = false;
  const t = afterUs(clock, us, () => finish(onTimeout()), { weak: true });
  const onAbort = (): void => finish({ ok: false, detail: 'aborted' });
  signal.addEventListener('abort', onAbort, { once: true });
  function finish(r: LbProbeResult): void {
    if (settled) return;
    settled = true;
    clock.cancel(t);
    signal.removeEventListener('abort', onAbort);
    cleanup();
    resolve(r);
  }
  return { done, finish };
}

export function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
  clock: Clock,
  bindTo?: string,
  bindPort?: number,
): LbProbe {
  return (signal) => {
    const sock = net.connect({
      host,
      port,
      ...(bindTo ? { localAddress: bindTo } : {}),
      ...(bindPort ? { localPort: bindPort } : {}),
    });
    const o = settleOnce(clock, msToUs(timeoutMs), signal, () => sock.destroy());
    sock.once('connect', () => o.finish({ ok: true, detail: `connected to ${host}:${port}` }));
    sock.once('error', (e) => o.finish({ ok: false, detail: netError(e) }));
    return o.done;
  };
}

function statusOk(status: number, u: HttpUrl): boolean {
  return (u.statusCodes ?? [[200, 299]]).some(([lo, hi]) => status >= lo && status <= hi);
}

function fetchUrl(
  ch: HttpCheckConfig,
  host: string,
  port: number,
  u: HttpUrl,
  clock: Clock,
  signal: AbortSignal,
): Promise<LbProbeResult> {
  const tls = ch.kind === 'SSL_GET';
  const vhost = u.virtualhost ?? ch.virtualhost;
  const req = (tls ? https : http).request({
    host,
    port,
    path: u.path,
    method: 'GET',
    agent: false,
    headers: {
      host: vhost ?? (host.includes(':') ? `[${host}]` : host),
      'user-agent': 'floatd-lb-check',
      connection: 'close',
    },
    ...(ch.bindTo ? { localAddress: ch.bindTo } : {}),
    ...(tls
      ? { rejectUnauthorized: false, ...(ch.sni && (vhost ?? !net.isIP(host)) ? { servername: vhost ?? host } : {}) }
      : {}),
  });
  const o = settleOnce(clock, msToUs(ch.connectTimeoutMs), signal, () => req.destroy());
  req.on('error', (e) => o.finish({ ok: false, detail: netError(e) }));
  req.on('response', (res) => {
    const status = res.statusCode ?? 0;
    if (!statusOk(status, u)) {
      res.resume();
      o.finish({ ok: false, detail: `${u.path}: HTTP ${status}` });
      return;
    }
    if (!u.digest) {
      res.resume();
      res.on('end', () => o.finish({ ok: true, detail: `${u.path}: HTTP ${status}` }));
      return;
    }
    const md5 = createHash('md5');
    let n = 0;
    res.on('data', (b: Buffer) => {
      n += b.length;
      if (n <= BODY_LIMIT) md5.update(b);
    });
    res.on('end', () => {
      const got = md5.digest('hex');
      o.finish(
        got === u.digest
          ? { ok: true, detail: `${u.path}: HTTP ${status}, digest ok` }
          : { ok: false, detail: `${u.path}: digest ${got}, expected ${u.digest}` },
      );
    });
    res.on('error', (e) => o.finish({ ok: false, detail: netError(e) }));
  });
  req.end();
  return o.done;
}

/** Every url must pass (keepalived checks them in turn). */
function httpProbe(ch: HttpCheckConfig, t: Target, clock: Clock): LbProbe {
  const host = ch.connectIp ?? t.address;
  const port = ch.connectPort ?? t.port;
  return async (signal) => {
    let last: LbProbeResult = { ok: false, detail: 'no url' };
    for (const u of ch.urls) {
      last = await fetchUrl(ch, host, port, u, clock, signal);
      if (!last.ok) return last;
    }
    return last;
  };
}

/** MISC_CHECK: exit 0 up, 1 down; with misc_dynamic 2..255 up with weight status − 2. */
function miscProbe(ch: Extract<LvsCheckConfig, { kind: 'MISC_CHECK' }>, clock: Clock, runner: ScriptRunner): LbProbe {
  let ids: { uid?: number; gid?: number } = {};
  if (ch.user) {
    const r = resolveUser(ch.user);
    if (!r.ok) return () => Promise.resolve({ ok: false, detail: `user: ${r.error}` });
    ids = { uid: r.id.uid, gid: r.id.gid };
  }
  return async (signal) => {
    const r = await runner({ argv: ch.argv, timeoutUs: msToUs(ch.timeoutMs), clock, signal, ...ids });
    if (r.exitCode === undefined || r.notRun || r.timedOut) return { ok: false, detail: r.detail };
    if (r.exitCode === 0) return { ok: true, detail: r.detail };
    if (ch.dynamic && r.exitCode >= 2) return { ok: true, detail: r.detail, weight: r.exitCode - 2 };
    return { ok: false, detail: r.detail };
  };
}

export function probeFor(ch: ProbedCheck, t: Target, clock: Clock, runner: ScriptRunner = runScript): LbProbe {
  switch (ch.kind) {
    case 'TCP_CHECK':
      return tcpProbe(
        ch.connectIp ?? t.address,
        ch.connectPort ?? t.port,
        ch.connectTimeoutMs,
        clock,
        ch.bindTo,
        ch.bindPort,
      );
    case 'HTTP_GET':
    case 'SSL_GET':
      return httpProbe(ch, t, clock);
    case 'MISC_CHECK':
      return miscProbe(ch, clock, runner);
    case 'SMTP_CHECK':
      return smtpProbe(ch, t, clock);
    case 'UDP_CHECK':
      return udpProbe(ch, t, clock);
    case 'DNS_CHECK':
      return dnsProbe(ch, t, clock);
    case 'PING_CHECK':
      return pingProbe(ch, t, clock);
  }
}
