import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { contribution, feedResult, initialRiseFall, type RiseFallState } from '../../../src/track/rise-fall.js';

function run(rise: number, fall: number, results: boolean[], initFail = false): string[] {
  let s: RiseFallState = initialRiseFall(rise, initFail);
  return results.map((ok) => (s = feedResult(s, ok, rise, fall)).status);
}

test('a fresh check is decided by its first result (keepalived starts at rise-1)', () => {
  assert.deepEqual(run(3, 3, [true]), ['up']);
  assert.deepEqual(run(3, 3, [false]), ['down']);
});

test('with init_fail a check needs `rise` successes before it is up', () => {
  assert.deepEqual(run(3, 3, [true, true, true], true), ['down', 'down', 'up']);
});

test('fall 3 needs three consecutive failures from up; rise 3 needs three successes from down', () => {
  assert.deepEqual(run(3, 3, [true, false, false, false]), ['up', 'up', 'up', 'down']);
  assert.deepEqual(run(3, 3, [false, true, true, true]), ['down', 'down', 'down', 'up']);
});

test('a check flapping every other result never changes state with rise 3 / fall 3', () => {
  const statuses = run(3, 3, [true, ...Array.from({ length: 40 }, (_, i) => i % 2 === 0 ? false : true)]);
  assert.ok(statuses.every((s) => s === 'up'), statuses.join(','));
});

test('weights: 0 is a fault trigger, positive adds while up, negative subtracts while down, reverse flips', () => {
  assert.deepEqual(contribution('down', 0, false), { delta: 0, fault: true });
  assert.deepEqual(contribution('up', 0, false), { delta: 0, fault: false });
  assert.deepEqual(contribution('up', 0, true), { delta: 0, fault: true });
  assert.deepEqual(contribution('up', 20, false), { delta: 20, fault: false });
  assert.deepEqual(contribution('down', 20, false), { delta: 0, fault: false });
  assert.deepEqual(contribution('down', -30, false), { delta: -30, fault: false });
  assert.deepEqual(contribution('up', -30, false), { delta: 0, fault: false });
  assert.deepEqual(contribution('up', 20, true), { delta: -20, fault: false });
  assert.deepEqual(contribution('init', 0, false), { delta: 0, fault: false });
});

test('property: a weighted tracker never faults; the counter stays within [0, rise+fall-1]', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.array(fc.boolean(), { maxLength: 60 }),
    fc.integer({ min: -253, max: 253 }).filter((w) => w !== 0), fc.boolean(), (rise, fall, results, w, rev) => {
      let s = initialRiseFall(rise, false);
      for (const ok of results) {
        s = feedResult(s, ok, rise, fall);
        assert.ok(s.counter >= 0 && s.counter <= rise + fall - 1);
        assert.equal(contribution(s.status, w, rev).fault, false);
      }
    }));
});
