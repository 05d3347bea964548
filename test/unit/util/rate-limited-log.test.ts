import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogAggregator, OVERFLOW_KEY, RateLimitedLog, type LineLog } from '../../../src/util/rate-limited-log.js';
import { MS, VirtualClock } from '../../support/virtual-clock.js';

function sink(): { log: LineLog; lines: { level: string; obj: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

test('aggregator: first occurrence logged, the rest counted into one summary per key per interval', () => {
  const a = new LogAggregator(1000 * MS);
  assert.equal(a.hit('k', 0, 'warn', {}, 'm'), 'log');
  for (let i = 1; i <= 5; i++) assert.equal(a.hit('k', i * 10 * MS, 'warn', {}, 'm'), 'count');
  assert.equal(a.hit('other', 0, 'warn', {}, 'n'), 'log');
  assert.deepEqual(a.due(999 * MS), []);
  const s = a.due(1000 * MS);
  assert.deepEqual(
    s.map((x) => [x.key, x.suppressed]),
    [['k', 5]],
  );
  // 'other' had no repeats: forgotten; 'k' opened another window, which ends empty.
  assert.equal(a.keys, 1);
  assert.deepEqual(a.due(2000 * MS), []);
  assert.equal(a.keys, 0);
  assert.equal(a.hit('k', 2001 * MS, 'warn', {}, 'm'), 'log', 'a quiet key logs at once again');
});

test('aggregator: keys are bounded; past the bound new keys share one counted overflow key', () => {
  const a = new LogAggregator(1000 * MS, 3);
  for (const k of ['a', 'b', 'c']) assert.equal(a.hit(k, 0, 'info', {}, k), 'log');
  for (let i = 0; i < 100; i++) assert.equal(a.hit(`src-${i}`, 1 * MS, 'info', {}, 'x'), 'count');
  assert.equal(a.keys, 4);
  assert.deepEqual(
    a.due(1001 * MS).map((x) => [x.key, x.suppressed]),
    [[OVERFLOW_KEY, 100]],
  );
});

test('RateLimitedLog, injected clock: 10,000 refused calls in 10 s → 1 line + 1 summary with the count', async () => {
  const vc = new VirtualClock();
  const { log, lines } = sink();
  const rl = new RateLimitedLog({ log, clock: vc, intervalUs: 10_000 * MS });
  for (let i = 0; i < 10_000; i++) {
    rl.warn(
      'denied mismatch',
      { event: 'api.denied', why: 'mismatch' },
      'API action /api/v1/reload refused (wrong token)',
    );
    if (i % 1000 === 999) await vc.advance(900 * MS);
  }
  assert.equal(lines.length, 1);
  await vc.advance(10_000 * MS);
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.obj.suppressed, 9_999);
  assert.equal(lines[1]!.obj.event, 'api.denied');
  assert.match(lines[1]!.msg, /refused \(wrong token\) \(and 9999 more like it in the last 10 s\)$/);
  // Quiet for a whole interval: forgotten, no timer left behind.
  await vc.advance(20_000 * MS);
  assert.equal(lines.length, 2);
  assert.equal(vc.pending, 0);
  rl.warn('denied mismatch', { event: 'api.denied' }, 'again');
  assert.equal(lines.length, 3);
  rl.warn('denied mismatch', { event: 'api.denied' }, 'again');
  rl.stop();
  assert.equal(lines.length, 4, 'stop writes the pending count');
  assert.equal(lines[3]!.obj.suppressed, 1);
  assert.equal(vc.pending, 0);
});
