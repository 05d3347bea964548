/**
 * `floatd status`: asks the running daemon (unix socket, or --url) and prints who holds which
 * VIP and why, in one screen; `--json` for scripts, `--watch` to follow it. Exit codes:
 * 0 all instances fine, 1 an instance is in FAULT, 3 the daemon is not running / unreachable.
 */
import { answerError, apiRequest, apiTarget, Unreachable, type ApiTarget } from './api-client.js';
import { withCode } from '../errors.js';
import type { DaemonStatus, InstanceStatus, VrrpStateName } from '../model/status-types.js';
import { delayUs, msToUs, realClock } from '../util/clock.js';

export const EXIT_OK = 0;
export const EXIT_FAULT = 1;
export const EXIT_NOT_RUNNING = 3;
export { Unreachable };

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

/** GET /api/v1/status over the unix socket or a URL; Unreachable when nobody answers. */
export async function fetchStatus(to: ApiTarget, timeoutMs = 3000): Promise<DaemonStatus> {
  const where = 'socket' in to ? to.socket : to.url;
  const r = await apiRequest(to, 'GET', '/api/v1/status', { timeoutMs });
  if (r.status !== 200) {
    const e = answerError(r);
    throw new Unreachable(`${where} answered HTTP ${r.status || '?'}${e ? `: ${withCode(e.code, e.message)}` : ''}`);
  }
  try {
    return JSON.parse(r.body) as DaemonStatus;
  } catch {
    throw new Unreachable(`${where} did not answer JSON`);
  }
}

