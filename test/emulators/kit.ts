/**
 * What every cloud emulator shares: an in-process node:http API server (Bearer check, fault
 * injection from `Faults`, a sliding-window rate limiter with the provider's headers, JSON
 * routing, a request log), one metadata server per emulated instance, and the control
 * endpoints under /_emulator/ that a test in another process drives. Each provider file adds
 * only its paths, JSON shapes and error bodies.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Faults, applyTransportFault, readBody, type Fault } from './faults.js';

export interface Reply {
  status: number;
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

export interface EmuRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body (undefined when empty). */
  body: unknown;
  /** Capture groups of the route's pattern. */
  params: string[];
}

export interface Route {
  method: string;
  pattern: RegExp;
  handle: (r: EmuRequest) => Reply | Promise<Reply>;
}

/** Thrown by a handler: the kit answers with the provider's error body. */
export class EmuError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface Style {
  /** The provider's error body for a status (code defaults per provider). */
  error(status: number, message: string, code?: string): unknown;
  /** Rate-limit header names: DO 'ratelimit-', Hetzner 'RateLimit-', Linode 'X-RateLimit-'; none for Vultr. */
  rateLimitPrefix?: string;
  /**
   * Whether a 429 from the rate limiter carries Retry-After (DO, Linode do; Hetzner documents only
   * RateLimit-Reset).
   */
  retryAfterOn429?: boolean;
  /** Default message per status when a fault or the kit answers. */
  messages?: Partial<Record<number, string>>;
}

