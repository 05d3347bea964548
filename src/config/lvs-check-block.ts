/**
 * The health checkers inside a `real_server` block (keepalived.conf(5), 2.2.7): TCP_CHECK,
 * HTTP_GET, SSL_GET, MISC_CHECK and PING_CHECK here, SMTP/UDP/DNS_CHECK in lvs-check-extra.ts,
 * FILE_CHECK in lvs-check-file.ts. BFD_CHECK is a positioned error saying why (a server whose
 * check is dropped silently would look healthy).
 */
import type { DiagnosticCode } from './diagnostics.js';
import { isIP } from 'node:net';
import type { Node, Token } from './lexer.js';
import { splitCommand } from './lexer.js';
import type { HttpUrl, LvsCheckConfig } from './lvs-model.js';
import type { Pos, TrackFileConfig } from './model.js';
import { EXTRA_CHECKS, extraCheck, extraKeyword, type ExtraState } from './lvs-check-extra.js';
import { fileCheck } from './lvs-check-file.js';

export interface LvsCtx {
  at(t: Token): Pos;
  err(t: Token, keyword: string, message: string, hint?: string, code?: DiagnosticCode): void;
  warn(t: Token, keyword: string, message: string, hint?: string, code?: DiagnosticCode): void;
  arg(n: Node, i?: number, what?: string): Token | undefined;
  int(n: Node, min: number, max: number, i?: number): number | undefined;
  secs(n: Node, min: number, max: number, perSecond?: number): number | undefined;
}

/** Settings a virtual_server or real_server passes down to its checkers. */
export interface CheckDefaults {
  delayLoopMs: number;
  retry?: number;
  delayBeforeRetryMs?: number;
  warmupMs?: number;
  connectTimeoutMs: number;
  alpha: boolean;
  virtualhost?: string;
  /** The top-level track_file blocks, for FILE_CHECK. */
  trackFiles?: ReadonlyMap<string, TrackFileConfig>;
}

export const SUPPORTED_CHECKS = [
  'TCP_CHECK',
  'HTTP_GET',
  'SSL_GET',
  'MISC_CHECK',
  'PING_CHECK',
  'FILE_CHECK',
  ...EXTRA_CHECKS,
];
const NOT_YET_CHECKS = ['BFD_CHECK'];
export const ALL_CHECKS = [...SUPPORTED_CHECKS, ...NOT_YET_CHECKS];
const NOT_HONOURED = 'parsed but not honoured by floatd';

/** Common timing keywords; returns true when `e` was one of them. */
export function timing(c: LvsCtx, e: Node, d: CheckDefaults): boolean {
  switch (e.key.text) {
    case 'delay_loop': {
      const v = c.secs(e, 0.05, 86400);
      if (v !== undefined) d.delayLoopMs = v;
      return true;
    }
    case 'retry':
    case 'nb_get_retry': {
      if (e.key.text === 'nb_get_retry')
        c.warn(
          e.key,
          'nb_get_retry',
          'nb_get_retry is the old name of retry (read as retry)',
          'write retry',
          'CONFIG_ADJUSTED',
        );
      const v = c.int(e, 0, 1000);
      if (v !== undefined) d.retry = v;
      return true;
    }
    case 'delay_before_retry': {
      const v = c.secs(e, 0, 86400);
      if (v !== undefined) d.delayBeforeRetryMs = v;
      return true;
    }
    case 'warmup': {
      const v = c.secs(e, 0, 86400);
      if (v !== undefined) d.warmupMs = v;
      return true;
    }
    case 'connect_timeout': {
      const v = c.secs(e, 0.01, 3600);
      if (v !== undefined) d.connectTimeoutMs = v;
      return true;
    }
    case 'alpha':
      d.alpha = true;
      return true;
    default:
      return false;
  }
}

/** keepalived's status_code: `200`, `200-299`, several of either. */
function statusCodes(c: LvsCtx, e: Node): [number, number][] | undefined {
  const out: [number, number][] = [];
  for (const a of e.args) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(a.text);
    const lo = Number(m?.[1]);
    const hi = Number(m?.[2] ?? m?.[1]);
    if (!m || lo < 100 || hi > 599 || hi < lo) {
      c.err(a, 'status_code', `expected a status code or range 100-599, got "${a.text}"`);
      return undefined;
    }
    out.push([lo, hi]);
  }
  if (!out.length) {
    c.err(
      e.key,
      'status_code',
      'expected a status code or range, e.g. 200 or 200-299',
      undefined,
      'CONFIG_MISSING_VALUE',
    );
    return undefined;
  }
  return out;
}

function url(c: LvsCtx, n: Node): HttpUrl | undefined {
  const u: HttpUrl = { path: '' };
  for (const e of n.children ?? []) {
    const k = e.key.text;
    if (k === 'path') u.path = c.arg(e, 0, 'a URL path')?.text ?? '';
    else if (k === 'digest') {
      const a = c.arg(e, 0, 'an md5 digest');
      if (a && !/^[0-9a-fA-F]{32}$/.test(a.text))
        c.err(a, k, `expected 32 hex digits (md5 of the body), got "${a.text}"`);
      else if (a) u.digest = a.text.toLowerCase();
    } else if (k === 'status_code') {
      const s = statusCodes(c, e);
      if (s) u.statusCodes = s;
    } else if (k === 'virtualhost') u.virtualhost = c.arg(e, 0, 'a host name')?.text;
    else if (k.startsWith('regex'))
      c.err(
        e.key,
        k,
        'regex matching is not supported yet by floatd',
        'use digest or status_code',
        'CONFIG_UNSUPPORTED',
      );
    else c.warn(e.key, k, 'unknown keyword in url, ignored', undefined, 'CONFIG_UNKNOWN_KEYWORD');
  }
  if (!u.path) {
    c.err(n.key, 'url', 'url block without path', 'add: path /', 'CONFIG_MISSING_VALUE');
    return undefined;
  }
  if (!u.path.startsWith('/'))
    c.warn(n.key, 'path', `path "${u.path}" does not start with "/"`, undefined, 'CONFIG_BAD_VALUE');
  return u;
}

