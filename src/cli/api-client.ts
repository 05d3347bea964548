/**
 * The CLI's side of the local API: one HTTP request to the running daemon over its unix
 * socket or a URL. `floatd status` reads with it; the verbs (switchover, maintenance, reload)
 * post with the bearer token.
 */
import { request } from 'node:http';
import { API_DEFAULT_SOCKET } from '../config/api-block.js';
import { loadConfig } from '../config/index.js';
import { loadToken } from '../api/auth.js';
import { isErrorCode, withCode, type ErrorCode } from '../errors.js';

export type ApiTarget = { socket: string } | { url: string };

export class Unreachable extends Error {}

export interface ApiAnswer {
  status: number;
  body: string;
}

export function apiRequest(
  to: ApiTarget,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  o: { token?: string; timeoutMs?: number; body?: string } = {},
): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const base = 'url' in to ? new URL(to.url) : undefined;
    const rel = path.replace(/^\//, '');
    const target =
      'socket' in to
        ? { socketPath: to.socket, path }
        : {
            host: base!.hostname.replace(/^\[|\]$/g, ''),
            port: base!.port || 80,
            path:
              new URL(rel, base!.href.endsWith('/') ? base!.href : base!.href + '/').pathname +
              (rel.includes('?') ? rel.slice(rel.indexOf('?')) : ''),
          };
    const where = 'socket' in to ? to.socket : to.url;
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...(o.body !== undefined
        ? { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(o.body)) }
        : {}),
    };
    const req = request({ ...target, method, timeout: o.timeoutMs ?? 3000, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'ENOENT'
          ? 'no socket there'
          : e.code === 'ECONNREFUSED'
            ? 'connection refused'
            : e.code === 'EACCES'
              ? "permission denied: root or members of floatd_api's socket_group can connect"
              : (e.code ?? e.message);
      reject(new Unreachable(`floatd is not running or not reachable at ${where} (${why})`));
    });
    req.end(o.body);
  });
}

/** The `{ error: { code, message } }` of a non-2xx answer, when it has one with a known code. */
export function answerError(a: ApiAnswer): { code: ErrorCode; message: string } | undefined {
  try {
    const e = (JSON.parse(a.body) as { error?: { code?: unknown; message?: unknown } }).error;
    if (e && isErrorCode(e.code)) return { code: e.code, message: typeof e.message === 'string' ? e.message : '' };
  } catch {
    /* not JSON */
  }
  return undefined;
}

/** `E_CODE: message` for a non-2xx answer (`HTTP 502` when it carries no code). */
export function describeAnswer(a: ApiAnswer): string {
  const e = answerError(a);
  return e ? withCode(e.code, e.message) : `HTTP ${a.status || '?'}`;
}

export interface TargetOptions {
  socket?: string;
  url?: string;
  file?: string;
}

/** --url, --socket, the config's floatd_api block (-f), $FLOATD_SOCKET, the default socket. */
export async function apiTarget(o: TargetOptions): Promise<ApiTarget> {
  if (o.url) return { url: o.url };
  if (o.socket) return { socket: o.socket };
  if (o.file) {
    const r = await loadConfig(o.file);
    const api = r.config?.api;
    if (api?.socket) return { socket: api.socket };
    const l = api?.listen[0];
    if (l) return { url: `http://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}/` };
  }
  return { socket: process.env.FLOATD_SOCKET || API_DEFAULT_SOCKET };
}

/** The action token: --token-file, $FLOATD_API_TOKEN, else what the config's floatd_api names. */
export async function apiToken(
  o: { tokenFile?: string; file?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (o.tokenFile) return loadToken({ tokenFile: o.tokenFile }).token;
  if (env.FLOATD_API_TOKEN) return env.FLOATD_API_TOKEN.trim();
  if (!o.file) return undefined;
  const api = (await loadConfig(o.file)).config?.api;
  if (!api?.tokenFile && !api?.tokenEnv) return undefined;
  return loadToken(api, env).token;
}
