/**
 * The one-clock rule (issue 12 item 4): nothing in src/ reads the time or arms a timer except
 * src/util/clock.ts. Everything else takes a Clock (or its ms view) so tests and the simulator
 * control time. The allow-list names each exception and why it cannot use the clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '../../../../..');
const SRC = join(root, 'src');

const RAW = new RegExp(
  [
    String.raw`(?<![.\w])(?:setTimeout|setInterval|setImmediate)\s*\(`,
    String.raw`\bDate\.now\b`,
    String.raw`\bperformance\.now\s*\(`,
    String.raw`new Date\(\s*\)`,
    String.raw`AbortSignal\.timeout\s*\(`,
  ].join('|'),
  'g',
);

/** file → why raw time is allowed there. */
const ALLOWED: Record<string, string> = {
  'src/util/clock.ts': 'the clock module itself',
  'src/api/dashboard.ts':
    'browser JavaScript inside a string, served to the dashboard page; it never runs in the daemon',
  'src/lab/client-probe.ts': 'the probe is JavaScript source for a separate process on the lab client host',
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Strips // and block comments so prose about setTimeout does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

test('no raw setTimeout/setInterval/Date.now/performance.now in src/ outside the clock module', () => {
  const found: string[] = [];
  for (const f of walk(SRC)) {
    const rel = relative(root, f);
    if (rel in ALLOWED) continue;
    const lines = code(readFileSync(f, 'utf8')).split('\n');
    lines.forEach((l, i) => {
      for (const m of l.matchAll(RAW)) found.push(`${rel}:${i + 1}: ${m[0]}`);
    });
  }
  assert.deepEqual(found, [], `use the injected Clock (src/util/clock.ts) instead:\n${found.join('\n')}`);
});

test('the check sees a violation (it is not vacuous)', () => {
  assert.equal([...code('const t = Date.now(); // setTimeout(x)').matchAll(RAW)].length, 1);
  assert.equal([...code('x = setTimeout(f, 1)').matchAll(RAW)].length, 1);
  for (const f of Object.keys(ALLOWED)) assert.ok(statSync(join(root, f)).isFile(), `${f} in the allow-list exists`);
});
