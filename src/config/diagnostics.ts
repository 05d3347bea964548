import type { ConfigErrorCode } from '../errors.js';

/** A configuration finding with its position: what `floatd check` prints and `run` logs. */
export interface Diagnostic {
  severity: 'error' | 'warning' | 'info';
  file: string;
  line: number;
  col: number;
  keyword?: string;
  message: string;
  hint?: string;
  /** The kind of finding (docs/errors.md, Configuration): scripts and other code match on it, not on the message. */
  code: DiagnosticCode;
}

/** A configuration diagnostic's code: one of the CONFIG_* family of src/errors.ts. */
export type DiagnosticCode = ConfigErrorCode;

/** Control characters (a quoted "\n" in the file, a CR) are shown escaped: one diagnostic is one line. */
const oneLine = (s: string): string =>
  s.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\t' ? ' ' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));

export function formatDiagnostic(d: Diagnostic): string {
  const kw = d.keyword ? `${d.keyword}: ` : '';
  const hint = d.hint ? ` (hint: ${d.hint})` : '';
  // The code last, in brackets, as compilers print a warning's flag: `file:line:col: severity:` stays first.
  return oneLine(`${d.file}:${d.line}:${d.col}: ${d.severity}: ${kw}${d.message}${hint} [E_${d.code}]`);
}
