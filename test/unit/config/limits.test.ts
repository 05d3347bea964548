/**
 * Issue 15 item 9: inputs that crashed (exit 70) or hung the reader end in a positioned error,
 * within seconds and in bounded memory. Cases that hung before run through loadConfigBounded,
 * so a regression fails with a timeout instead of hanging the suite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadConfigBounded,
  parseConfigText,
  formatDiagnostic,
  MAX_DIAGNOSTICS,
  type Diagnostic,
  type LoadResult,
} from '../../../src/config/index.js';
import { globMatch } from '../../../src/config/glob.js';
import { LIMITS } from '../../../src/config/lexer.js';

const dump = (ds: Diagnostic[]): string => ds.slice(0, 20).map(formatDiagnostic).join('\n');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'floatd-limits-'));
const INST = 'vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n}\n';

/** Parses in-process and says how long it took (ms). */
function timed(text: string, file = 'l.conf'): { r: LoadResult; ms: number } {
  const t0 = process.hrtime.bigint();
  const r = parseConfigText(text, file);
  return { r, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/**
 * Writes `text` to a file and parses it in a bounded worker (30 s, 256 MB): a hang fails, it does
 * not stall the suite.
 */
async function bounded(text: string, name = 'l.conf', dir = tmp()): Promise<{ r: LoadResult; ms: number }> {
  const f = join(dir, name);
  writeFileSync(f, text);
  const t0 = process.hrtime.bigint();
  const r = await loadConfigBounded(f, { timeoutMs: 30_000 });
  return { r, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

function limitError(r: LoadResult, re: RegExp): Diagnostic {
  assert.equal(r.config, null);
  const d = r.diagnostics.find((x) => x.severity === 'error' && re.test(x.message));
  assert.ok(d, `want an error matching ${re}, got:\n${dump(r.diagnostics)}`);
  assert.ok(d.line >= 1 && d.col >= 1, `positioned: ${formatDiagnostic(d)}`);
  return d;
}

test('6,000 and 20,000 nested { are a positioned error, not a stack overflow', () => {
  for (const n of [6000, 20_000]) {
    const { r, ms } = timed('a {\n'.repeat(n));
    const d = limitError(r, /nested more than 32 deep/);
    assert.equal(`${d.line}:${d.col}`, `${LIMITS.blockDepth + 1}:3`);
    assert.equal(d.code, 'CONFIG_LIMIT');
    assert.ok(ms < 3000, `${ms} ms`);
  }
});

test('a quoted newline or escape sequence in a value stays on one diagnostic line', () => {
  const r = parseConfigText('vrrp_instance A {\n  interface eth0\n  virtual_router_id "5\\n\\x1b[2J"\n}\n', 'n.conf');
  const line = formatDiagnostic(r.diagnostics.find((d) => d.keyword === 'virtual_router_id')!);
  assert.equal(
    line,
    'n.conf:3:21: error: virtual_router_id: expected an integer 1..255, got "5\\x0a\\x1b[2J" [E_CONFIG_BAD_VALUE]',
  );
});

test('include [ and include [z-a].conf: no RegExp from the text, just "no file matches"', () => {
  const dir = tmp();
  for (const pat of ['[', `${dir}/[z-a].conf`, '[a-', '*[', '\\[']) {
    const r = parseConfigText(`include ${pat}\n${INST}`, join(dir, 'k.conf'));
    const w = r.diagnostics.find((d) => d.keyword === 'include');
    assert.match(w?.message ?? '', /no file matches/, pat);
    assert.ok(r.config, dump(r.diagnostics));
  }
});

test('glob matching: *, ?, sets, negated sets, reversed ranges, a lone [', () => {
  const yes: [string, string][] = [
    ['*.conf', 'a.conf'],
    ['?.conf', 'b.conf'],
    ['[ab].conf', 'b.conf'],
    ['[!a].conf', 'c.conf'],
    ['[a-c]*', 'cat'],
    ['[', '['],
    ['x[.conf', 'x[.conf'],
    ['*a*b*c', 'xaybzc'],
    ['[]x]', ']'],
  ];
  const no: [string, string][] = [
    ['*.conf', 'a.cfg'],
    ['[z-a].conf', 'm.conf'],
    ['[!a].conf', 'a.conf'],
    ['?.conf', 'ab.conf'],
    ['*a*b*c', 'xaybz'],
  ];
  for (const [p, n] of yes) assert.equal(globMatch(p, n), true, `${p} ~ ${n}`);
  for (const [p, n] of no) assert.equal(globMatch(p, n), false, `${p} !~ ${n}`);
  const t0 = process.hrtime.bigint();
  assert.equal(globMatch('*a'.repeat(30) + 'b', 'a'.repeat(200)), false);
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 500, 'no exponential backtracking');
});

test('an include glob reads the matching files in name order', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'd/b1.conf'), 'vrrp_instance B { \n interface eth1\n virtual_router_id 2\n}\n');
  writeFileSync(join(dir, 'd/a1.conf'), INST);
  writeFileSync(join(dir, 'd/c1.txt'), 'garbage {\n');
  const { r } = await bounded('include d/[ab]?.conf\n', 'k.conf', dir);
  assert.deepEqual(
    r.config?.instances.map((i) => i.name),
    ['A', 'B'],
    dump(r.diagnostics),
  );
});

