/**
 * `floatd status`: asks the running daemon (unix socket, or --url) and prints who holds which
 * VIP and why, in one screen; `--json` for scripts, `--watch` to follow it. Exit codes:
 * 0 all instances fine, 1 an instance is in FAULT, 3 the daemon is not running / unreachable.
 */
import { request } from 'node:http';
import { API_DEFAULT_SOCKET } from '../config/api-block.js';
import { loadConfig } from '../config/index.js';
import type { DaemonStatus, InstanceStatus, VrrpStateName } from '../daemon/status-types.js';
import { delayMs, realClock } from '../util/clock.js';

export const EXIT_OK = 0;
export const EXIT_FAULT = 1;
export const EXIT_NOT_RUNNING = 3;

export interface StatusOptions {
  socket?: string;
  url?: string;
  /** Read the socket path from this config's floatd_api block. */
  file?: string;
  json?: boolean;
  /** Seconds between refreshes; undefined = once. */
  watch?: number;
  out?: NodeJS.WritableStream;
  color?: boolean;
}

export class Unreachable extends Error {}

/** GET /api/v1/status over the unix socket or a URL; Unreachable when nobody answers. */
export function fetchStatus(to: { socket: string } | { url: string }, timeoutMs = 3000): Promise<DaemonStatus> {
  return new Promise((resolve, reject) => {
    const base = 'url' in to ? new URL(to.url) : undefined;
    const target = 'socket' in to ? { socketPath: to.socket, path: '/api/v1/status' } : { host: base!.hostname.replace(/^\[|\]$/g, ''), port: base!.port || 80, path: new URL('api/v1/status', base!.href.endsWith('/') ? base!.href : base!.href + '/').pathname };
    const where = 'socket' in to ? to.socket : to.url;
    const req = request({ ...target, method: 'GET', timeout: timeoutMs, headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        if (res.statusCode !== 200) { reject(new Unreachable(`${where} answered HTTP ${res.statusCode ?? '?'}`)); return; }
        try { resolve(JSON.parse(body) as DaemonStatus); } catch { reject(new Unreachable(`${where} did not answer JSON`)); }
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? 'no socket there' : e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'EACCES' ? 'permission denied' : e.code ?? e.message;
      reject(new Unreachable(`floatd is not running or not reachable at ${where} (${why})`));
    });
    req.end();
  });
}

export function exitCodeFor(s: DaemonStatus): number {
  return s.instances.some((i) => i.state === 'FAULT') ? EXIT_FAULT : EXIT_OK;
}

// ---- formatting (pure) ----

const COLORS: Record<VrrpStateName, string> = { MASTER: '32', BACKUP: '34', FAULT: '31', INIT: '90', STOP: '90' };

