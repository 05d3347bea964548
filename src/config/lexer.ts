/**
 * keepalived.conf reader: lines → words with positions, `{`/`}` as their own tokens, `#`/`!`
 * comments, double-quoted strings, `include GLOB` (relative to the including file), `$NAME=value`
 * definitions with `$NAME`/`${NAME}` expansion, and `@id`/`@^id` conditional lines.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import type { Diagnostic } from './diagnostics.js';

export interface Token { text: string; file: string; line: number; col: number; quoted: boolean }

export interface LexOptions { configIds?: string[]; readFile?: (path: string) => string }

interface State { defs: Map<string, string>; diags: Diagnostic[]; depth: number; o: LexOptions }

/** Splits one line into words; quotes group, `#`/`!` outside quotes start a comment. */
export function splitLine(line: string): { text: string; col: number; quoted: boolean }[] {
  const out: { text: string; col: number; quoted: boolean }[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '#' || c === '!') break;
    if (c === '{' || c === '}') { out.push({ text: c, col: i + 1, quoted: false }); i++; continue; }
    if (c === '"') {
      const start = i;
      let j = i + 1;
      let s = '';
      while (j < line.length && line[j] !== '"') {
        if (line[j] === '\\' && j + 1 < line.length) { s += line[j + 1]; j += 2; continue; }
        s += line[j];
        j++;
      }
      out.push({ text: s, col: start + 1, quoted: true });
      i = j + 1;
      continue;
    }
    const start = i;
    while (i < line.length && !' \t\r{}'.includes(line[i]!) && !((line[i] === '#' || line[i] === '!') && i === start)) i++;
    out.push({ text: line.slice(start, i), col: start + 1, quoted: false });
  }
  return out;
}

function expand(text: string, defs: Map<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a: string | undefined, b: string | undefined) => defs.get((a ?? b)!) ?? m);
}

function globFiles(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return [pattern];
  const dir = dirname(pattern);
  const re = new RegExp('^' + basename(pattern).replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  try {
    return readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
  } catch { return []; }
}

function lexFile(path: string, text: string, st: State, out: Token[]): void {
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let raw = lines[n]!;
    let col0 = 0;
    // @id / @^id: the line counts only when the id is (or is not) one of the active config ids.
    const cond = /^\s*@(\^?)(\S+)\s+/.exec(raw);
    if (cond) {
      const active = (st.o.configIds ?? []).includes(cond[2]!);
      if (cond[1] ? active : !active) continue;
      col0 = cond[0].length;
      raw = raw.slice(col0);
    }
    const def = /^\s*\$(\w+)\s*=\s*(.*)$/.exec(raw);
    if (def) { st.defs.set(def[1]!, def[2]!.trim()); continue; }
    const words = splitLine(raw).map((w) => ({ ...w, col: w.col + col0, text: w.quoted ? w.text : expand(w.text, st.defs) }));
    if (words[0]?.text === 'include' && !words[0].quoted) {
      const arg = words[1];
      if (!arg) { st.diags.push({ severity: 'error', file: path, line: n + 1, col: words[0].col, keyword: 'include', message: 'expected a file name or glob' }); continue; }
      const pat = resolve(dirname(path), arg.text);
      const files = globFiles(pat);
      if (files.length === 0) st.diags.push({ severity: 'warning', file: path, line: n + 1, col: arg.col, keyword: 'include', message: `no file matches ${arg.text}` });
      if (st.depth > 16) { st.diags.push({ severity: 'error', file: path, line: n + 1, col: arg.col, keyword: 'include', message: 'includes nested too deeply (a loop?)' }); continue; }
      for (const f of files) {
        let t: string;
        try { t = (st.o.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(f); } catch (e) {
          st.diags.push({ severity: 'error', file: path, line: n + 1, col: arg.col, keyword: 'include', message: `cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
          continue;
        }
        st.depth++;
        lexFile(f, t, st, out);
        st.depth--;
      }
      continue;
    }
    for (const w of words) out.push({ text: w.text, file: path, line: n + 1, col: w.col, quoted: w.quoted });
  }
}

export function lex(path: string, text: string, o: LexOptions = {}): { tokens: Token[]; diagnostics: Diagnostic[] } {
  const st: State = { defs: new Map(), diags: [], depth: 0, o };
  const tokens: Token[] = [];
  lexFile(path, text, st, tokens);
  return { tokens, diagnostics: st.diags };
}

/** A statement: keyword, its arguments on the same line, and a `{ }` block if one follows. */
export interface Node { key: Token; args: Token[]; children?: Node[]; close?: Token }

/** Groups tokens into statements (one per line) and blocks. Unbalanced braces are reported. */
export function tree(tokens: Token[], diags: Diagnostic[]): Node[] {
  let i = 0;
  const block = (depth: number): Node[] => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t.text === '}' && !t.quoted) {
        if (depth === 0) { diags.push({ severity: 'error', file: t.file, line: t.line, col: t.col, message: "unexpected '}' with no open block", hint: 'remove it, or look for a missing \'{\' above' }); i++; continue; }
        return nodes;
      }
      if (t.text === '{' && !t.quoted) { diags.push({ severity: 'error', file: t.file, line: t.line, col: t.col, message: "'{' without a keyword before it" }); i++; continue; }
      const node: Node = { key: t, args: [] };
      i++;
      while (i < tokens.length && tokens[i]!.line === t.line && tokens[i]!.file === t.file && !(['{', '}'].includes(tokens[i]!.text) && !tokens[i]!.quoted)) node.args.push(tokens[i++]!);
      if (i < tokens.length && tokens[i]!.text === '{' && !tokens[i]!.quoted) {
        const open = tokens[i]!;
        i++;
        node.children = block(depth + 1);
        if (i < tokens.length) { node.close = tokens[i]; i++; } else diags.push({ severity: 'error', file: open.file, line: open.line, col: open.col, keyword: t.text, message: `block '${t.text}' is never closed`, hint: "add the missing '}'" });
      }
      nodes.push(node);
    }
    return nodes;
  };
  return block(0);
}
