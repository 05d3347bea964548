/**
 * SMTP_CHECK, UDP_CHECK and DNS_CHECK inside a `real_server` (keepalived.conf(5), 2.2.7): the
 * keywords only these checkers take, and their configs. Shared timing and connect keywords are
 * read by lvs-check-block.ts.
 */
import { isIP } from 'node:net';
import type { Node } from './lexer.js';
import type { LvsCtx } from './lvs-check-block.js';
import type { DnsCheckConfig, SmtpCheckConfig, UdpCheckConfig } from './lvs-model.js';

export const EXTRA_CHECKS = ['SMTP_CHECK', 'UDP_CHECK', 'DNS_CHECK'];
const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'] as const;

export interface ExtraState {
  heloName?: string;
  hosts: { connectIp?: string; connectPort?: number; bindTo?: string }[];
  payload?: string;
  requireReply?: string | true;
  minReply?: number;
  maxReply?: number;
  dnsType?: DnsCheckConfig['type'];
  dnsName?: string;
}

/**
 * keepalived's free-format HEX_STR: words of hex digits, each read in pairs from the left with an
 * odd last digit as its own byte ("Ab12f 3 456" → ab 12 0f 03 45 06); `x` is a wildcard nibble
 * where `wild` allows it (require_reply). Returns two hex digits per byte, wildcards as "x".
 */
export function hexStr(words: string[], wild: boolean): string | undefined {
  let out = '';
  for (const w of words) {
    if (!(wild ? /^[0-9a-fA-FxX]+$/ : /^[0-9a-fA-F]+$/).test(w)) return undefined;
    const lw = w.toLowerCase();
    for (let i = 0; i < lw.length; i += 2) out += i + 1 < lw.length ? lw.slice(i, i + 2) : `0${lw[i]!}`;
  }
  return out;
}

const hex = (c: LvsCtx, n: Node, wild: boolean): string | undefined => {
  if (!n.args.length) {
    c.err(n.key, n.key.text, 'expected hex bytes', undefined, 'CONFIG_MISSING_VALUE');
    return undefined;
  }
  const h = hexStr(
    n.args.map((a) => a.text.replace(/^0x/i, '')),
    wild,
  );
  if (h === undefined)
    c.err(
      n.args[0]!,
      n.key.text,
      `expected hex digits${wild ? ' (x for any nibble)' : ''}, got "${n.args.map((a) => a.text).join(' ')}"`,
    );
  return h;
};

function host(c: LvsCtx, n: Node): ExtraState['hosts'][number] {
  const h: ExtraState['hosts'][number] = {};
  for (const e of n.children ?? []) {
    const k = e.key.text;
    if (k === 'connect_ip' || k === 'bindto') {
      const a = c.arg(e, 0, 'an IP address');
      if (a && !isIP(a.text)) c.err(a, k, `expected an IP address, got "${a.text}"`);
      else if (a) {
        if (k === 'connect_ip') h.connectIp = a.text;
        else h.bindTo = a.text;
      }
    } else if (k === 'connect_port') {
      const v = c.int(e, 1, 65535);
      if (v !== undefined) h.connectPort = v;
    } else c.warn(e.key, k, 'unknown keyword in host, ignored', undefined, 'CONFIG_UNKNOWN_KEYWORD');
  }
  return h;
}

/** A keyword of SMTP_CHECK / UDP_CHECK / DNS_CHECK; false when it is none of theirs. */
export function extraKeyword(c: LvsCtx, kind: string, e: Node, x: ExtraState): boolean {
  const k = e.key.text;
  if (kind === 'SMTP_CHECK' && k === 'helo_name') {
    x.heloName = c.arg(e, 0, 'a host name')?.text;
    return true;
  }
  if (kind === 'SMTP_CHECK' && k === 'host') {
    x.hosts.push(host(c, e));
    return true;
  }
  if (kind === 'UDP_CHECK' && k === 'payload') {
    x.payload = hex(c, e, false);
    return true;
  }
  if (kind === 'UDP_CHECK' && k === 'require_reply') {
    x.requireReply = e.args[0] ? (hex(c, e, true) ?? true) : true;
    return true;
  }
  if (kind === 'UDP_CHECK' && (k === 'min_reply_length' || k === 'max_reply_length')) {
    const v = c.int(e, 0, 65535);
    if (v !== undefined) {
      if (k === 'min_reply_length') x.minReply = v;
      else x.maxReply = v;
    }
    return true;
  }
  if (kind === 'DNS_CHECK' && k === 'type') {
    const a = c.arg(e, 0, DNS_TYPES.join('|'));
    if (a && (DNS_TYPES as readonly string[]).includes(a.text.toUpperCase()))
      x.dnsType = a.text.toUpperCase() as DnsCheckConfig['type'];
    else if (a) c.err(a, k, `expected ${DNS_TYPES.join('|')}, got "${a.text}"`);
    return true;
  }
  if (kind === 'DNS_CHECK' && k === 'name') {
    x.dnsName = c.arg(e, 0, 'a domain name')?.text;
    return true;
  }
  return false;
}

type Base = Omit<SmtpCheckConfig, 'kind' | 'retry' | 'heloName' | 'hosts'>;

export function extraCheck(
  kind: string,
  base: Base,
  x: ExtraState,
  retry: number | undefined,
  delayBeforeRetrySet: boolean,
): SmtpCheckConfig | UdpCheckConfig | DnsCheckConfig | undefined {
  if (kind === 'SMTP_CHECK')
    return { kind, ...base, retry: retry ?? 1, heloName: x.heloName ?? 'localhost', hosts: x.hosts };
  if (kind === 'UDP_CHECK') {
    return {
      kind,
      ...base,
      retry: retry ?? 1,
      ...(x.payload !== undefined ? { payload: x.payload } : {}),
      ...(x.requireReply !== undefined ? { requireReply: x.requireReply } : {}),
      ...(x.minReply !== undefined ? { minReplyLength: x.minReply } : {}),
      maxReplyLength: x.maxReply ?? 255,
    };
  }
  if (kind === 'DNS_CHECK') {
    // keepalived: retry 3 and delay_before_retry = delay_loop for DNS_CHECK.
    return {
      kind,
      ...base,
      retry: retry ?? 3,
      ...(delayBeforeRetrySet ? {} : { delayBeforeRetryMs: base.delayLoopMs }),
      type: x.dnsType ?? 'SOA',
      name: x.dnsName ?? '.',
    };
  }
  return undefined;
}