/** The instances in maintenance; none when the daemon does not answer it (an older one). */
async function fetchMaintenance(to: ApiTarget): Promise<Record<string, { since: string; by: string }>> {
  try {
    const r = await apiRequest(to, 'GET', '/api/v1/maintenance');
    return r.status === 200
      ? ((JSON.parse(r.body) as { instances?: Record<string, { since: string; by: string }> }).instances ?? {})
      : {};
  } catch {
    return {};
  }
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
function table(
  head: string[],
  rows: string[][],
  paint?: (col: number, cell: string, padded: string) => string,
): string[] {
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[], p: boolean): string =>
    r
      .map((cell, c) => {
        const padded = c === r.length - 1 ? cell : cell.padEnd(w[c]!);
        return p && paint ? paint(c, cell, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(head, false), ...rows.map((r) => line(r, true))];
}

function prio(i: InstanceStatus): string {
  return i.basePriority === i.effectivePriority ? String(i.basePriority) : `${i.basePriority}→${i.effectivePriority}`;
}

export function formatStatus(
  s: DaemonStatus,
  o: {
    now?: number;
    color?: boolean;
    transitions?: number;
    maintenance?: Record<string, { since: string; by: string }>;
  } = {},
): string {
  const now = o.now ?? realClock.wallMs();
  const c = (code: string, t: string): string => (o.color ? `\x1b[${code}m${t}\x1b[0m` : t);
  const state = (st: string, padded: string): string => c(COLORS[st as VrrpStateName] ?? '0', padded);
  const out: string[] = [];
  const up = ago(s.startedAt, now).replace(' ago', '');
  out.push(
    `floatd ${s.version} on ${s.hostname} (router_id ${s.routerId}), pid ${s.pid}, up ${up}, config ${s.configFile}`,
  );
  out.push('');
  out.push(
    ...table(
      ['INSTANCE', 'STATE', 'PRIO', 'VRID', 'IF', 'VIPS', 'MASTER', 'SINCE', 'REASON'],
      s.instances.map((i) => [
        i.name + (i.syncGroup ? ` [${i.syncGroup}]` : ''),
        i.state,
        prio(i),
        String(i.vrid),
        i.interface,
        i.vips.map((v) => v.address + (v.dev !== i.interface ? ` dev ${v.dev}` : '')).join(' ') || '-',
        // Only a BACKUP follows a master; in FAULT/INIT/STOP the last one seen may be stale.
        i.state === 'MASTER'
          ? 'this node'
          : i.state === 'BACKUP' && i.master
            ? `${i.master.address} (${i.master.priority})`
            : '-',
        ago(i.since, now),
        // A quorum BACKUP denied the lease says so (state reason quorum_denied), not its last transition.
        i.quorumReason ?? i.lastReason.replace(/^\([^)]*\) /, ''),
      ]),
      (col, cell, padded) => (col === 1 ? state(cell, padded) : padded),
    ),
  );
  if (s.instances.length === 0) out.push('(no vrrp_instance)');
  const maint = Object.entries(o.maintenance ?? {});
  if (maint.length)
    out.push(
      '',
      'IN MAINTENANCE (lowest priority until `floatd maintenance off`): ' +
        maint.map(([n, m]) => `${n} since ${ago(m.since, now)}`).join(', '),
    );
  const peers = s.instances.flatMap((i) =>
    i.peers.map((p) => [i.name, p.address, p.priority !== undefined ? String(p.priority) : '-', ago(p.lastHeard, now)]),
  );
  if (peers.length) {
    out.push('');
    out.push(...table(['INSTANCE', 'PEER', 'PRIO', 'LAST HEARD'], peers));
  }
  const trackers = s.instances.flatMap((i) =>
    i.trackers
      .filter((t) => t.type !== 'interface' || t.status !== 'up' || t.weight !== 0)
      .map((t) => [
        t.name,
        t.type,
        i.name,
        t.status,
        t.weight ? String(t.weight) : '',
        t.lastResult ?? '',
        t.lastDurationMs !== undefined ? `${t.lastDurationMs.toFixed(1)} ms` : '',
        t.lastRun ? ago(t.lastRun, now) : '',
      ]),
  );
  if (trackers.length) {
    out.push('');
    out.push(
      ...table(
        ['TRACKED', 'TYPE', 'INSTANCE', 'STATUS', 'WEIGHT', 'LAST RESULT', 'TOOK', 'RAN'],
        trackers,
        (col, cell, padded) => (col === 3 ? c(cell === 'up' ? '32' : cell === 'down' ? '31' : '90', padded) : padded),
      ),
    );
  }
  if (s.floatingIps.length) {
    out.push('');
    out.push(
      ...table(
        ['FLOATING IP', 'ADDRESS', 'PROVIDER', 'HOLDER', 'PHASE', 'LAST'],
        s.floatingIps.map((f) => [
          f.name,
          f.address,
          f.provider,
          f.holder === undefined ? 'unknown' : f.holder + (f.holder === f.self ? ' (this node)' : ''),
          f.phase,
          f.contested ??
            (f.lastError && f.errorCode ? withCode(f.errorCode, f.lastError) : f.lastError) ??
            f.lastResult ??
            '',
        ]),
      ),
    );
  }
  if (s.lb?.virtualServers.length) {
    out.push('');
    out.push(
      ...table(
        ['VIRTUAL SERVER', 'REAL SERVER', 'ALIVE', 'WEIGHT', 'CHECKS', 'QUORUM'],
        s.lb.virtualServers.flatMap((v) =>
          v.realServers.map((r, i) => [
            i ? '' : `${v.key} ${v.sched}`,
            `${r.address}:${r.port}${r.origin === 'api' ? ' (api)' : ''}${r.drain ? ` ${r.drain.phase}` : ''}`,
            r.alive ? 'up' : 'down',
            r.weight === null ? 'out' : String(r.weight),
            r.checks
              .map(
                (k) =>
                  `${k.kind} ${k.suspended ? 'suspended' : k.up ? 'up' : 'down'}${k.detail ? ` (${k.detail})` : ''}`,
              )
              .join('; ') || 'none',
            i
              ? ''
              : `${v.quorumUp ? 'up' : 'lost'} ${v.liveWeight}/${v.quorum}` +
                (v.sorryActive ? ', sorry server serving' : ''),
          ]),
        ),
        (col, cell, padded) => (col === 2 ? c(cell === 'up' ? '32' : '31', padded) : padded),
      ),
    );
  }
  const n = o.transitions ?? 5;
  const recent = s.transitions.slice(-n).reverse();
  if (recent.length) {
    out.push('');
    out.push(`LAST TRANSITIONS (newest first, ${recent.length} of ${s.transitions.length})`);
    out.push(
      ...table(
        ['WHEN', 'INSTANCE', 'CHANGE', 'WHY', 'DETAIL'],
        recent.map((t) => [
          ago(t.time, now),
          (t.kind === 'GROUP' ? 'group ' : '') + t.instance,
          `${t.from} → ${t.to}`,
          t.reasonKind,
          t.reason.replace(/^\([^)]*\) /, ''),
        ]),
      ),
    );
  }
  return out.join('\n') + '\n';
}

// ---- the command ----

export async function runStatus(o: StatusOptions): Promise<number> {
  const out = o.out ?? process.stdout;
  const to = await apiTarget(o);
  const color = o.color ?? ((out as NodeJS.WriteStream).isTTY === true && !process.env.NO_COLOR);
  const once = async (): Promise<number> => {
    try {
      const s = await fetchStatus(to);
      out.write(
        o.json
          ? JSON.stringify(s, null, 2) + '\n'
          : formatStatus(s, { color, maintenance: await fetchMaintenance(to) }),
      );
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
  const onInt = (): void => {
    stop = true;
  };
  process.once('SIGINT', onInt);
  try {
    while (!stop) {
      if (!o.json && color) out.write('\x1b[H\x1b[2J');
      code = await once();
      if (!o.json) out.write(`\n(every ${o.watch}s; Ctrl-C to stop)\n`);
      const until = realClock.wallMs() + o.watch * 1000;
      while (!stop && realClock.wallMs() < until)
        await delayUs(realClock, msToUs(Math.min(200, until - realClock.wallMs())));
    }
  } finally {
    process.off('SIGINT', onInt);
  }
  return code;
}
