/** A configuration finding with its position: what `floatd check` prints and `run` logs. */
export interface Diagnostic {
  severity: 'error' | 'warning' | 'info';
  file: string;
  line: number;
  col: number;
  keyword?: string;
  message: string;
  hint?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.keyword ? `${d.keyword}: ` : ''}${d.message}${d.hint ? ` (hint: ${d.hint})` : ''}`;
}
