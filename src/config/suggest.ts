/**
 * "Did you mean" for misspelt keywords, bounded: a word is compared only with candidates of a
 * similar length, the distance stops at the bound, and long words get no hint. A file with
 * thousands of unknown keywords costs microseconds each (issue 15 item 6), not 0.6 ms.
 */

/** Words longer than this get no hint (no keyword is this long). */
const MAX_WORD = 48;

/** Levenshtein distance of a and b, or max+1 as soon as it is certain to exceed max. */
export function boundedDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate within `max` edits (the first one listed on a tie), if any. */
export function nearest(word: string, candidates: Iterable<string>, max = 2): string | undefined {
  if (word.length > MAX_WORD) return undefined;
  let best: string | undefined;
  let bestD = max + 1;
  for (const c of candidates) {
    const d = boundedDistance(word, c, Math.min(max, bestD - 1));
    if (d < bestD) {
      best = c;
      bestD = d;
      if (d === 0) break;
    }
  }
  return best;
}

/** Distinct unknown words per parse that get a hint; the rest are still reported, without one. */
const MAX_HINTED = 2000;

/** Remembers hints per (block, word), so a repeated typo is computed once. */
export class Suggester {
  private readonly cache = new Map<string, string | undefined>();
  hint(where: string, word: string, candidates: Iterable<string>): string | undefined {
    const key = `${where}\0${word}`;
    if (this.cache.has(key)) return this.cache.get(key);
    if (this.cache.size >= MAX_HINTED) return undefined;
    const h = nearest(word, candidates);
    this.cache.set(key, h);
    return h;
  }
}
