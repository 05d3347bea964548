/**
 * `notify_webhook NAME { … }` (floatd extension; docs/tracking.md): every state change is
 * POSTed as JSON to `url`, retried with backoff. Secrets (an Authorization header value, the
 * HMAC key) come from files, never from the config text.
 */
import type { Ctx } from './ctx.js';
import type { Node, Token } from './lexer.js';
import type { WebhookDef } from './model.js';
import { readBlock, type Keyword, type Schema } from './schema.js';

type K = Keyword<WebhookDef>;

/** A keyword with one value: `read` gets it, or "expected a value" is reported. */
const one = (read: (c: Ctx, a: Token, w: WebhookDef, e: Node) => void): K => ({
  status: 'floatd',
  read: (c, e, w) => {
    const a = c.arg(e, 0, `a value for ${e.key.text}`);
    if (a) read(c, a, w, e);
  },
});
const secs = (min: number, max: number, put: (w: WebhookDef, ms: number) => void): K =>
  one((c, a, w, e) => {
    const v = c.secsTok(a, e.key.text, min, max);
    if (v !== undefined) put(w, v);
  });

export const WEBHOOK_SCHEMA: Schema<WebhookDef> = {
  url: one((c, a, w) => {
    if (!/^https?:\/\/\S+$/.test(a.text)) c.err(a, 'url', `expected an http(s) URL, got "${a.text}"`);
    w.url = a.text;
  }),
  header: one((c, a, w) => {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(a.text);
    if (!m) {
      c.err(a, 'header', `expected "Name: value", got "${a.text}"`, 'quote it: header "X-Team: ops"');
      return;
    }
    if (/^authorization$/i.test(m[1]!)) {
      c.err(
        a,
        'header',
        'a credential never goes in the configuration',
        'use authorization_file PATH (its content is the header value)',
        'CONFIG_SECRET',
      );
      return;
    }
    w.headers[m[1]!] = m[2]!;
  }),
  authorization_file: one((_c, a, w) => {
    w.authorizationFile = a.text;
  }),
  secret_file: one((_c, a, w) => {
    w.secretFile = a.text;
  }),
  timeout: secs(0.1, 300, (w, v) => {
    w.timeoutMs = v;
  }),
  backoff: secs(0.01, 60, (w, v) => {
    w.backoffMs = v;
  }),
  backoff_max: secs(0.1, 600, (w, v) => {
    w.maxBackoffMs = v;
  }),
  retries: one((c, a, w) => {
    const v = c.intTok(a, 'retries', 0, 20);
    if (v !== undefined) w.retries = v;
  }),
  tls_verify: one((c, a, w) => {
    if (!['on', 'off', 'true', 'false', 'yes', 'no'].includes(a.text))
      c.err(a, 'tls_verify', `expected on or off, got "${a.text}"`);
    else w.tlsVerify = ['on', 'true', 'yes'].includes(a.text);
  }),
  instances: {
    status: 'floatd',
    shape: 'any',
    read: (_c, e, w) => {
      w.instances = (e.children ?? []).map((x) => x.key.text).concat(e.args.map((a) => a.text));
    },
  },
};

export function webhookBlock(c: Ctx, n: Node): WebhookDef | undefined {
  const name = c.arg(n, 0, 'a webhook name');
  if (!name) return undefined;
  const w: WebhookDef = { name: name.text, url: '', headers: {}, pos: c.at(n.key) };
  readBlock(c, 'notify_webhook', n, WEBHOOK_SCHEMA, w);
  if (!w.url)
    c.err(
      n.key,
      'notify_webhook',
      `notify_webhook ${w.name} has no url`,
      'add: url https://hooks.example/floatd',
      'CONFIG_MISSING_VALUE',
    );
  return w;
}
