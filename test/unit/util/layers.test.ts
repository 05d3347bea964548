/**
 * The layer rule (issue 12 item 7): docs/architecture.md's table "Layers (each depends only on the
 * ones listed before it)" is the order; a module in src/ may import only from its own row or a row
 * listed before it. The table is read from the doc, so the doc and the rule cannot drift apart.
 * The allow-list names each exception and why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '../../../../..');
const SRC = join(root, 'src');

/** "importer -> imported" (paths from the checkout root) → why the upward import is allowed. */
const ALLOWED: Record<string, string> = {
  // none today: a new entry names the edge and why it cannot point downwards.
};

/** The table's rows in order: `src/x` (a folder) or `src/x.ts` (a file). */
function layers(): string[] {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const start = doc.indexOf('## Layers (each depends only on the ones listed before it)');
  assert.ok(start >= 0, 'docs/architecture.md has the layer table');
  const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
  return [...section.matchAll(/^\| `(src\/[^`]+)` \|/gm)].map((m) => m[1]!);
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative specifiers of static imports, re-exports and `import('…')` types, comments stripped. */
function imports(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  return [...code.matchAll(spec)].map((m) => m[1]!);
}

function rowOf(order: string[], rel: string): number {
  return order.findIndex((r) => rel === r || rel.startsWith(`${r}/`));
}

test('the layer table lists every folder and top-level file in src/', () => {
  const order = layers();
  const missing = readdirSync(SRC)
    .map((n) => `src/${n}`)
    .filter((p) => !order.includes(p));
  assert.deepEqual(missing, [], 'add these to the table in docs/architecture.md, in layer order');
});

test('no module in src/ imports from a layer listed after its own', () => {
  const order = layers();
  const found: string[] = [];
  for (const f of walk(SRC)) {
    const rel = relative(root, f);
    const mine = rowOf(order, rel);
    for (const spec of imports(readFileSync(f, 'utf8'))) {
      const target = normalize(join(dirname(rel), spec)).replace(/\.js$/, '.ts');
      const theirs = rowOf(order, target);
      const edge = `${rel} -> ${target}`;
      if (theirs > mine && !(edge in ALLOWED)) found.push(`${edge} (${order[theirs]} is listed after ${order[mine]})`);
    }
  }
  assert.deepEqual(found, []);
});

test('every allow-listed upward import still exists (a stale exception is removed)', () => {
  const order = layers();
  for (const edge of Object.keys(ALLOWED)) {
    const [from = '', to = ''] = edge.split(' -> ');
    const specs = imports(readFileSync(join(root, from), 'utf8')).map((s) =>
      normalize(join(dirname(from), s)).replace(/\.js$/, '.ts'),
    );
    assert.ok(specs.includes(to), `${edge} is no longer imported`);
    assert.ok(rowOf(order, to) > rowOf(order, from), `${edge} is no longer upward`);
  }
});
