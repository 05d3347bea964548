/**
 * The config fuzzer (issue 15, "tests that keep them fixed"): ≥ 10,000 mutations per run of the
 * seed configs (examples/) and the fixture configs, each parsed as `check` does. Properties: the
 * parser never throws (the exit-70 class), every case ends within a per-case bound (no hang),
 * every diagnostic is positioned inside the text it names, and a result with an error is
 * never "usable". fast-check prints the seed of a failing run: replay it with FLOATD_FUZZ_SEED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseConfigText, formatDiagnostic, MAX_DIAGNOSTICS } from '../../../src/config/index.js';
import { TOP } from '../../../src/config/blocks.js';
import { GLOBAL_SCHEMA } from '../../../src/config/global-block.js';
import { INSTANCE_SCHEMA } from '../../../src/config/instance-block.js';
import { SCRIPT_SCHEMA } from '../../../src/config/script-block.js';

const root = new URL('../../../', import.meta.url).pathname.replace(/\/dist\/$/, '/');
const SEEDS = [
  'examples/seed-master.conf',
  'examples/seed-backup.conf',
  'examples/lvs-nat.conf',
  'test/fixtures/configs/keepalived-sweep.conf',
  'test/fixtures/configs/floatd-additions.conf',
].map((f) => ({ file: join(root, f), text: readFileSync(join(root, f), 'utf8') }));
/** Cases per run: the big sweep fixture costs ~3 ms a parse, the others < 1 ms. */
const RUNS = Number(process.env.FLOATD_FUZZ_RUNS ?? 10_000);
/** A single parse may take this long at most (a hang is far beyond; real parses take milliseconds). */
const PER_CASE_MS = 3000;

/** Words a careless operator or an attacker would write: keywords, structure, grammar features, bad numbers. */
const WORDS = [
  ...Object.keys(TOP),
  ...Object.keys(GLOBAL_SCHEMA),
  ...Object.keys(INSTANCE_SCHEMA),
  ...Object.keys(SCRIPT_SCHEMA),
  '{',
  '}',
  '{ }',
  '"',
  '"x y"',
  '\\',
  '#',
  '!',
  '$X',
  '${X}',
  '$X=${X}${X}',
  '$X=\\',
  '~SEQ(a, 1, 3)',
  '~SEQ(a, 1, 2000000)',
  '~SEQ(a, 1, 200) ~SEQ(b, 1, 3)',
  '~SEQx(a,0,16)',
  '"a\\nb"',
  '"\\r\\x1b[2J"',
  '@lb1',
  '@^lb1',
  'include',
  'include [',
  'include *',
  'include [z-a].conf',
  'include ../*',
  '${_RANDOM 1 9}',
  '${_PWD}',
  '${_HASH}',
  '0',
  '-0',
  '1e1',
  '0x18',
  '24.0',
  '255',
  '256',
  '-254',
  '254',
  '4294967296',
  '99999999999999999999',
  'NaN',
  '/24/5',
  '192.0.2.1/-0',
  '2001:db8::1',
  'fe80::1%eth0',
  '198.51.100.7',
  '224.0.0.18',
  'ff02::12',
  'eth0123456789abcdef',
  'MASTER',
  'BACKUP',
  'AH',
  'PASS',
  'weight',
  'reverse',
  'constructor',
  '__proto__',
  'x'.repeat(300),
];

