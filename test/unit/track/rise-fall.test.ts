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
  const statuses = run(3, 3, [true, ...Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? false : true))]);
  assert.ok(
    statuses.every((s) => s === 'up'),
    statuses.join(','),
  );
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
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.boolean(), { maxLength: 60 }),
      fc.integer({ min: -253, max: 253 }).filter((w) => w !== 0),
      fc.boolean(),
      (rise, fall, results, w, rev) => {
        let s = initialRiseFall(rise, false);
        for (const ok of results) {
          s = feedResult(s, ok, rise, fall);
          assert.ok(s.counter >= 0 && s.counter <= rise + fall - 1);
          assert.equal(contribution(s.status, w, rev).fault, false);
        }
      },
    ),
  );
});

/**
 * keepalived's counter, step by step (vrrp_scheduler.c vrrp_script_child_thread): each row is
 * rise, fall, init_fail, results, then the expected counter and status after each result.
 */
const TABLE: Array<[number, number, boolean, string, number[], string]> = [
  [1, 1, false, 'TFTF', [1, 0, 1, 0], 'up down up down'],
  [2, 3, false, 'T', [4], 'up'],
  [2, 3, false, 'F', [0], 'down'],
  [2, 3, false, 'TFFF', [4, 3, 2, 0], 'up up up down'],
  [2, 3, false, 'TFFT', [4, 3, 2, 4], 'up up up up'],
  [2, 3, false, 'FTT', [0, 1, 4], 'down down up'],
  [2, 3, false, 'FTFT', [0, 1, 0, 1], 'down down down down'],
  [2, 3, true, 'TT', [1, 4], 'down up'],
  [2, 3, true, 'F', [0], 'down'],
  [3, 1, false, 'TFTTT', [3, 0, 1, 2, 3], 'up down down down up'],
  [1, 4, true, 'TFFFF', [4, 3, 2, 1, 0], 'up up up up down'],
];

test('the counter follows keepalived step by step (table)', () => {
  for (const [rise, fall, initFail, results, counters, statuses] of TABLE) {
    let s = initialRiseFall(rise, initFail);
    const got = [...results].map((c) => (s = feedResult(s, c === 'T', rise, fall)));
    const label = `rise ${rise} fall ${fall}${initFail ? ' init_fail' : ''} ${results}`;
    assert.deepEqual(
      got.map((g) => g.counter),
      counters,
      label,
    );
    assert.equal(got.map((g) => g.status).join(' '), statuses, label);
  }
});

test('a fresh check is init (keepalived holds fault-trigger instances until a result); init_fail starts down', () => {
  assert.deepEqual(initialRiseFall(3, false), { counter: 2, status: 'init' });
  assert.deepEqual(initialRiseFall(3, true), { counter: 0, status: 'down' });
});

test('property: after `fall` failures a check is down, after `rise` successes it is up, whatever came before', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.boolean(),
      fc.array(fc.boolean(), { maxLength: 30 }),
      (rise, fall, initFail, prefix) => {
        let s = initialRiseFall(rise, initFail);
        for (const ok of prefix) s = feedResult(s, ok, rise, fall);
        let d = s;
        for (let i = 0; i < fall; i++) d = feedResult(d, false, rise, fall);
        assert.equal(d.status, 'down');
        let u = s;
        for (let i = 0; i < rise; i++) u = feedResult(u, true, rise, fall);
        assert.equal(u.status, 'up');
      },
    ),
  );
});
