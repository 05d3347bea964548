/**
 * `include GLOB`: glob(3)'s patterns on the file name part (`*`, `?`, `[…]`, `[!…]`), matched by
 * a small matcher, never by a RegExp built from the text. A `[` without its `]` is a plain
 * character (as glob(3)); a reversed range (`[z-a]`) matches nothing; nothing here throws.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A `[…]` set starting at p[i] (the `[`): its test and the index after `]`, or undefined if unterminated. */
function charClass(p: string, i: number): { test: (ch: string) => boolean; next: number } | undefined {
  let j = i + 1;
  const negate = p[j] === '!' || p[j] === '^';
  if (negate) j++;
  const ranges: [string, string][] = [];
  let first = true;
  while (j < p.length && (p[j] !== ']' || first)) {
    first = false;
    const lo = p[j]!;
    if (p[j + 1] === '-' && j + 2 < p.length && p[j + 2] !== ']') {
      ranges.push([lo, p[j + 2]!]);
      j += 3;
    } else {
      ranges.push([lo, lo]);
      j++;
    }
  }
  if (j >= p.length) return undefined;
  return { test: (ch) => ranges.some(([a, b]) => a <= ch && ch <= b) !== negate, next: j + 1 };
}

/**
 * Whether `name` matches `pat` (no `/` in either). Iterative with one backtrack point per `*`:
 * linear-ish, no blow-up.
 */
export function globMatch(pat: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    const c = pat[p];
    if (c === '*') {
      starP = ++p;
      starN = n;
      continue;
    }
    let ok = false;
    let next = p + 1;
    if (c === '?') ok = true;
    else if (c === '[') {
      const cls = charClass(pat, p);
      if (cls) {
        ok = cls.test(name[n]!);
        next = cls.next;
      } else ok = name[n] === '[';
    } else if (c !== undefined) ok = c === name[n];
    if (ok) {
      p = next;
      n++;
      continue;
    }
    if (starP < 0) return false;
    p = starP;
    n = ++starN;
  }
  while (pat[p] === '*') p++;
  return p === pat.length;
}

export const hasGlob = (s: string): boolean => /[*?[]/.test(s);

/** The files matching `pattern` (its directory part is literal), sorted; a plain name is itself. */
export function globFiles(pattern: string): string[] {
  if (!hasGlob(basename(pattern))) return [pattern];
  const dir = dirname(pattern);
  const pat = basename(pattern);
  try {
    return readdirSync(dir)
      .filter((f) => (f[0] !== '.' || pat[0] === '.') && globMatch(pat, f))
      .sort()
      .map((f) => join(dir, f))
      .filter((f) => {
        try {
          return statSync(f).isFile();
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
}
