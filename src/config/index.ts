/** keepalived.conf in, a typed configuration and positioned diagnostics out. */
import { resolve } from 'node:path';
import { lex, tree } from './lexer.js';
import { buildModel } from './parse.js';
import { readConfigFile } from './read-file.js';
import type { Diagnostic } from './diagnostics.js';
import type { FloatdConfig } from './model.js';

export type { Diagnostic } from './diagnostics.js';
export { formatDiagnostic } from './diagnostics.js';
export { reloadBlockers, logConfigDiagnostics, unsupported } from './report.js';
export type * from './model.js';
export type * from './lvs-model.js';

export interface LoadResult {
  config: FloatdConfig | null;
  diagnostics: Diagnostic[];
}
export interface ParseOptions {
  configIds?: string[];
  /**
   * `reload`: a file with no vrrp_instance is an error (a SIGHUP during a non-atomic copy must not
   * stop every instance).
   */
  purpose?: 'check' | 'run' | 'reload';
  /** How `include`d files are read (tests); default: the file system. */
  readFile?: (path: string) => string;
}

/** Diagnostics a result carries at most; the rest are counted in one last diagnostic. */
export const MAX_DIAGNOSTICS = 1000;

export function parseConfigText(text: string, file: string, opts: ParseOptions = {}): LoadResult {
  const { tokens, diagnostics } = lex(file, text, opts);
  const nodes = tree(tokens, diagnostics);
  const files = [...new Set(tokens.map((t) => t.file))];
  const config = buildModel(nodes, diagnostics, files.length ? files : [file]);
  if (opts.purpose === 'reload') for (const d of diagnostics) if (d.code === 'CONFIG_NO_INSTANCE') d.severity = 'error';
  const usable = !diagnostics.some((d) => d.severity === 'error');
  return { config: usable ? config : null, diagnostics: capped(diagnostics) };
}

/** The first MAX_DIAGNOSTICS, then one saying how many more there were, and of which severity. */
export function capped(ds: Diagnostic[]): Diagnostic[] {
  if (ds.length <= MAX_DIAGNOSTICS) return ds;
  const rest = ds.slice(MAX_DIAGNOSTICS);
  const n = (s: Diagnostic['severity']): number => rest.filter((d) => d.severity === s).length;
  const first = rest[0]!;
  const worst = n('error') ? 'error' : n('warning') ? 'warning' : 'info';
  return [
    ...ds.slice(0, MAX_DIAGNOSTICS),
    {
      severity: worst,
      file: first.file,
      line: first.line,
      col: first.col,
      code: 'CONFIG_LIMIT',
      message:
        `${rest.length} more diagnostics not shown (${n('error')} errors, ${n('warning')} warnings, ` +
        `${n('info')} notes), the first here`,
    },
  ];
}

export async function loadConfig(path: string, opts: ParseOptions = {}): Promise<LoadResult> {
  const file = resolve(path);
  let text: string;
  try {
    text = readConfigFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      config: null,
      diagnostics: [
        {
          severity: 'error',
          file: path,
          line: 0,
          col: 0,
          code: 'CONFIG_UNREADABLE',
          message: code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(e)}`,
        },
      ],
    };
  }
  return parseConfigText(text, file, opts);
}
export { loadConfigBounded, BOUNDED_DEFAULTS, type BoundedOptions } from './bounded.js';
