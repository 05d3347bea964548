/** `vrrp_script NAME { … }`: a check run every interval (a command, or floatd's native HTTP/TCP checks). */
import type { Ctx } from './ctx.js';
import type { Node, Token } from './lexer.js';
import { splitCommand } from './lexer.js';
import type { VrrpScript } from './model.js';
import { readBlock, type Schema } from './schema.js';

interface ScriptTarget {
  s: VrrpScript;
  kinds: Token[];
}

export const SCRIPT_SCHEMA: Schema<ScriptTarget> = {
  script: {
    read: (c, e, { s, kinds }) => {
      const a = c.arg(e, 0, 'a command');
      if (a) {
        s.argv = a.quoted ? splitCommand(a.text) : [a.text];
        kinds.push(e.key);
      }
    },
  },
  interval: {
    read: (c, e, { s }) => {
      const v = c.secs(e, 0.01, 86400);
      if (v !== undefined) s.intervalMs = v;
    },
  },
  timeout: {
    read: (c, e, { s }) => {
      const v = c.secs(e, 0.01, 86400);
      if (v !== undefined) s.timeoutMs = v;
    },
  },
  weight: {
    read: (c, e, { s }) => {
      const v = c.weightTok(e.args[0], e.key, 'weight', 'script');
      if (v !== undefined) s.weight = v;
      const r = e.args[1];
      if (r?.text === 'reverse') s.reverse = true;
      else if (r && r.text !== 'noreverse' && r.text !== 'no_reverse')
        c.warn(r, 'weight', `unexpected "${r.text}"`, 'expected weight N [reverse]');
    },
  },
  rise: {
    read: (c, e, { s }) => {
      const v = c.int(e, 1, 1000);
      if (v) s.rise = v;
    },
  },
  fall: {
    read: (c, e, { s }) => {
      const v = c.int(e, 1, 1000);
      if (v) s.fall = v;
    },
  },
  user: {
    read: (c, e, { s }) => {
      s.user = c.arg(e)?.text;
      if (e.args[1]) s.group = e.args[1].text;
    },
  },
  init_fail: {
    read: (_c, _e, { s }) => {
      s.initFail = true;
    },
  },
  http_get: {
    status: 'floatd',
    read: (c, e, { s, kinds }) => {
      const a = c.arg(e, 0, 'a URL');
      if (!a) return;
      let url: URL | undefined;
      try {
        url = new URL(a.text);
      } catch {
        /* reported below */
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        c.err(a, 'http_get', `expected an http:// or https:// URL, got "${a.text}"`);
        return;
      }
      s.kind = 'http';
      s.url = a.text;
      kinds.push(e.key);
    },
  },
  tcp_connect: {
    status: 'floatd',
    read: (c, e, { s, kinds }) => {
      const a = c.arg(e, 0, 'HOST:PORT');
      const m = a && /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(a.text);
      if (a && (!m || Number(m[3]) < 1 || Number(m[3]) > 65535)) {
        c.err(a, 'tcp_connect', `expected HOST:PORT (IPv6 in brackets), got "${a.text}"`);
        return;
      }
      if (m) {
        s.kind = 'tcp';
        s.host = m[1] ?? m[2];
        s.port = Number(m[3]);
        kinds.push(e.key);
      }
    },
  },
  expect_status: {
    status: 'floatd',
    read: (c, e, { s }) => {
      const ranges: [number, number][] = [];
      for (const a of e.args) {
        const m = /^(\d{3})(?:-(\d{3}))?$/.exec(a.text);
        if (!m || Number(m[1]) > Number(m[2] ?? m[1])) {
          c.err(a, 'expect_status', `expected a status or range like 200 or 200-299, got "${a.text}"`);
          continue;
        }
        ranges.push([Number(m[1]), Number(m[2] ?? m[1])]);
      }
      if (!e.args.length)
        c.err(
          e.key,
          'expect_status',
          'expected statuses or ranges like 200 or 200-299',
          undefined,
          'CONFIG_MISSING_VALUE',
        );
      s.expectStatus = ranges;
    },
  },
  expect_body: {
    status: 'floatd',
    read: (c, e, { s }) => {
      s.expectBody = c.arg(e, 0, 'a text the body must contain')?.text;
    },
  },
  tls_verify: {
    status: 'floatd',
    read: (c, e, { s }) => {
      const v = c.bool(e);
      if (v !== undefined) s.tlsVerify = v;
    },
  },
  http_host: {
    status: 'floatd',
    read: (c, e, { s }) => {
      s.host = c.arg(e, 0, 'a host name')?.text;
    },
  },
};

export function readScript(c: Ctx, n: Node, name: string): VrrpScript {
  const s: VrrpScript = {
    name,
    kind: 'script',
    intervalMs: 1000,
    timeoutMs: 0,
    weight: 0,
    reverse: false,
    rise: 1,
    fall: 1,
    initFail: false,
    pos: c.at(n.key),
  };
  const kinds: Token[] = [];
  readBlock(c, 'vrrp_script', n, SCRIPT_SCHEMA, { s, kinds });
  if (kinds.length === 0)
    c.err(
      n.key,
      'vrrp_script',
      `vrrp_script ${name} has nothing to run`,
      'add script "CMD", http_get URL or tcp_connect HOST:PORT',
      'CONFIG_MISSING_VALUE',
    );
  if (kinds.length > 1)
    c.err(
      kinds[1]!,
      kinds[1]!.text,
      `vrrp_script ${name} has more than one of script/http_get/tcp_connect`,
      undefined,
      'CONFIG_CONFLICT',
    );
  if (s.timeoutMs === 0) s.timeoutMs = s.intervalMs;
  return s;
}
