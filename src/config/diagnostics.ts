/** A configuration finding with its position: what `floatd check` prints and `run` logs. */
export interface Diagnostic {
  severity: 'error' | 'warning' | 'info';
  file: string;
  line: number;
  col: number;
  keyword?: string;
  message: string;
  hint?: string;
  /** A stable kind for findings other code acts on (see DiagnosticCode). */
  code?: DiagnosticCode;
}

/**
 * - `unsupported`: a keyword floatd reads but does not act on (the daemon logs these at start and reload);
 * - `unknown-keyword`: not a keyword of its block;
 * - `no-instance`: the file defines no vrrp_instance (a warning for `check`, a refusal for reload);
 * - `limit`: an input bound was hit (nesting, includes, expansion size, lines, diagnostics).
 */
export type DiagnosticCode = 'unsupported' | 'unknown-keyword' | 'no-instance' | 'limit';

/** Control characters (a quoted "\n" in the file, a CR) are shown escaped: one diagnostic is one line. */
const oneLine = (s: string): string =>
  s.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\t' ? ' ' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));

export function formatDiagnostic(d: Diagnostic): string {
  const kw = d.keyword ? `${d.keyword}: ` : '';
  return oneLine(`${d.file}:${d.line}:${d.col}: ${d.severity}: ${kw}${d.message}${d.hint ? ` (hint: ${d.hint})` : ''}`);
}