type Edit = (lines: string[], r: number[]) => string[];
const at = (n: number, x: number): number => (n === 0 ? 0 : Math.floor(x * n) % n);
const EDITS: Edit[] = [
  (l, [a]) => l.filter((_, i) => i !== at(l.length, a!)),
  (l, [a]) => {
    const i = at(l.length, a!);
    return [...l.slice(0, i + 1), l[i] ?? '', ...l.slice(i + 1)];
  },
  (l, [a, b]) => {
    const c = [...l];
    const i = at(c.length, a!);
    const j = at(c.length, b!);
    [c[i], c[j]] = [c[j] ?? '', c[i] ?? ''];
    return c;
  },
  (l, [a, b, w]) => {
    const c = [...l];
    const i = at(c.length, a!);
    const s = c[i] ?? '';
    const k = at(s.length + 1, b!);
    c[i] = `${s.slice(0, k)} ${WORDS[at(WORDS.length, w!)]} ${s.slice(k)}`;
    return c;
  },
  (l, [a, b, w]) => {
    const c = [...l];
    const i = at(c.length, a!);
    const ws = (c[i] ?? '').split(/(\s+)/);
    ws[at(ws.length, b!)] = WORDS[at(WORDS.length, w!)]!;
    c[i] = ws.join('');
    return c;
  },
  (l, [a, b, w]) => {
    const c = [...l];
    const i = at(c.length, a!);
    const s = c[i] ?? '';
    const k = at(s.length + 1, b!);
    c[i] = s.slice(0, k) + '{}"\\#!$@~ \t/.:-x9'[at(18, w!)]! + s.slice(k + (w! > 0.5 ? 1 : 0));
    return c;
  },
  (l, [a]) => l.slice(0, at(l.length + 1, a!)),
  (l, [a, b]) => {
    const i = at(l.length, a!);
    const j = Math.min(l.length, i + 1 + at(20, b!));
    return [...l.slice(0, i), 'x {', ...l.slice(i, j), '}', ...l.slice(j)];
  },
  (l, [a, b]) => {
    const i = at(l.length, a!);
    const j = at(l.length, b!);
    return [...l.slice(0, j), ...l.slice(i, i + 5), ...l.slice(j)];
  },
];

const mutation = fc.record({
  edit: fc.nat({ max: EDITS.length - 1 }),
  r: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 3, maxLength: 3 }),
});

function check(
  seed: { file: string; text: string },
  edits: { edit: number; r: number[] }[],
  configIds: string[],
): void {
  let lines = seed.text.split('\n');
  for (const e of edits) lines = EDITS[e.edit]!(lines, e.r);
  const text = lines.join('\n');
  const t0 = process.hrtime.bigint();
  // Includes read nothing from the disk: a mutated `include` must not wander the file system.
  const r = parseConfigText(text, seed.file, {
    configIds,
    readFile: () => {
      throw Object.assign(new Error('fuzz'), { code: 'ENOENT' });
    },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms < PER_CASE_MS, `${ms.toFixed(0)} ms for one parse:\n${text.slice(0, 2000)}`);
  assert.ok(r.diagnostics.length <= MAX_DIAGNOSTICS + 1);
  const nLines = text.split('\n').length;
  for (const d of r.diagnostics) {
    const where = `${formatDiagnostic(d)}\n--- text ---\n${text.slice(0, 2000)}`;
    assert.ok(d.file === seed.file, `a diagnostic names another file: ${where}`);
    assert.ok(Number.isInteger(d.line) && d.line >= 1 && d.line <= nLines, `line out of the text: ${where}`);
    assert.ok(Number.isInteger(d.col) && d.col >= 1, `column not positioned: ${where}`);
    assert.ok(d.message.length > 0 && d.message.length < 2000, `message: ${where}`);
    assert.ok(!/[\r\n]/.test(formatDiagnostic(d)), `one diagnostic, one line: ${where}`);
  }
  if (r.diagnostics.some((d) => d.severity === 'error'))
    assert.equal(r.config, null, 'an error makes the file unusable');
  else assert.ok(r.config, 'no error: usable');
}

const seedFc = process.env.FLOATD_FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FLOATD_FUZZ_SEED) };

test(
  `config fuzzer: ${RUNS} mutated configs, no throw, no hang, every diagnostic positioned`,
  { timeout: 120_000 },
  () => {
    const t0 = process.hrtime.bigint();
    const small = SEEDS.filter((s) => !s.file.endsWith('keepalived-sweep.conf'));
    const sweep = SEEDS.find((s) => s.file.endsWith('keepalived-sweep.conf'))!;
    const ids = fc.constantFrom<string[]>([], ['lb1'], ['lb2']);
    // ~70 % of the cases on the small seeds (fast), ~30 % on the sweep fixture (every keyword).
    fc.assert(
      fc.property(
        fc.nat({ max: small.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        ids,
        (s, edits, cid) => check(small[s]!, edits, cid),
      ),
      { numRuns: Math.ceil(RUNS * 0.7), ...seedFc },
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), ids, (edits, cid) => check(sweep, edits, cid)),
      { numRuns: Math.floor(RUNS * 0.3), ...seedFc },
    );
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    assert.ok(s < 60, `the fuzzer took ${s.toFixed(1)} s (bound 60 s)`);
  },
);

test('fuzzer sanity: the unmutated seeds parse without an error', () => {
  for (const s of SEEDS) {
    const r = parseConfigText(s.text, s.file, { configIds: ['lb1'] });
    assert.ok(r.config, `${s.file}:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
  }
});
