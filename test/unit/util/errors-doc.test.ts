/**
 * docs/errors.md and src/errors.ts name the same codes, family by family; every code literal in src/
 * (and every `E_CODE` in the docs) is one of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_FAMILIES, ERRORS, isErrorCode } from '../../../src/errors.js';

const ROOT = join(fileURLToPath(import.meta.url), '../../../../..');
const DOC = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');

/** The doc's section heading for each family of src/errors.ts. */
const HEADINGS: Record<keyof typeof ERROR_FAMILIES, string> = {
  runtime: 'Runtime',
  api: 'API',
  config: 'Configuration',
  cloud: 'Cloud',
  quorum: 'Quorum',
  lb: 'Load balancer',
};

/** `## Heading` → the codes in the first column of its table. */
function docTables(md: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of md.split('\n')) {
    const h = /^## (.+)$/.exec(line);
    if (h) out.set(h[1]!.trim(), (cur = []));
    const row = /^\| `([A-Z][A-Z0-9_]*)` \|/.exec(line);
    if (row && cur) cur.push(row[1]!);
  }
  return out;
}

test('docs/errors.md has one table per family, with exactly the codes of src/errors.ts', () => {
  const tables = docTables(DOC);
  for (const [family, heading] of Object.entries(HEADINGS)) {
    const codes = tables.get(heading);
    assert.ok(codes, `docs/errors.md has no "## ${heading}" section for the ${family} family`);
    assert.deepEqual(
      [...codes].sort(),
      Object.keys(ERROR_FAMILIES[family as keyof typeof ERROR_FAMILIES]).sort(),
      `the ${heading} table and ${family} in src/errors.ts differ`,
    );
  }
  const documented = [...tables.values()].flat();
  assert.equal(new Set(documented).size, documented.length, 'a code is documented twice');
  assert.deepEqual(documented.sort(), Object.keys(ERRORS).sort());
  for (const [code, meaning] of Object.entries(ERRORS)) assert.ok(meaning.length > 10, `${code} has a meaning`);
});

test('no code is in two families', () => {
  const all = Object.values(ERROR_FAMILIES).flatMap((f) => Object.keys(f));
  assert.equal(new Set(all).size, all.length);
});

/** Code literals in the places codes go: refuse/withCode/sendError/errorBody/FloatdError arguments, `code:` fields. */
export function codeLiterals(src: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:refuse|withCode|errorBody|FloatdError)\(\s*'([A-Z][A-Z0-9_]*)'/g,
    /\bsendError\([^,()]+,\s*\d+,\s*'([A-Z][A-Z0-9_]*)'/g,
    /\bsendResult\([^;]*?'([A-Z][A-Z0-9]*_[A-Z0-9_]*)'/g,
    /\b(?:code|error|fallback)\??:\s*'([A-Z][A-Z0-9]*_[A-Z0-9_]*)'/g,
  ];
  for (const re of patterns) for (const m of src.matchAll(re)) out.push(m[1]!);
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('the scanner finds a code that is not in the tables', () => {
  assert.deepEqual(codeLiterals(`return refuse('NO_SUCH_THING', 'x'); sendError(res, 404, 'NOT_FOUND');`), [
    'NO_SUCH_THING',
    'NOT_FOUND',
  ]);
  assert.deepEqual(codeLiterals(`log.warn({ event: 'x', code: 'MADE_UP' }, m)`), ['MADE_UP']);
});

test('every code literal in src/ is a documented code', () => {
  const found = new Map<string, string>();
  for (const f of tsFiles(join(ROOT, 'src'))) {
    for (const c of codeLiterals(readFileSync(f, 'utf8'))) if (!found.has(c)) found.set(c, f);
  }
  const unknown = [...found].filter(([c]) => !isErrorCode(c)).map(([c, f]) => `${c} (${f})`);
  assert.deepEqual(unknown, [], 'codes used in src/ but not in src/errors.ts');
  // The scan is not vacuous: most codes are used by name somewhere.
  assert.ok(found.size >= 20, `only ${found.size} code literals found in src/`);
});

test('every E_CODE the docs mention is a code', () => {
  for (const f of readdirSync(join(ROOT, 'docs')).filter((n) => n.endsWith('.md'))) {
    const text = readFileSync(join(ROOT, 'docs', f), 'utf8');
    for (const m of text.matchAll(/\bE_([A-Z][A-Z0-9_]*[A-Z0-9])\b/g))
      assert.ok(isErrorCode(m[1]), `docs/${f} mentions E_${m[1]}, which is not in src/errors.ts`);
  }
});

test('API answers that are not 2xx go through sendError/sendResult (the coded body), never a bare send', () => {
  const bare = /\b(?:ctx\.send|send)\(\s*(?:[a-z.]+,\s*)?[45]\d\d\b/;
  assert.ok(bare.test('ctx.send(404, { error: "x" })') && bare.test('send(res, 500, {})'), 'the pattern finds them');
  const found = tsFiles(join(ROOT, 'src')).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .map((l, i) => [l, i] as const)
      .filter(([l]) => bare.test(l))
      .map(([, i]) => `${f}:${i + 1}`),
  );
  assert.deepEqual(found, []);
});
