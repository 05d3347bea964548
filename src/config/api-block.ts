/**
 * The `floatd_api { … }` block (floatd extension; docs/observability.md): where the local API
 * listens, where the action token comes from, whether the dashboard is served. Without the
 * block the API runs with the defaults: the unix socket and 127.0.0.1:9610, read-only.
 */
import { isIP } from 'node:net';
import type { Ctx } from './ctx.js';
import type { Node } from './lexer.js';
import type { ApiConfig } from './model.js';
import { readBlock, type Schema } from './schema.js';

export const API_DEFAULT_SOCKET = '/run/floatd/floatd.sock';
export const API_DEFAULT_LISTEN = { host: '127.0.0.1', port: 9610 } as const;

/** The configuration the daemon uses when the file has no floatd_api block. */
export function defaultApiConfig(): ApiConfig {
  return { enabled: true, listen: [{ ...API_DEFAULT_LISTEN }], socket: API_DEFAULT_SOCKET, dashboard: true };
}

/** `HOST:PORT`, `[V6]:PORT` or a bare port (loopback). */
export function parseListen(text: string): { host: string; port: number } | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (!m) return 'expected HOST:PORT, [IPv6]:PORT or PORT';
  const host = m[1] || m[2] || API_DEFAULT_LISTEN.host;
  const port = Number(m[3]);
  if (!isIP(host)) return `"${host}" is not an IP address (the API listens on addresses, not names)`;
  if (port < 1 || port > 65535) return `port ${port} is out of range 1..65535`;
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

interface ApiTarget {
  api: ApiConfig;
  listens?: { host: string; port: number }[];
}

export const API_SCHEMA: Schema<ApiTarget> = {
  off: {
    status: 'floatd',
    read: (_c, _e, t) => {
      t.api.enabled = false;
    },
  },
  listen: {
    status: 'floatd',
    read: (c, e, t) => {
      const a = c.arg(e, 0, 'HOST:PORT');
      if (!a) return;
      if (a.text === 'off' || a.text === 'none') {
        t.listens = [];
        return;
      }
      const l = parseListen(a.text);
      if (typeof l === 'string') {
        c.err(a, 'listen', l);
        return;
      }
      (t.listens ??= []).push(l);
      if (!isLoopback(l.host))
        c.info(
          a,
          'listen',
          `the API listens off-host on ${a.text}: every request but /healthz and the dashboard page needs the ` +
            'bearer token there, reads included',
        );
    },
  },
  socket: {
    status: 'floatd',
    read: (c, e, { api }) => {
      const a = c.arg(e, 0, 'a socket path or off');
      if (!a) return;
      if (a.text === 'off' || a.text === 'none') delete api.socket;
      else if (!a.text.startsWith('/')) c.err(a, 'socket', `expected an absolute path, got "${a.text}"`);
      else api.socket = a.text;
    },
  },
  socket_group: {
    status: 'floatd',
    read: (c, e, { api }) => {
      const a = c.arg(e, 0, 'a group name or gid');
      if (!a) return;
      if (!/^(?:\d+|[a-z_][a-z0-9_-]*\$?)$/i.test(a.text))
        c.err(a, 'socket_group', `"${a.text}" is not a group name or gid`);
      else api.socketGroup = a.text;
    },
  },
  max_connections: {
    status: 'floatd',
    read: (c, e, { api }) => {
      const a = c.arg(e, 0, 'a number of connections');
      if (!a) return;
      const v = c.intTok(a, 'max_connections', 4, 4096);
      if (v !== undefined) api.maxConnections = v;
    },
  },
  token_file: {
    status: 'floatd',
    read: (c, e, { api }) => {
      const a = c.arg(e, 0, 'a file path');
      if (a) api.tokenFile = a.text;
    },
  },
  token_env: {
    status: 'floatd',
    read: (c, e, { api }) => {
      const a = c.arg(e, 0, 'an environment variable name');
      if (a) api.tokenEnv = a.text;
    },
  },
  token: {
    status: 'floatd',
    shape: 'any',
    read: (c, e) =>
      c.err(
        e.key,
        'token',
        'an API token never goes in the configuration',
        'put it in a file (token_file PATH, mode 0600) or the environment (token_env VAR)',
        'CONFIG_SECRET',
      ),
  },
  dashboard: {
    status: 'floatd',
    read: (c, e, { api }) => {
      const v = c.arg(e, 0, 'on or off')?.text;
      if (v === 'on' || v === 'off') api.dashboard = v === 'on';
      else if (v !== undefined) c.err(e.args[0]!, 'dashboard', `expected on or off, got "${v}"`);
    },
  },
};

export function apiBlock(c: Ctx, n: Node): ApiConfig {
  const t: ApiTarget = { api: defaultApiConfig() };
  t.api.pos = c.at(n.key);
  readBlock(c, 'floatd_api', n, API_SCHEMA, t);
  if (t.listens) t.api.listen = t.listens;
  if (t.api.tokenFile && t.api.tokenEnv)
    c.err(n.key, 'floatd_api', 'token_file and token_env both given; use one', undefined, 'CONFIG_CONFLICT');
  return t.api;
}
