/**
 * Logging: pino underneath (levels, child loggers, JSON), with a one-line human format for
 * terminals. Every line carries a stable `event` name (e.g. `vrrp.transition`) so tools can
 * match on it; the message text keeps keepalived's wording where keepalived has a line for it.
 */
import { Writable } from 'node:stream';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { escapeControl, redactSecrets } from './redact.js';

export { registerSecret } from './redact.js';

export type { Logger };

export interface LogOptions {
  level?: LevelWithSilent;
  /** JSON lines (for journald/log shippers) instead of the human format. */
  json?: boolean;
  /** Where lines go; default stderr. */
  stream?: NodeJS.WritableStream;
  /** Extra fields on every line (e.g. host name in the lab). */
  base?: Record<string, unknown>;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'event', 'instance']);

/** One record without time and level: `(instance) message [event k=v …]` (the console and syslog share it). */
export function formatLogBody(rec: Record<string, unknown>): string {
  // Messages and values may quote untrusted text (a provider's reply): no CR/LF reaches the line.
  const inst = rec.instance ? `(${escapeControl(String(rec.instance))}) ` : '';
  const msg = escapeControl(String(rec.msg ?? ''));
  const extras: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (SKIP.has(k) || v === undefined) continue;
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    extras.push(`${escapeControl(k)}=${/[\s"]/.test(s) ? JSON.stringify(s) : escapeControl(s)}`);
  }
  const tail = rec.event
    ? ` [${String(rec.event)}${extras.length ? ' ' + extras.join(' ') : ''}]`
    : extras.length
      ? ` [${extras.join(' ')}]`
      : '';
  return `${inst}${msg}${tail}`;
}

/** Formats one pino JSON record as `time LEVEL (instance) message [event k=v …]`. */
export function formatHumanLine(rec: Record<string, unknown>): string {
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString() : String(rec.time ?? '');
  const level = LEVEL_NAMES[rec.level as number] ?? String(rec.level);
  return `${time} ${level} ${formatLogBody(rec)}\n`;
}

export function humanStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          out.write(formatHumanLine(JSON.parse(line) as Record<string, unknown>));
        } catch {
          out.write(line + '\n');
        }
      }
      cb();
    },
  });
}

/**
 * Every serialized record passes here before any sink (console, JSON, syslog): registered
 * secrets are scrubbed from the whole line (redact.ts), whatever field carries them.
 */
function scrubbed(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.write(redactSecrets(chunk.toString('utf8')));
      cb();
    },
  });
}

export function createLogger(opts: LogOptions = {}): Logger {
  const out = opts.stream ?? process.stderr;
  const dest = scrubbed(opts.json ? out : humanStream(out));
  return pino(
    {
      level: opts.level ?? 'info',
      base: opts.base ?? null,
      timestamp: pino.stdTimeFunctions.epochTime,
      // Secrets never reach a log line, whatever a caller passes by mistake.
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    dest as pino.DestinationStream,
  );
}
