/**
 * keepalived.conf reader: lines → words with positions, `{`/`}` as their own tokens, `#`/`!`
 * comments, double-quoted strings with keepalived's escapes, `include GLOB` (relative to the
 * including file), `@id`/`@^id` conditional lines, `$NAME=value` definitions (multi-line ones
 * continued with `\`), `$NAME`/`${NAME}` replaced at use (recursively, quotes included, as
 * keepalived does), the pre-defined `${_PWD}`, `${_INSTANCE}`, `${_RANDOM [MIN [MAX]]}`,
 * `${_HASH}`, `${_BANG}`, and `~SEQ(var, start, step, end)` / `~SEQx(…)` sequence lines.
 */
import { realpathSync } from 'node:fs';
import { readConfigFile } from './read-file.js';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Diagnostic, DiagnosticCode } from './diagnostics.js';
import { globFiles } from './glob.js';
import { LIMITS } from './limits.js';

import { BANG, HASH, splitLine, type Word } from './words.js';

export { LIMITS } from './limits.js';
export { tree, type Node } from './tree.js';
export { splitCommand, splitLine, type Word } from './words.js';

export interface Token {
  text: string;
  file: string;
  line: number;
  col: number;
  quoted: boolean;
  /** The logical line: lines made by one definition or ~SEQ share a source line but not this. */
  stmt: number;
}

export interface LexOptions {
  configIds?: string[];
  readFile?: (path: string) => string;
  random?: () => number;
}

interface State {
  defs: Map<string, string>;
  diags: Diagnostic[];
  depth: number;
  o: LexOptions;
  stmt: number;
  /** Files being read, outermost first (a file that includes itself is a loop). */
  stack: string[];
  /** Lines read so far (files, expansions, ~SEQ) and files opened: bounded in total. */
  lines: number;
  files: number;
  chars: number;
  tokens: number;
  /** Set once a total bound is hit: reading stops. */
  stopped: boolean;
}

const NAME = '[A-Za-z_][A-Za-z0-9_]*';
const USE_RE = new RegExp(`\\$\\{(${NAME})((?:\\s+\\d+){0,2})\\s*\\}|\\$(${NAME})(?=\\s|$)`, 'g');

/**
 * Replaces definitions in `text` until nothing changes (bounded rounds); undefined names stay as
 * written. Undefined when the result would exceed LIMITS.lineLength (`$D=${D}${D}` doubles each round).
 */
function expand(text: string, file: string, st: State): string | undefined {
  for (let round = 0; round < 32; round++) {
    let size = text.length;
    const next = text.replace(
      USE_RE,
      (m, braced: string | undefined, args: string | undefined, bare: string | undefined) => {
        if (size > LIMITS.lineLength) return '';
        const r = use(m, (braced ?? bare)!, args, file, st);
        size += r.length - m.length;
        return r;
      },
    );
    if (size > LIMITS.lineLength) return undefined;
    if (next === text) return text;
    text = next;
  }
  return text;
}

function use(m: string, name: string, args: string | undefined, file: string, st: State): string {
  switch (name) {
    case '_PWD':
      return dirname(file);
    case '_INSTANCE':
      return st.o.configIds?.[0] ?? hostname();
    case '_HASH':
      return HASH;
    case '_BANG':
      return BANG;
    case '_RANDOM': {
      const [lo = 0, hi = 32767] = (args ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
      return String(lo + Math.floor((st.o.random ?? Math.random)() * (Math.max(lo, hi) - lo + 1)));
    }
  }
  return st.defs.get(name) ?? m;
}

interface Line {
  text: string;
  line: number;
}

const DEF_RE = new RegExp(`^\\s*\\$(${NAME})=(.*)$`);
const SEQ_RE = /^\s*~SEQ(x?)\(([^)]*)\)\s*(.*)$/;
/** Lines one ~SEQ may produce: a typo in `end` must not hang the reader. */
const MAX_SEQ = 100_000;