export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** Sliding window: each request holds a slot for windowMs (DO's per-request one-hour timers). */
class RateWindow {
  private stamps: number[] = [];
  constructor(readonly cfg: RateLimit) {}
  take(now: number): { ok: boolean; remaining: number; resetS: number; retryAfterS: number } {
    this.stamps = this.stamps.filter((t) => t > now - this.cfg.windowMs);
    const ok = this.stamps.length < this.cfg.limit;
    if (ok) this.stamps.push(now);
    const oldest = this.stamps[0] ?? now;
    const resetMs = oldest + this.cfg.windowMs;
    return {
      ok,
      remaining: Math.max(0, this.cfg.limit - this.stamps.length),
      resetS: Math.ceil(resetMs / 1000),
      retryAfterS: Math.max(1, Math.ceil((resetMs - now) / 1000)),
    };
  }
}

export interface EmulatorSnapshot {
  provider: string;
  /** Holder per address (instance id, or null). */
  holders: Record<string, string | null>;
  /** API requests answered (control requests not counted). */
  requests: number;
  metadataRequests: number;
  /** The last 200 API requests. */
  log: { method: string; path: string; status: number | 'hang'; at: number }[];
}

/** What tests and serve.ts use, whatever the provider. */
export interface EmulatorHandle {
  provider: string;
  apiUrl: string;
  /** The metadata base URL for one instance (the driver's metadata_url). */
  metadataUrl(instance: string | number): string;
  holder(address: string): string | null;
  /** Moves the address at once, behind the driver's back (drift). null unassigns. */
  setHolder(address: string, instance: string | number | null): void;
  faults: Faults;
  /** Faults for the metadata servers (all instances share one queue). */
  metadataFaults: Faults;
  /** Replaces the API rate limit (and forgets the requests counted so far). */
  setRateLimit(r: RateLimit): void;
  snapshot(): EmulatorSnapshot;
  close(): Promise<void>;
}

export interface ListenOptions {
  host?: string;
  port?: number;
}

export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  o: ListenOptions = {},
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return { server, url: `http://${host}:${a.port}` };
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export function send(res: ServerResponse, r: Reply): void {
  const headers: Record<string, string> = { ...r.headers };
  let payload = '';
  if (r.body !== undefined) {
    payload = JSON.stringify(r.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  } else if (r.text !== undefined) {
    payload = r.text;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  }
  res.writeHead(r.status, headers);
  res.end(payload);
}

/** A JSON fault from the control endpoint: `match` arrives as a string. */
export function faultFromJson(j: Record<string, unknown>): Fault {
  const f = { ...j } as Record<string, unknown>;
  if (typeof f.match === 'string') f.match = new RegExp(f.match);
  const kinds = ['status', 'hang', 'slow', 'action_error'];
  if (!kinds.includes(String(f.kind))) throw new EmuError(400, `fault kind must be one of ${kinds.join(', ')}`);
  return f as unknown as Fault;
}

export interface ApiServerOptions extends ListenOptions {
  provider: string;
  token: string;
  style: Style;
  routes: Route[];
  faults: Faults;
  rateLimit: RateLimit;
  /** A second, shorter limit whose 429 always carries Retry-After (DO: 250/min beside 5,000/h). */
  burstLimit?: RateLimit;
  /** The handle, for the control endpoints (set after construction). */
  control: () => EmulatorHandle;
}

export interface ApiServer {
  url: string;
  server: Server;
  setRateLimit(r: RateLimit): void;
}

/** The provider API: faults, then auth, then the rate limit, then the route. */
export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  let limiter = new RateWindow(o.rateLimit);
  const burst = o.burstLimit ? new RateWindow(o.burstLimit) : undefined;
  const errorReply = (status: number, message?: string, code?: string, headers?: Record<string, string>): Reply => ({
    status,
    body: o.style.error(status, message ?? o.style.messages?.[status] ?? `error ${status}`, code),
    ...(headers ? { headers } : {}),
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const raw = await readBody(req);
    if (path.startsWith('/_emulator/')) {
      send(res, await controlRequest(o.control(), method, path, raw));
      return;
    }

    const fault = o.faults.take(method, path, ['status', 'hang', 'slow']);
    if (await applyTransportFault(fault, req, res)) {
      o.faults.log.push({ method, path, status: 'hang', at: Date.now() });
      return;
    }
    const reply = await answer(fault, req, method, path, url.searchParams, raw);
    o.faults.log.push({ method, path, status: reply.status, at: Date.now() });
    send(res, reply);
  };

  const answer = async (
    fault: Fault | undefined,
    req: IncomingMessage,
    method: string,
    path: string,
    query: URLSearchParams,
    raw: string,
  ): Promise<Reply> => {
    const rl = limiter.take(Date.now());
    const p = o.style.rateLimitPrefix;
    const rlHeaders: Record<string, string> = p
      ? {
          [`${p}limit`]: String(limiter.cfg.limit),
          [`${p}remaining`]: String(rl.remaining),
          [`${p}reset`]: String(rl.resetS),
        }
      : {};
    if (fault?.kind === 'status') {
      const extra = fault.status === 429 ? { ...rlHeaders, 'retry-after': String(fault.retryAfterS ?? 1) } : rlHeaders;
      return errorReply(fault.status, undefined, undefined, extra);
    }
    if (req.headers.authorization !== `Bearer ${o.token}`) return errorReply(401, undefined, undefined, rlHeaders);
    const b = burst?.take(Date.now());
    if (b && !b.ok)
      return errorReply(429, undefined, undefined, { ...rlHeaders, 'retry-after': String(b.retryAfterS) });
    if (!rl.ok)
      return errorReply(
        429,
        undefined,
        undefined,
        o.style.retryAfterOn429 === false ? rlHeaders : { ...rlHeaders, 'retry-after': String(rl.retryAfterS) },
      );
    const reply = await route(method, path, query, req, raw);
    return { ...reply, headers: { ...rlHeaders, ...reply.headers } };
  };

  const route = async (
    method: string,
    path: string,
    query: URLSearchParams,
    req: IncomingMessage,
    raw: string,
  ): Promise<Reply> => {
    let body: unknown;
    if (raw.trim() !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        return errorReply(400, 'the request body is not valid JSON');
      }
    }
    for (const r of o.routes) {
      const m = r.pattern.exec(path);
      if (!m || r.method !== method) continue;
      try {
        return await r.handle({
          method,
          path,
          query,
          headers: req.headers,
          body,
          params: m.slice(1).map((x) => decodeURIComponent(x ?? '')),
        });
      } catch (e) {
        if (e instanceof EmuError) return errorReply(e.status, e.message, e.code);
        throw e;
      }
    }
    return errorReply(404);
  };

  const { server, url } = await listen((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, { status: 500, text: String(e) });
    });
  }, o);
  return {
    url,
    server,
    setRateLimit: (r) => {
      limiter = new RateWindow(r);
    },
  };
}

/** The /_emulator/ control endpoints, for emulators that run their own API server (AWS). */
export async function controlRequest(h: EmulatorHandle, method: string, path: string, raw: string): Promise<Reply> {
  try {
    const j = (raw.trim() ? JSON.parse(raw) : {}) as Record<string, unknown>;
    const key = `${method} ${path}`;
    if (key === 'GET /_emulator/state') return { status: 200, body: h.snapshot() };
    if (key === 'POST /_emulator/faults') {
      (j.target === 'metadata' ? h.metadataFaults : h.faults).add(faultFromJson(j));
      return { status: 204 };
    }
    if (key === 'DELETE /_emulator/faults') {
      h.faults.clear();
      h.metadataFaults.clear();
      return { status: 204 };
    }
    if (key === 'POST /_emulator/holder') {
      const inst = j.instance;
      h.setHolder(String(j.address), inst === null || inst === undefined ? null : String(inst as string | number));
      return { status: 204 };
    }
    if (key === 'POST /_emulator/rate-limit') {
      h.setRateLimit({ limit: Number(j.limit), windowMs: Number(j.windowMs) });
      return { status: 204 };
    }
    return { status: 404, body: { error: `no control endpoint ${key}` } };
  } catch (e) {
    return { status: 400, body: { error: e instanceof Error ? e.message : String(e) } };
  }
}

