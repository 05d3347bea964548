/**
 * `notify_webhook NAME { … }` (floatd extension; docs/tracking.md): every state change is
 * POSTed as JSON to `url`, retried with backoff. Secrets (an Authorization header value, the
 * HMAC key) come from files, never from the config text.
 */
import type { Node, Token } from './lexer.js';
import type { Pos, WebhookDef } from './model.js';
import { distance } from './distance.js';

interface BlockCtx {
  at(t: Token): Pos;
  err(t: Token, keyword: string, message: string, hint?: string): void;
  warn(t: Token, keyword: string, message: string, hint?: string): void;
  arg(n: Node, i?: number, what?: string): Token | undefined;
}

const KNOWN = ['url', 'header', 'authorization_file', 'secret_file', 'timeout', 'retries', 'backoff', 'backoff_max', 'tls_verify', 'instances'];

export function webhookBlock(c: BlockCtx, n: Node): WebhookDef | undefined {
  const name = c.arg(n, 0, 'a webhook name');
  if (!name) return undefined;
  const w: WebhookDef = { name: name.text, url: '', headers: {}, pos: c.at(n.key) };
  const secs = (e: Node, a: Token, min: number, max: number): number | undefined => {
    const v = Number(a.text);
    if (!/^\d+(\.\d+)?$/.test(a.text) || v < min || v > max) { c.err(a, e.key.text, `expected seconds ${min}..${max}, got "${a.text}"`); return undefined; }
    return Math.round(v * 1000);
  };
  for (const e of n.children ?? []) {
    const k = e.key.text;
    if (k === 'instances') { w.instances = (e.children ?? []).map((x) => x.key.text).concat(e.args.map((a) => a.text)); continue; }
    const a = c.arg(e, 0, `a value for ${k}`);
    if (!a) continue;
    switch (k) {
      case 'url':
        if (!/^https?:\/\/\S+$/.test(a.text)) c.err(a, k, `expected an http(s) URL, got "${a.text}"`);
        w.url = a.text;
        break;
      case 'header': {
        const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(a.text);
        if (!m) { c.err(a, k, `expected "Name: value", got "${a.text}"`, 'quote it: header "X-Team: ops"'); break; }
        if (/^authorization$/i.test(m[1]!)) { c.err(a, k, 'a credential never goes in the configuration', 'use authorization_file PATH (its content is the header value)'); break; }
        w.headers[m[1]!] = m[2]!;
        break;
      }
      case 'authorization_file': w.authorizationFile = a.text; break;
      case 'secret_file': w.secretFile = a.text; break;
      case 'timeout': { const v = secs(e, a, 0.1, 300); if (v !== undefined) w.timeoutMs = v; break; }
      case 'backoff': { const v = secs(e, a, 0.01, 60); if (v !== undefined) w.backoffMs = v; break; }
      case 'backoff_max': { const v = secs(e, a, 0.1, 600); if (v !== undefined) w.maxBackoffMs = v; break; }
      case 'retries': {
        const v = Number(a.text);
        if (!/^\d+$/.test(a.text) || v > 20) c.err(a, k, `expected an integer 0..20, got "${a.text}"`); else w.retries = v;
        break;
      }
      case 'tls_verify':
        if (!['on', 'off', 'true', 'false', 'yes', 'no'].includes(a.text)) c.err(a, k, `expected on or off, got "${a.text}"`);
        else w.tlsVerify = ['on', 'true', 'yes'].includes(a.text);
        break;
      default: {
        const near = KNOWN.find((x) => distance(x, k) <= 2);
        c.warn(e.key, k, 'unknown keyword in notify_webhook, ignored', near ? `did you mean '${near}'?` : undefined);
      }
    }
  }
  if (!w.url) c.err(n.key, 'notify_webhook', `notify_webhook ${w.name} has no url`, 'add: url https://hooks.example/floatd');
  return w;
}