/** Feeds lines to processLine, collecting multi-line definitions (`$NAME=` … `\`) first. */
/** `reread`: lines a definition produced from one already counted (they count toward the text and word bounds only). */
function processLines(path: string, lines: Line[], st: State, out: Token[], depth: number, reread = false): void {
  for (let n = 0; n < lines.length && !st.stopped; n++) {
    const l = lines[n]!;
    const def = DEF_RE.exec(l.text);
    if (def && /\\\s*$/.test(def[2]!)) {
      const parts: string[] = [];
      let v = def[2]!.replace(/\\\s*$/, '').trim();
      if (v) parts.push(v);
      while (n + 1 < lines.length) {
        const t = lines[++n]!.text;
        const more = /\\\s*$/.test(t);
        v = t.replace(/\\\s*$/, '');
        if (v.trim()) parts.push(v);
        if (!more) break;
      }
      st.defs.set(def[1]!, parts.join('\n'));
      continue;
    }
    processLine(path, l, st, out, depth, reread);
  }
}

type Diag = (
  severity: Diagnostic['severity'],
  col: number,
  keyword: string,
  message: string,
  code: DiagnosticCode,
) => void;

function processLine(path: string, l: Line, st: State, out: Token[], depth: number, reread = false): void {
  const diag: Diag = (severity, col, keyword, message, code) => {
    st.diags.push({ severity, file: path, line: l.line, col, keyword, message, code });
  };
  if (st.stopped) return;
  if (depth > 32) {
    diag('error', 1, 'definition', 'definitions expand into each other too deeply (a loop?)', 'CONFIG_LIMIT');
    return;
  }
  const all = '(files, ~SEQ and definitions together)';
  if (!reread && ++st.lines > LIMITS.lines) {
    stop(diag, `more than ${LIMITS.lines} lines in all ${all}`, st);
    return;
  }
  if ((st.chars += l.text.length) > LIMITS.chars) {
    stop(diag, `more than ${LIMITS.chars / 1024 / 1024} MiB of text in all ${all}`, st);
    return;
  }
  if (l.text.length > LIMITS.lineLength) {
    diag('error', 1, 'line', `line longer than ${LIMITS.lineLength} characters; ignored`, 'CONFIG_LIMIT');
    return;
  }
  let raw = l.text;
  let col0 = 0;
  // @id / @^id: the line counts only when the id is (or is not) one of the active config ids.
  const cond = /^\s*@(\^?)(\S+)\s+/.exec(raw);
  if (cond) {
    const active = (st.o.configIds ?? []).includes(cond[2]!);
    if (cond[1] ? active : !active) return;
    col0 = cond[0].length;
    raw = raw.slice(col0);
  }
  const seq = SEQ_RE.exec(raw);
  if (seq) {
    sequence(path, l, seq, st, out, depth, diag);
    return;
  }
  const def = DEF_RE.exec(raw);
  if (def) {
    st.defs.set(def[1]!, def[2]!.trim());
    return;
  }
  const expanded = expand(raw, path, st);
  if (expanded === undefined) {
    diag(
      'error',
      col0 + 1,
      'definition',
      `definitions make this line longer than ${LIMITS.lineLength} ` +
        'characters (a definition that doubles itself?); ignored',
      'CONFIG_LIMIT',
    );
    return;
  }
  if (expanded !== raw) {
    // Re-read what the definitions produced: it may be several lines, a conditional, a definition.
    processLines(
      path,
      expanded.split('\n').map((text) => ({ text, line: l.line })),
      st,
      out,
      depth + 1,
      true,
    );
    return;
  }
  const words = splitLine(raw).map((w) => ({ ...w, col: w.col + col0 }));
  for (const w of words)
    if (w.unterminated)
      diag('error', w.unterminated + col0, 'quote', 'a double quote is never closed on this line', 'CONFIG_SYNTAX');
  if (words[0]?.text === 'include' && !words[0].quoted) {
    include(path, words, st, out, diag);
    return;
  }
  if ((st.tokens += words.length) > LIMITS.tokens) {
    stop(diag, `more than ${LIMITS.tokens} words in all`, st);
    return;
  }
  const stmt = ++st.stmt;
  for (const w of words) out.push({ text: w.text, file: path, line: l.line, col: w.col, quoted: w.quoted, stmt });
}

/** A total bound was hit: one error here, and reading stops. */
function stop(diag: Diag, what: string, st: State): void {
  diag('error', 1, 'include', `${what}; reading stops here`, 'CONFIG_LIMIT');
  st.stopped = true;
}

/** The identity of a file for loop detection: its real path when it exists. */
function identity(f: string): string {
  try {
    return realpathSync(f);
  } catch {
    return resolve(f);
  }
}

