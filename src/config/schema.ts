/**
 * Blocks as tables: a block's schema maps each keyword to how it is read. The table IS the
 * keyword list: the did-you-mean candidates, the "not yet supported" notes and the docs test
 * (test/unit/config/docs.test.ts against docs/config.md) all come from it, so they cannot drift.
 *
 * To add a keyword, add an entry; to add a block, write a schema in its own file and read it
 * with `readBlock` (docs/config.md, "Adding a keyword or a block"; blocks.ts for top-level blocks).
 */
import type { Ctx } from './ctx.js';
import type { Node } from './lexer.js';

/**
 * - `honoured`: the running daemon acts on it;
 * - `unsupported`: recognised (and, with a `read`, checked and modelled) but not acted on: reported;
 * - `floatd`: a floatd addition, not a keepalived keyword.
 */
export type Status = 'honoured' | 'unsupported' | 'floatd';

/** `value`: words on its line, no block. `block`: a `{ }` block, no words. `any`: not checked. */
export type Shape = 'value' | 'block' | 'any';

export interface Keyword<T> {
  /** Reads the statement into the block's value. Absent: recognised and skipped. */
  read?: (c: Ctx, e: Node, t: T) => void;
  /** Default: `value` with a `read`, `any` without. */
  shape?: Shape;
  /** Default: `honoured` with a `read`, `unsupported` without. */
  status?: Status;
  /** For `unsupported`: what is said instead of "parsed but not yet supported by floatd". */
  note?: string;
}

export type Schema<T> = Readonly<Record<string, Keyword<T>>>;

export function statusOf(k: Keyword<never>): Status {
  return k.status ?? (k.read ? 'honoured' : 'unsupported');
}
export function shapeOf(k: Keyword<never>): Shape {
  return k.shape ?? (k.read ? 'value' : 'any');
}

/** The entry for `word`, never an inherited property (`constructor`, `__proto__`). */
export function entry<V>(s: Readonly<Record<string, V>>, word: string): V | undefined {
  return Object.hasOwn(s, word) ? s[word] : undefined;
}

/** Checks a statement against its shape; false when it cannot be read (a block keyword without a block). */
export function checkShape(c: Ctx, e: Node, shape: Shape): boolean {
  const k = e.key.text;
  if (shape === 'block') {
    if (!e.children) {
      const what = e.args.length ? `; "${e.args.map((a) => a.text).join(' ')}" would be ignored` : '';
      c.err(
        e.key,
        k,
        `expected a { } block after ${k}${what}`,
        e.args.length ? `write: ${k} { ${e.args[0]!.text} } (one entry per line inside)` : undefined,
        'CONFIG_SYNTAX',
      );
      return false;
    }
    if (e.args.length) c.warn(e.args[0]!, k, `words after ${k} are ignored; what it takes goes inside its { } block`);
  } else if (shape === 'value' && e.children) {
    c.warn(e.key, k, `${k} takes no { } block; the block after it is ignored`);
  }
  return true;
}

export interface BlockOptions<T> {
  /** Handles a keyword that is not in the table (return true); else it is an unknown-keyword warning. */
  other?: (c: Ctx, e: Node, t: T) => boolean;
}

/** Reads every statement of block `n` (named `where` in messages) through `schema` into `t`. */
export function readBlock<T>(c: Ctx, where: string, n: Node, schema: Schema<T>, t: T, o: BlockOptions<T> = {}): void {
  for (const e of n.children ?? []) readStatement(c, where, e, schema, t, o);
}

export function readStatement<T>(
  c: Ctx,
  where: string,
  e: Node,
  schema: Schema<T>,
  t: T,
  o: BlockOptions<T> = {},
): void {
  const kw = entry(schema, e.key.text);
  if (!kw) {
    if (!o.other?.(c, e, t)) c.unknown(e, where, Object.keys(schema));
    return;
  }
  if (!checkShape(c, e, shapeOf(kw as Keyword<never>))) return;
  kw.read?.(c, e, t);
  if (statusOf(kw as Keyword<never>) === 'unsupported') c.notYet(e, kw.note);
}

/** Entries for keywords recognised and skipped (status `unsupported`, no reader). */
export function notYet<T>(words: readonly string[], note?: string): Record<string, Keyword<T>> {
  return Object.fromEntries(words.map((w) => [w, note ? { note } : {}]));
}
