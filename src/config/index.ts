/** keepalived.conf in, a typed configuration and positioned diagnostics out. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { lex, tree } from './lexer.js';
import { buildModel } from './parse.js';
import type { Diagnostic } from './diagnostics.js';
import type { FloatdConfig } from './model.js';

export type { Diagnostic } from './diagnostics.js';
export { formatDiagnostic } from './diagnostics.js';
export type * from './model.js';

export interface LoadResult { config: FloatdConfig | null; diagnostics: Diagnostic[] }
export interface ParseOptions { configIds?: string[] }

export function parseConfigText(text: string, file: string, opts: ParseOptions = {}): LoadResult {
  const { tokens, diagnostics } = lex(file, text, opts);
  const nodes = tree(tokens, diagnostics);
  const files = [...new Set(tokens.map((t) => t.file))];
  const config = buildModel(nodes, diagnostics, files.length ? files : [file]);
  const usable = !diagnostics.some((d) => d.severity === 'error');
  return { config: usable ? config : null, diagnostics };
}

export async function loadConfig(path: string, opts: ParseOptions = {}): Promise<LoadResult> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { config: null, diagnostics: [{ severity: 'error', file: path, line: 0, col: 0, message: code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(e)}` }] };
  }
  return parseConfigText(text, file, opts);
}
