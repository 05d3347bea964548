/**
 * The code's shape (issue 12 item 3): no line over 120 characters in any .ts file under src/, test/
 * and bench/; no src/ file over 400 lines; prettier (.prettierrc) leaves src/, test/ and bench/ as
 * they are. Prettier cannot break strings, template literals, comments or test titles, so the line
 * rule is checked here as well. `npm run format` rewrites; `npm run lint` runs this and the other code rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '../../../../..');
const MAX_LINE = 120;
const MAX_FILE_LINES = 400;

/**
 * src/ files allowed over 400 lines while a split is under way → who is splitting it. None today: every
 * split of issue 12 has landed. An entry goes when its split lands (the stale-entry test below says so).
 */
const LONG_FILES: Record<string, string> = {};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const files = (dir: string): string[] => walk(join(root, dir)).map((f) => relative(root, f));

/** `file:line (length)` for each line over the limit. */
function longLines(rel: string, text: string): string[] {
  return text.split('\n').flatMap((l, i) => (l.length > MAX_LINE ? [`${rel}:${i + 1} (${l.length})`] : []));
}

const lineCount = (text: string): number => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

test('no line over 120 characters in src/, test/ or bench/', () => {
  const found = ['src', 'test', 'bench']
    .flatMap(files)
    .flatMap((f) => longLines(f, readFileSync(join(root, f), 'utf8')));
  assert.deepEqual(found, [], `break these lines (prettier cannot break strings or comments):\n${found.join('\n')}`);
});

test('no file in src/ over 400 lines', () => {
  const found = files('src')
    .filter((f) => !(f in LONG_FILES))
    .flatMap((f) => {
      const n = lineCount(readFileSync(join(root, f), 'utf8'));
      return n > MAX_FILE_LINES ? [`${f} (${n} lines)`] : [];
    });
  assert.deepEqual(found, [], `split these by job into modules of at most ${MAX_FILE_LINES} lines`);
});

test('every allow-listed long file exists and is still over 400 lines (a stale entry is removed)', () => {
  const stale = Object.entries(LONG_FILES).filter(
    ([f]) => !existsSync(join(root, f)) || lineCount(readFileSync(join(root, f), 'utf8')) <= MAX_FILE_LINES,
  );
  assert.deepEqual(stale, [], 'remove these entries from LONG_FILES in test/unit/util/code-shape.test.ts');
});

test('the checks see an offender (they are not vacuous)', () => {
  assert.deepEqual(longLines('x.ts', `ok\n${'a'.repeat(121)}\n${'b'.repeat(120)}`), ['x.ts:2 (121)']);
  assert.equal(lineCount('a\nb\n'), 2);
  assert.equal(lineCount('a\nb'), 2);
  assert.ok(files('src').length > 100, 'the walk finds the sources');
});

test('prettier --check passes on src/, test/ and bench/', () => {
  const prettier = join(root, 'node_modules/.bin/prettier');
  try {
    execFileSync(prettier, ['--check', 'src', 'test', 'bench'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    const out = e as { stdout?: string; stderr?: string };
    assert.fail(`run \`npm run format\` (prettier --write src test bench):\n${out.stdout ?? ''}${out.stderr ?? ''}`);
  }
});