/** `include GLOB`: each matching file in name order; loops, depth and the number of files are bounded. */
function include(path: string, words: Word[], st: State, out: Token[], diag: Diag): void {
  const arg = words[1];
  if (!arg) {
    diag('error', words[0]!.col, 'include', 'expected a file name or glob', 'CONFIG_MISSING_VALUE');
    return;
  }
  const files = globFiles(resolve(dirname(path), arg.text));
  if (files.length === 0) diag('warning', arg.col, 'include', `no file matches ${arg.text}`, 'CONFIG_INCLUDE');
  if (st.depth >= LIMITS.includeDepth) {
    diag('error', arg.col, 'include', `includes nested more than ${LIMITS.includeDepth} deep`, 'CONFIG_LIMIT');
    return;
  }
  for (const f of files) {
    if (st.stopped) return;
    const id = identity(f);
    const loop = st.stack.indexOf(id);
    if (loop >= 0) {
      diag(
        'error',
        arg.col,
        'include',
        `include loop: ${[...st.stack.slice(loop), id].join(' → ')}; not read again`,
        'CONFIG_LIMIT',
      );
      continue;
    }
    if (++st.files > LIMITS.files) {
      diag(
        'error',
        arg.col,
        'include',
        `more than ${LIMITS.files} files included in all; reading stops here`,
        'CONFIG_LIMIT',
      );
      st.stopped = true;
      return;
    }
    let t: string;
    try {
      t = (st.o.readFile ?? readConfigFile)(f);
    } catch (e) {
      diag(
        'error',
        arg.col,
        'include',
        `cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        'CONFIG_INCLUDE',
      );
      continue;
    }
    st.depth++;
    st.stack.push(id);
    lexFile(f, t, st, out);
    st.stack.pop();
    st.depth--;
  }
}

/** `~SEQ(var, [start, [step,]] end) rest`: `rest` once per value, with $var set (hex for ~SEQx). */
function sequence(path: string, l: Line, m: RegExpExecArray, st: State, out: Token[], depth: number, diag: Diag): void {
  const kw = m[1] ? '~SEQx' : '~SEQ';
  const args = m[2]!.split(',').map((a) => a.trim());
  const name = args.shift() ?? '';
  const nums = args.map((a) => Number(expand(a, path, st) ?? NaN));
  if (
    !new RegExp(`^${NAME}$`).test(name) ||
    nums.length < 1 ||
    nums.length > 3 ||
    nums.some((x) => !Number.isInteger(x))
  ) {
    diag(
      'error',
      1,
      kw,
      `expected ${kw}(var, [start, [step,]] end) with whole numbers, got "${m[2]}"`,
      'CONFIG_SYNTAX',
    );
    return;
  }
  const end = nums[nums.length - 1]!;
  const start = nums.length >= 2 ? nums[0]! : end < 0 ? -1 : 1;
  const step = nums.length === 3 ? nums[1]! : end >= start ? 1 : -1;
  if (step === 0 || (step > 0 ? start > end : start < end) || Math.abs((end - start) / step) >= MAX_SEQ) {
    if (step === 0 || Math.abs((end - start) / (step || 1)) >= MAX_SEQ) {
      diag('error', 1, kw, `${kw}(${m[2]}) would never end or makes more than ${MAX_SEQ} lines`, 'CONFIG_LIMIT');
    }
    return;
  }
  const prev = st.defs.get(name);
  for (let v = start; (step > 0 ? v <= end : v >= end) && !st.stopped; v += step) {
    st.defs.set(name, m[1] ? v.toString(16) : String(v));
    processLine(path, { text: m[3]!, line: l.line }, st, out, depth + 1);
  }
  if (prev === undefined) st.defs.delete(name);
  else st.defs.set(name, prev);
}

function lexFile(path: string, text: string, st: State, out: Token[]): void {
  processLines(
    path,
    text.split('\n').map((t, i) => ({ text: t, line: i + 1 })),
    st,
    out,
    0,
  );
}

export function lex(path: string, text: string, o: LexOptions = {}): { tokens: Token[]; diagnostics: Diagnostic[] } {
  const st: State = {
    defs: new Map(),
    diags: [],
    depth: 0,
    o,
    stmt: 0,
    stack: [identity(path)],
    lines: 0,
    files: 1,
    chars: 0,
    tokens: 0,
    stopped: false,
  };
  const tokens: Token[] = [];
  lexFile(path, text, st, tokens);
  return { tokens, diagnostics: st.diags };
}
