/**
 * Where the daemon's log lines go in keepalived's command-line mode: syslog by default (as
 * keepalived), the console with `-l`, neither with `-G` and no `-l`. Every line is the same
 * record as the JSON logs (same `event` names), formatted once per destination. Syslog is
 * RFC 3164 over the local datagram socket (/dev/log), sent by the native addon because Node
 * has no AF_UNIX SOCK_DGRAM; a missing syslog daemon drops lines, it never stops floatd.
 */
import { Writable } from 'node:stream';
import { formatLogBody, formatHumanLine } from '../util/log.js';
import { native } from '../native/addon.js';
import { realClock } from '../util/clock.js';

export const DEFAULT_SYSLOG_SOCKET = '/dev/log';
/** LOG_DAEMON: keepalived's facility without -S. */
export const LOG_DAEMON = 3;
const LOG_LOCAL0 = 16;
const NAMED: Record<string, number> = { user: 1, daemon: 3, auth: 4, syslog: 5 };

/** `-S` takes keepalived's 0..7 (local0..local7); floatd also reads `local3`, `daemon`, `user`. */
export function parseFacility(s: string): number | undefined {
  const t = s.trim().toLowerCase();
  const m = /^(?:local)?([0-7])$/.exec(t);
  if (m) return LOG_LOCAL0 + Number(m[1]);
  return NAMED[t];
}

/** pino level → syslog severity (crit, err, warning, info, debug). */
function severity(level: unknown): number {
  const l = typeof level === 'number' ? level : 30;
  return l >= 60 ? 2 : l >= 50 ? 3 : l >= 40 ? 4 : l >= 30 ? 6 : 7;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3164 as glibc's syslog(3) writes it to /dev/log: `<PRI>Mmm dd hh:mm:ss ident[pid]: text`. */
export function formatSyslog(
  rec: Record<string, unknown>,
  o: { facility: number; ident: string; pid: number; now?: Date },
): string {
  const d = o.now ?? (typeof rec.time === 'number' ? new Date(rec.time) : new Date(realClock.wallMs()));
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const time = `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  const stamp = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${time}`;
  // One record is one datagram: newlines inside a message would read as separate lines.
  const body = formatLogBody(rec).replace(/\n/g, ' ');
  return `<${o.facility * 8 + severity(rec.level)}>${stamp} ${o.ident}[${o.pid}]: ${body}`;
}

export type DgramSend = (path: string, data: Buffer) => void;

export interface LogSinkOptions {
  /** Syslog destination; undefined = no syslog (-G). */
  syslog?: { facility: number; socket?: string; ident?: string; send?: DgramSend };
  /** Human lines to this stream (-l, or the foreground). */
  console?: NodeJS.WritableStream;
  /** Each record also goes here (the detached daemon's start-up errors, back to the parent's stderr). */
  also?: (rec: Record<string, unknown>) => void;
}

/** A pino destination (JSON lines in) that fans each record out to syslog and the console. */
export function logSink(o: LogSinkOptions): Writable {
  const sys = o.syslog;
  let send: DgramSend | undefined = sys?.send;
  const sendSyslog = (rec: Record<string, unknown>): void => {
    if (!sys) return;
    try {
      if (!send) send = loadSend();
      send(
        sys.socket ?? DEFAULT_SYSLOG_SOCKET,
        Buffer.from(formatSyslog(rec, { facility: sys.facility, ident: sys.ident ?? 'floatd', pid: process.pid })),
      );
    } catch {
      // No syslog daemon (ENOENT, ECONNREFUSED) or a full queue (EAGAIN): the line is lost, as with syslog(3).
    }
  };
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          rec = { level: 30, msg: line };
        }
        sendSyslog(rec);
        o.console?.write(formatHumanLine(rec));
        o.also?.(rec);
      }
      cb();
    },
  });
}

/** The addon is loaded at the first syslog line, so `floatd -v` and `check` never touch it. */
function loadSend(): DgramSend {
  return (path, data) => {
    native().unixDgramSend(path, data);
  };
}
