/**
 * The one-clock rule (issue 12 item 4): nothing in src/ reads the time or arms a timer except
 * src/util/clock.ts. Everything else takes the one µs Clock so tests and the simulator control
 * time. The allow-list names each exception and why it cannot use the clock. The millisecond
 * view that once sat beside the Clock (TrackClock & co.) is gone, and its names may not return.
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
  'src/lab/client-probe-script.ts': 'JavaScript source (a string) for a separate probe process on the lab client host',
};

/** The deleted millisecond view: a second unit beside the µs Clock, kept out of src/ entirely. */
const MS_VIEW = new RegExp(
  String.raw`\b(?:TrackClock|trackClockFrom|realTrackClock|TimerId|monoMs|afterMs|delayMs|timeoutSignal)\b`,
  'g',
);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Strips // and block comments so prose about setTimeout does not count. */
function code(text: string): string {
  // Block comments keep their newlines, so reported line numbers stay right.
  return text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, '')).replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
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

test('no millisecond clock view in src/ (TrackClock, trackClockFrom, afterMs, delayMs, monoMs, timeoutSignal…)', () => {
  const found: string[] = [];
  for (const f of walk(SRC)) {
    const rel = relative(root, f);
    code(readFileSync(f, 'utf8'))
      .split('\n')
      .forEach((l, i) => {
        for (const m of l.matchAll(MS_VIEW)) found.push(`${rel}:${i + 1}: ${m[0]}`);
      });
  }
  assert.deepEqual(found, [], `use the µs helpers (afterUs, delayUs, timeoutSignalUs, msToUs):\n${found.join('\n')}`);
});

test('the ms-view check sees the old names and spares the µs ones (it is not vacuous)', () => {
  const hits = (t: string): string[] => [...code(t).matchAll(MS_VIEW)].map((m) => m[0]);
  assert.deepEqual(hits('import { trackClockFrom, type TrackClock } from "./clock.js";'), [
    'trackClockFrom',
    'TrackClock',
  ]);
  assert.deepEqual(hits('afterMs(c, 5, f); await delayMs(c, 1); monoMs(c); timeoutSignal(c, 9)'), [
    'afterMs',
    'delayMs',
    'monoMs',
    'timeoutSignal',
  ]);
  assert.deepEqual(hits('afterUs(c, 5, f); delayUs(c, 1); timeoutSignalUs(c, 9); const retryDelayMs = 3;'), []);
  assert.deepEqual(hits('// afterMs in a comment does not count'), []);
});

test('the check sees a violation (it is not vacuous)', () => {
  assert.equal([...code('const t = Date.now(); // setTimeout(x)').matchAll(RAW)].length, 1);
  assert.equal([...code('x = setTimeout(f, 1)').matchAll(RAW)].length, 1);
  for (const f of Object.keys(ALLOWED)) assert.ok(statSync(join(root, f)).isFile(), `${f} in the allow-list exists`);
});