test('more than 120,000 diagnostics: no crash; the result carries 1,000 and says how many more', () => {
  const { r, ms } = timed(`${INST}${'x 1\n'.repeat(130_000)}`);
  assert.equal(r.diagnostics.length, MAX_DIAGNOSTICS + 1);
  const last = r.diagnostics[MAX_DIAGNOSTICS]!;
  assert.equal(last.code, 'CONFIG_LIMIT');
  assert.match(last.message, /^129000 more diagnostics not shown \(0 errors, 129000 warnings, 0 notes\)/);
  assert.equal(`${last.line}:${last.col}`, '1005:1');
  assert.ok(r.config, 'warnings only: still usable');
  assert.ok(ms < 10_000, `${ms} ms`);
});

test('a file that includes itself (3 times) is an include loop, reported at once', async () => {
  const dir = tmp();
  const { r, ms } = await bounded(
    `${INST}include self.conf\ninclude self.conf\ninclude ./self.conf\n`,
    'self.conf',
    dir,
  );
  const d = limitError(r, /include loop: .*self\.conf → .*self\.conf/);
  assert.equal(`${d.line}:${d.col}`, '5:9');
  assert.equal(r.diagnostics.filter((x) => /include loop/.test(x.message)).length, 3);
  assert.ok(ms < 5000, `${ms} ms`);
});

test('two files including each other: a loop too', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'b.conf'), 'include a.conf\n');
  const { r } = await bounded(`${INST}include b.conf\n`, 'a.conf', dir);
  limitError(r, /include loop: .*a\.conf → .*b\.conf → .*a\.conf/);
});

test('nested ~SEQ, each under the per-sequence bound: the total number of lines is bounded', async () => {
  const { r, ms } = await bounded(`${INST}~SEQ(a, 1, 99999) ~SEQ(b, 1, 99999) x\${a}_\${b}\n`);
  const d = limitError(r, /more than 200000 lines in all/);
  assert.equal(`${d.line}:${d.col}`, '5:1');
  assert.ok(ms < 20_000, `${ms} ms`);
});

test('a definition that doubles itself ($D=${D}${D}) stops at the expansion bound', async () => {
  const { r, ms } = await bounded(`$D=x\n${'$D=${D}${D}\n'.repeat(40)}${INST}priority $D\n`);
  const d = limitError(r, /longer than 65536 characters/);
  assert.equal(`${d.line}:${d.col}`, '46:1');
  const self = await bounded(`$D=\${D}\${D}y\n${INST}$D\n`);
  limitError(self.r, /longer than 65536 characters|too deeply/);
  assert.ok(ms < 5000, `${ms} ms`);
});

test('13,000 unknown keywords (0.25 MB): the did-you-mean hints stay fast', () => {
  const words = Array.from({ length: 13_000 }, (_, i) => `  garp_master_dela${i.toString(36)} 1\n`);
  const text = `vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n${words.join('')}}\n`;
  assert.ok(text.length > 250_000 && text.length < 600_000, `${text.length}`);
  const { r, ms } = timed(text);
  // Before: 0.6 ms each, 7-12 s; now well under a second on an idle machine (bound with room for a loaded CI).
  assert.ok(ms < 5000, `${ms} ms for 13,000 unknown keywords`);
  assert.equal(r.diagnostics[0]?.hint, "did you mean 'garp_master_delay'?");
});

test('an unterminated double quote is a positioned error', () => {
  const r = parseConfigText('vrrp_script s {\n  script "pidof nginx\n}\n', 'q.conf');
  const d = limitError(r, /double quote is never closed/);
  assert.equal(`${d.line}:${d.col}`, '2:10');
});

test('a line over 64 KiB is a positioned error, not quadratic work', () => {
  const { r, ms } = timed(`${INST}x ${'${'.repeat(40_000)}\n`);
  const d = limitError(r, /line longer than 65536/);
  assert.equal(d.line, 5);
  assert.ok(ms < 1000, `${ms} ms`);
});

test('only regular files ≤ 16 MiB are read: /dev/zero, FIFO, directory, huge file: positioned errors', async () => {
  const dir = tmp();
  execFileSync('mkfifo', [join(dir, 'fifo.conf')]);
  mkdirSync(join(dir, 'sub.conf'));
  writeFileSync(join(dir, 'big.conf'), '');
  truncateSync(join(dir, 'big.conf'), 17 * 1024 * 1024);
  for (const [inc, why] of [
    ['/dev/zero', 'not a regular file'],
    ['fifo.conf', 'not a regular file'],
    ['sub.conf', 'not a regular file'],
    ['big.conf', 'larger than 16 MiB'],
  ] as const) {
    const { r, ms } = await bounded(`${INST}include ${inc}\n`, 'k.conf', dir);
    const d = limitError(r, new RegExp(`cannot read .*: ${why}`));
    assert.equal(`${d.line}:${d.col}`, '5:9', inc);
    assert.ok(ms < 5000, `${inc}: ${ms} ms`);
  }
  for (const f of ['/dev/zero', join(dir, 'fifo.conf'), join(dir, 'big.conf')]) {
    const r = await loadConfigBounded(f, { timeoutMs: 30_000 });
    assert.equal(r.config, null);
    assert.match(r.diagnostics[0]!.message, /cannot read: (not a regular file|larger than 16 MiB)/, f);
  }
});

test('~SEQ of long lines is bounded by the words and the text read in all, not only by lines', () => {
  const words = timed(`~SEQ(a, 1, 99999) ${'x '.repeat(30_000)}\n`);
  limitError(words.r, /more than 500000 words in all; reading stops here/);
  const text = timed(`~SEQ(a, 1, 99999) ${'x'.repeat(60_000)}\n`);
  limitError(text.r, /more than 16 MiB of text in all/);
  assert.ok(words.ms < 10_000 && text.ms < 10_000, `${words.ms} ms, ${text.ms} ms`);
});
