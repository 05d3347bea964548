/**
 * keepalived.conf words: one line split into words with their columns (`#`/`!` comments,
 * double quotes with keepalived's escapes, `{`/`}` on their own), and a script's command line
 * split as keepalived splits it. Pure; lexer.ts reads files and lines around these.
 */

/** `${_HASH}` / `${_BANG}` stand in as private-use characters until the line is split,
  so they never start a comment. */
export const HASH = '\uE000';
export const BANG = '\uE001';
const unmask = (t: string): string => t.replace(/\uE000/g, '#').replace(/\uE001/g, '!');

const OCT = /[0-7]{1,3}/y;
/** Characters that end a run of plain word characters in splitLine. */
const WORD_STOP = new Set([' ', '\t', '\r', '{', '}', '"', '$']);
const HEX = /[0-9a-fA-F]{1,2}/y;

/** keepalived's escapes inside double quotes: \a \b \E \f \n \r \t \v \nnn \xXX \cC, else the character itself. */
function unescape(line: string, j: number): { ch: string; next: number } {
  const c = line[j + 1];
  if (c === undefined) return { ch: '\\', next: j + 1 };
  const simple: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  if (simple[c] !== undefined) return { ch: simple[c]!, next: j + 2 };
  OCT.lastIndex = j + 1;
  const oct = OCT.exec(line);
  if (oct) return { ch: String.fromCharCode(parseInt(oct[0], 8) & 0xff), next: j + 1 + oct[0].length };
  HEX.lastIndex = j + 2;
  const hex = c === 'x' ? HEX.exec(line) : null;
  if (hex) return { ch: String.fromCharCode(parseInt(hex[0], 16)), next: j + 2 + hex[0].length };
  if (c === 'c' && j + 2 < line.length) return { ch: String.fromCharCode(line.charCodeAt(j + 2) & 0x1f), next: j + 3 };
  return { ch: c, next: j + 2 };
}

/**
 * Splits one line into words. Double quotes group (also in the middle of a word, as in a
 * shell: `ab"c d"e` is one word `abc de`) and take escapes; `#`/`!` at the start of a word
 * outside quotes start a comment.
 */
export interface Word {
  text: string;
  col: number;
  quoted: boolean;
  /** Column of a `"` never closed. */ unterminated?: number;
}

export function splitLine(line: string): Word[] {
  const out: Word[] = [];
  let i = 0;
  // The next '}' at or after i (-1: none): searched again only when passed, so a line of '${' stays linear.
  let close = -2;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#' || c === '!') break;
    if (c === '{' || c === '}') {
      out.push({ text: c, col: i + 1, quoted: false });
      i++;
      continue;
    }
    const start = i;
    let text = '';
    let quoted = false;
    let unterminated: number | undefined;
    while (i < line.length && !' \t\r{}'.includes(line[i]!)) {
      // An undefined ${NAME} stays as written, braces included (keepalived keeps it too).
      if (line[i] === '$' && line[i + 1] === '{') {
        if (close !== -1 && close < i) close = line.indexOf('}', i);
        if (close > 0) {
          text += line.slice(i, close + 1);
          i = close + 1;
          continue;
        }
      }
      if (line[i] !== '"') {
        // A run of plain characters is copied at once (not one concatenation per character).
        let j = i + 1;
        while (j < line.length && !WORD_STOP.has(line[j]!)) j++;
        text += line.slice(i, j);
        i = j;
        continue;
      }
      quoted = true;
      const open = i;
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') {
          const u = unescape(line, i);
          text += u.ch;
          i = u.next;
          continue;
        }
        text += line[i];
        i++;
      }
      if (i >= line.length) unterminated = open + 1;
      i++; // the closing quote
    }
    out.push({ text: unmask(text), col: start + 1, quoted, ...(unterminated ? { unterminated } : {}) });
  }
  return out;
}

/**
 * A script's command line as keepalived splits it: words at unquoted blanks; single or double
 * quotes group a word with its spaces; no comments (`test ! -f /x` keeps its `!`).
 */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) out.push(word);
      word = undefined;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      const stop = end < 0 ? text.length : end;
      word = (word ?? '') + text.slice(i + 1, stop);
      i = stop;
      continue;
    }
    if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
      continue;
    }
    word = (word ?? '') + c;
  }
  if (word !== undefined) out.push(word);
  return out;
}
