/**
 * What the daemon does with a parse's diagnostics: log them (start and reload) and decide whether a
 * reload may go ahead.
 */
import { formatDiagnostic, type Diagnostic } from './diagnostics.js';

/** The findings that make a reload refuse a file: every error, and a file without any vrrp_instance. */
export function reloadBlockers(ds: readonly Diagnostic[]): Diagnostic[] {
  return ds.filter((d) => d.severity === 'error' || d.code === 'CONFIG_NO_INSTANCE');
}

/** Keywords floatd read but does not act on (positioned), for the daemon's log at start and at each reload. */
export function unsupported(ds: readonly Diagnostic[]): Diagnostic[] {
  return ds.filter((d) => d.code === 'CONFIG_NOT_HONOURED');
}

interface LogLike {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * Logs every diagnostic as one line `file:line:col: severity: keyword: message`, at its level
 * (event `config.diagnostic`; `config.unsupported` for parsed-but-unused keywords). Call it
 * at start and after each reload's parse, so what floatd ignores is said where operators look.
 */
export function logConfigDiagnostics(
  log: LogLike,
  ds: readonly Diagnostic[],
  phase: 'start' | 'reload' = 'start',
): void {
  for (const d of ds) {
    const obj = {
      event: d.code === 'CONFIG_NOT_HONOURED' ? 'config.unsupported' : 'config.diagnostic',
      phase,
      code: d.code,
    };
    log[d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warn' : 'info'](obj, formatDiagnostic(d));
  }
}
