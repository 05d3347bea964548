/**
 * The `floatd_api { … }` block (floatd extension; docs/observability.md): where the local API
 * listens, where the action token comes from, whether the dashboard is served. Without the
 * block the API runs with the defaults: the unix socket and 127.0.0.1:9610, read-only.
 */
import { isIP } from 'node:net';
import type { Node, Token } from './lexer.js';
import type { ApiConfig, Pos } from './model.js';
import { distance } from './distance.js';

export const API_DEFAULT_SOCKET = '/run/floatd/floatd.sock';
export const API_DEFAULT_LISTEN = { host: '127.0.0.1', port: 9610 } as const;

interface BlockCtx {
  at(t: Token): Pos;
  err(t: Token, keyword: string, message: string, hint?: string): void;
  warn(t: Token, keyword: string, message: string, hint?: string): void;
  info(t: Token, keyword: string, message: string): void;
  arg(n: Node, i?: number, what?: string): Token | undefined;
}

const KNOWN = ['listen', 'socket', 'socket_group', 'max_connections', 'token_file', 'token_env', 'dashboard', 'off'];

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

export function apiBlock(c: BlockCtx, n: Node): ApiConfig {
  const api = defaultApiConfig();
  api.pos = c.at(n.key);
  let listens: { host: string; port: number }[] | undefined;
  for (const e of n.children ?? []) {
    const k = e.key.text;
    switch (k) {
      case 'off': api.enabled = false; break;
      case 'listen': {
        const a = c.arg(e, 0, 'HOST:PORT');
        if (!a) break;
        if (a.text === 'off' || a.text === 'none') { listens = []; break; }
        const l = parseListen(a.text);
        if (typeof l === 'string') { c.err(a, k, l); break; }
        (listens ??= []).push(l);
        if (!isLoopback(l.host)) c.info(a, k, `the API listens off-host on ${a.text}: anyone who reaches it can read the status (actions still need the token)`);
        break;
      }
      case 'socket': {
        const a = c.arg(e, 0, 'a socket path or off');
        if (!a) break;
        if (a.text === 'off' || a.text === 'none') delete api.socket;
        else if (!a.text.startsWith('/')) c.err(a, k, `expected an absolute path, got "${a.text}"`);
        else api.socket = a.text;
        break;
      }
      case 'socket_group': {
        const a = c.arg(e, 0, 'a group name or gid');
        if (!a) break;
        if (!/^(?:\d+|[a-z_][a-z0-9_-]*\$?)$/i.test(a.text)) c.err(a, k, `"${a.text}" is not a group name or gid`);
        else api.socketGroup = a.text;
        break;
      }
      case 'max_connections': {
        const a = c.arg(e, 0, 'a number of connections');
        if (!a) break;
        const n = /^\d+$/.test(a.text) ? Number(a.text) : NaN;
        if (!(n >= 4 && n <= 4096)) c.err(a, k, `expected 4..4096, got "${a.text}"`);
        else api.maxConnections = n;
        break;
      }
      case 'token_file': { const a = c.arg(e, 0, 'a file path'); if (a) api.tokenFile = a.text; break; }
      case 'token_env': { const a = c.arg(e, 0, 'an environment variable name'); if (a) api.tokenEnv = a.text; break; }
      case 'token': c.err(e.key, k, 'an API token never goes in the configuration', 'put it in a file (token_file PATH, mode 0600) or the environment (token_env VAR)'); break;
      case 'dashboard': {
        const v = c.arg(e, 0, 'on or off')?.text;
        if (v === 'on' || v === 'off') api.dashboard = v === 'on';
        else if (v !== undefined) c.err(e.args[0]!, k, `expected on or off, got "${v}"`);
        break;
      }
      default: {
        const near = KNOWN.find((x) => distance(x, k) <= 2);
        c.warn(e.key, k, 'unknown keyword in floatd_api, ignored', near ? `did you mean '${near}'?` : undefined);
      }
    }
  }
  if (listens) api.listen = listens;
  if (api.tokenFile && api.tokenEnv) c.err(n.key, 'floatd_api', 'token_file and token_env both given; use one');
  return api;
}