function ago(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return '?';
  if (s < 10) return `${s.toFixed(1)}s ago`;
  if (s < 90) return `${Math.round(s)}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

/** Columns padded to their widest cell; `paint` colours a cell after padding so widths stay right. */
function table(head: string[], rows: string[][], paint?: (col: number, cell: string, padded: string) => string): string[] {
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[], p: boolean): string => r.map((cell, c) => {
    const padded = c === r.length - 1 ? cell : cell.padEnd(w[c]!);
    return p && paint ? paint(c, cell, padded) : padded;
  }).join('  ').trimEnd();
  return [line(head, false), ...rows.map((r) => line(r, true))];
}

function prio(i: InstanceStatus): string {
  return i.basePriority === i.effectivePriority ? String(i.basePriority) : `${i.basePriority}→${i.effectivePriority}`;
}

export function formatStatus(s: DaemonStatus, o: { now?: number; color?: boolean; transitions?: number } = {}): string {
  const now = o.now ?? realClock.wallMs();
  const c = (code: string, t: string): string => (o.color ? `\x1b[${code}m${t}\x1b[0m` : t);
  const state = (st: string, padded: string): string => c(COLORS[st as VrrpStateName] ?? '0', padded);
  const out: string[] = [];
  out.push(`floatd ${s.version} on ${s.hostname} (router_id ${s.routerId}), pid ${s.pid}, up ${ago(s.startedAt, now).replace(' ago', '')}, config ${s.configFile}`);
  out.push('');
  out.push(...table(
    ['INSTANCE', 'STATE', 'PRIO', 'VRID', 'IF', 'VIPS', 'MASTER', 'SINCE', 'REASON'],
    s.instances.map((i) => [
      i.name + (i.syncGroup ? ` [${i.syncGroup}]` : ''), i.state, prio(i), String(i.vrid), i.interface,
      i.vips.map((v) => v.address + (v.dev !== i.interface ? ` dev ${v.dev}` : '')).join(' ') || '-',
      // Only a BACKUP follows a master; in FAULT/INIT/STOP the last one seen may be stale.
      i.state === 'MASTER' ? 'this node' : i.state === 'BACKUP' && i.master ? `${i.master.address} (${i.master.priority})` : '-',
      ago(i.since, now), i.lastReason.replace(/^\([^)]*\) /, ''),
    ]),
    (col, cell, padded) => (col === 1 ? state(cell, padded) : padded),
  ));
  if (s.instances.length === 0) out.push('(no vrrp_instance)');
  const peers = s.instances.flatMap((i) => i.peers.map((p) => [i.name, p.address, p.priority !== undefined ? String(p.priority) : '-', ago(p.lastHeard, now)]));
  if (peers.length) { out.push(''); out.push(...table(['INSTANCE', 'PEER', 'PRIO', 'LAST HEARD'], peers)); }
  const trackers = s.instances.flatMap((i) => i.trackers.filter((t) => t.type !== 'interface' || t.status !== 'up' || t.weight !== 0).map((t) => [
    t.name, t.type, i.name, t.status, t.weight ? String(t.weight) : '', t.lastResult ?? '', t.lastDurationMs !== undefined ? `${t.lastDurationMs.toFixed(1)} ms` : '', t.lastRun ? ago(t.lastRun, now) : '',
  ]));
  if (trackers.length) {
    out.push('');
    out.push(...table(['TRACKED', 'TYPE', 'INSTANCE', 'STATUS', 'WEIGHT', 'LAST RESULT', 'TOOK', 'RAN'], trackers,
      (col, cell, padded) => (col === 3 ? c(cell === 'up' ? '32' : cell === 'down' ? '31' : '90', padded) : padded)));
  }
  if (s.floatingIps.length) {
    out.push('');
    out.push(...table(['FLOATING IP', 'ADDRESS', 'PROVIDER', 'HOLDER', 'PHASE', 'LAST'], s.floatingIps.map((f) => [
      f.name, f.address, f.provider, f.holder === undefined ? 'unknown' : f.holder + (f.holder === f.self ? ' (this node)' : ''), f.phase, f.contested ?? f.lastError ?? f.lastResult ?? '',
    ])));
  }
  const n = o.transitions ?? 5;
  const recent = s.transitions.slice(-n).reverse();
  if (recent.length) {
    out.push('');
    out.push(`LAST TRANSITIONS (newest first, ${recent.length} of ${s.transitions.length})`);
    out.push(...table(['WHEN', 'INSTANCE', 'CHANGE', 'WHY', 'DETAIL'], recent.map((t) => [
      ago(t.time, now), (t.kind === 'GROUP' ? 'group ' : '') + t.instance, `${t.from} → ${t.to}`, t.reasonKind, t.reason.replace(/^\([^)]*\) /, ''),
    ])));
  }
  return out.join('\n') + '\n';
}

// ---- the command ----

async function target(o: StatusOptions): Promise<{ socket: string } | { url: string }> {
  if (o.url) return { url: o.url };
  if (o.socket) return { socket: o.socket };
  if (o.file) {
    const r = await loadConfig(o.file);
    const api = r.config?.api;
    if (api?.socket) return { socket: api.socket };
    if (api && api.listen[0]) return { url: `http://${api.listen[0].host.includes(':') ? `[${api.listen[0].host}]` : api.listen[0].host}:${api.listen[0].port}/` };
  }
  return { socket: process.env.FLOATD_SOCKET || API_DEFAULT_SOCKET };
}

export async function runStatus(o: StatusOptions): Promise<number> {
  const out = o.out ?? process.stdout;
  const to = await target(o);
  const color = o.color ?? ((out as NodeJS.WriteStream).isTTY === true && !process.env.NO_COLOR);
  const once = async (): Promise<number> => {
    try {
      const s = await fetchStatus(to);
      out.write(o.json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s, { color }));
      return exitCodeFor(s);
    } catch (e) {
      if (!(e instanceof Unreachable)) throw e;
      if (o.json) out.write(JSON.stringify({ running: false, error: e.message }) + '\n');
      else process.stderr.write(`floatd status: ${e.message}\n`);
      return EXIT_NOT_RUNNING;
    }
  };
  if (o.watch === undefined) return once();
  // --watch: redraw until interrupted; the exit code is the last refresh's.
  let code = EXIT_OK;
  let stop = false;
  const onInt = (): void => { stop = true; };
  process.once('SIGINT', onInt);
  try {
    while (!stop) {
      if (!o.json && color) out.write('\x1b[H\x1b[2J');
      code = await once();
      if (!o.json) out.write(`\n(every ${o.watch}s; Ctrl-C to stop)\n`);
      const until = realClock.wallMs() + o.watch * 1000;
      while (!stop && realClock.wallMs() < until) await delayMs(realClock, Math.min(200, until - realClock.wallMs()));
    }
  } finally {
    process.off('SIGINT', onInt);
  }
  return code;
}