/** One checker block; undefined when it is refused (with the reason already reported). */
export function checkBlock(c: LvsCtx, n: Node, inherited: CheckDefaults): LvsCheckConfig | undefined {
  const kind = n.key.text;
  if (kind === 'BFD_CHECK') {
    c.err(
      n.key,
      kind,
      'BFD_CHECK is not supported by floatd: it follows a bfd_instance session, and floatd runs no BFD daemon',
      `use ${SUPPORTED_CHECKS.join(', ')}; a check that is dropped would leave the server looking healthy`,
      'CONFIG_UNSUPPORTED',
    );
    return undefined;
  }
  if (kind === 'FILE_CHECK') return fileCheck(c, n, inherited);
  const d: CheckDefaults = { ...inherited };
  const isHttp = kind === 'HTTP_GET' || kind === 'SSL_GET';
  const common: { connectIp?: string; connectPort?: number; bindTo?: string; bindPort?: number } = {};
  const urls: HttpUrl[] = [];
  let argv: string[] = [];
  let miscTimeoutMs: number | undefined;
  let dynamic = false;
  let user: string | undefined;
  let sni = false;
  let httpVersion: '1.0' | '1.1' = '1.0';
  let vhost = d.virtualhost;
  const x: ExtraState = { hosts: [] };
  for (const e of n.children ?? []) {
    const k = e.key.text;
    if (timing(c, e, d)) continue;
    switch (k) {
      case 'connect_ip':
      case 'bindto': {
        const a = c.arg(e, 0, 'an IP address');
        if (a && !isIP(a.text)) c.err(a, k, `expected an IP address, got "${a.text}"`);
        else if (a) {
          if (k === 'connect_ip') common.connectIp = a.text;
          else common.bindTo = a.text;
        }
        break;
      }
      case 'connect_port': {
        const v = c.int(e, 1, 65535);
        if (v !== undefined) common.connectPort = v;
        break;
      }
      case 'bind_port': {
        const v = c.int(e, 1, 65535);
        if (v !== undefined) common.bindPort = v;
        break;
      }
      case 'url':
        if (isHttp) {
          const u = url(c, e);
          if (u) urls.push(u);
        } else c.warn(e.key, k, `url belongs in HTTP_GET/SSL_GET, ignored in ${kind}`);
        break;
      case 'virtualhost':
        vhost = c.arg(e, 0, 'a host name')?.text;
        break;
      case 'enable_sni':
        sni = true;
        break;
      case 'http_protocol': {
        const a = c.arg(e, 0, '1.0, 1.0C or 1.1');
        if (a && ['1.0', '1.0C', '1.0K'].includes(a.text)) httpVersion = '1.0';
        else if (a && a.text === '1.1') httpVersion = '1.1';
        else if (a) c.err(a, k, `expected 1.0, 1.0C or 1.1, got "${a.text}"`);
        break;
      }
      case 'misc_path': {
        const a = c.arg(e, 0, 'a command line');
        if (a) argv = a.quoted ? splitCommand(a.text) : [a.text, ...e.args.slice(1).map((x) => x.text)];
        break;
      }
      case 'misc_timeout': {
        const v = c.secs(e, 0.01, 3600);
        if (v !== undefined) miscTimeoutMs = v;
        break;
      }
      case 'misc_dynamic':
        dynamic = true;
        break;
      case 'user':
        user = c.arg(e, 0, 'a user name')?.text;
        break;
      case 'bind_if':
      case 'fwmark':
      case 'log_all_failures':
      case 'fast_recovery':
      case 'tls_compliant':
      case 'smtp_alert':
        c.warn(e.key, k, NOT_HONOURED, undefined, 'CONFIG_NOT_HONOURED');
        break;
      default:
        if (!extraKeyword(c, kind, e, x))
          c.warn(e.key, k, `unknown keyword in ${kind}, ignored`, undefined, 'CONFIG_UNKNOWN_KEYWORD');
    }
  }
  const base = {
    ...common,
    connectTimeoutMs: d.connectTimeoutMs,
    delayLoopMs: d.delayLoopMs,
    delayBeforeRetryMs: d.delayBeforeRetryMs ?? (isHttp ? 3000 : 1000),
    warmupMs: d.warmupMs ?? 0,
    alpha: d.alpha,
    pos: c.at(n.key),
  };
  if (kind === 'TCP_CHECK' || kind === 'PING_CHECK') return { kind, ...base, retry: d.retry ?? 1 };
  if (isHttp) {
    if (!urls.length) {
      c.err(n.key, kind, `${kind} without a url block`, 'add: url { path / }', 'CONFIG_MISSING_VALUE');
      return undefined;
    }
    return { kind, ...base, retry: d.retry ?? 1, urls, sni, httpVersion, ...(vhost ? { virtualhost: vhost } : {}) };
  }
  const extra = extraCheck(kind, base, x, d.retry, d.delayBeforeRetryMs !== undefined);
  if (extra) return extra;
  if (kind === 'MISC_CHECK') {
    if (!argv.length) {
      c.err(n.key, kind, 'MISC_CHECK without misc_path', undefined, 'CONFIG_MISSING_VALUE');
      return undefined;
    }
    return {
      kind,
      ...base,
      retry: d.retry ?? 0,
      argv,
      timeoutMs: miscTimeoutMs ?? d.delayLoopMs,
      dynamic,
      ...(user ? { user } : {}),
    };
  }
  return undefined;
}