/** A metadata tree: a string is a leaf; an object is a directory (listed with trailing '/'). */
export type MetaTree = { [name: string]: MetaTree | string | undefined };

/**
 * Serves a metadata tree the way DO and Vultr do: leaves as text, directories as a listing
 * (entries that are directories end with '/'), a directory without its trailing '/' → 301.
 */
export function serveTree(tree: MetaTree, path: string): Reply {
  const parts = path.split('/').filter((x) => x !== '');
  let node: MetaTree | string | undefined = tree;
  for (const p of parts) node = typeof node === 'object' ? node[p] : undefined;
  if (node === undefined) return { status: 404, text: 'not found' };
  if (typeof node === 'string') return { status: 200, text: node };
  if (!path.endsWith('/')) return { status: 301, headers: { location: `${path}/` }, text: '' };
  const names = Object.entries(node)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (typeof v === 'object' ? `${k}/` : k));
  return { status: 200, text: names.join('\n') };
}

export interface MetadataServers {
  url(instance: string): string;
  close(): Promise<void>;
}

/** One metadata server per instance, each on its own port, all sharing one fault queue. */
export async function startMetadataServers(
  instances: string[],
  faults: Faults,
  handle: (instance: string, r: EmuRequest) => Reply | Promise<Reply>,
  o: ListenOptions = {},
): Promise<MetadataServers> {
  const servers = new Map<string, { server: Server; url: string }>();
  for (const id of instances) {
    const s = await listen(
      (req, res) => {
        void (async () => {
          const url = new URL(req.url ?? '/', 'http://metadata');
          const method = req.method ?? 'GET';
          const fault = faults.take(method, url.pathname, ['status', 'hang', 'slow']);
          if (await applyTransportFault(fault, req, res)) {
            faults.log.push({ method, path: url.pathname, status: 'hang', at: Date.now() });
            return;
          }
          await readBody(req);
          const reply =
            fault?.kind === 'status'
              ? { status: fault.status, text: `error ${fault.status}` }
              : await handle(id, {
                  method,
                  path: url.pathname,
                  query: url.searchParams,
                  headers: req.headers,
                  body: undefined,
                  params: [],
                });
          faults.log.push({ method, path: url.pathname, status: reply.status, at: Date.now() });
          send(res, reply);
        })().catch((e: unknown) => {
          if (!res.headersSent) send(res, { status: 500, text: String(e) });
        });
      },
      { ...(o.host !== undefined ? { host: o.host } : {}) },
    );
    servers.set(id, s);
  }
  return {
    url(instance) {
      const s = servers.get(instance);
      if (!s) throw new Error(`no metadata server for instance ${instance}`);
      return s.url;
    },
    async close() {
      await Promise.all([...servers.values()].map((s) => closeServer(s.server)));
    },
  };
}

/** The host and port of an emulator's options, as listen() takes them (unset ones left out). */
export const listenOf = (o: ListenOptions): ListenOptions => ({
  ...(o.host !== undefined ? { host: o.host } : {}),
  ...(o.port !== undefined ? { port: o.port } : {}),
});

/**
 * The part of a handle that is the same for every emulator: its URLs, both fault queues, the rate
 * limit, a snapshot of `holders()` (every address with its holder) and a close that stops the
 * pending actions and both servers. The emulator adds `holder`, `setHolder` and its own state.
 */
export function commonHandle(
  provider: string,
  p: {
    api: ApiServer;
    meta: MetadataServers;
    faults: Faults;
    metadataFaults: Faults;
    timers?: Timers;
    holders(): Record<string, string | null>;
  },
): Omit<EmulatorHandle, 'holder' | 'setHolder'> {
  return {
    provider,
    apiUrl: p.api.url,
    metadataUrl: (inst) => p.meta.url(String(inst)),
    faults: p.faults,
    metadataFaults: p.metadataFaults,
    setRateLimit: (r) => p.api.setRateLimit(r),
    snapshot: () => snapshotOf(provider, p.holders(), p.faults, p.metadataFaults),
    async close() {
      p.timers?.clear();
      await Promise.all([closeServer(p.api.server), p.meta.close()]);
    },
  };
}

/** Timers the emulator owns (action completions), all cleared on close. */
export class Timers {
  private readonly set = new Set<NodeJS.Timeout>();
  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.set.delete(t);
      fn();
    }, ms);
    this.set.add(t);
  }
  clear(): void {
    for (const t of this.set) clearTimeout(t);
    this.set.clear();
  }
}

export function snapshotOf(
  provider: string,
  holders: Record<string, string | null>,
  faults: Faults,
  metadataFaults: Faults,
): EmulatorSnapshot {
  return {
    provider,
    holders,
    requests: faults.log.length,
    metadataRequests: metadataFaults.log.length,
    log: faults.log.slice(-200),
  };
}
