import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuardMachine, parseGuardLine, type GuardVip } from '../../../src/quorum/guard-machine.js';

const V1: GuardVip[] = [{ ifname: 'eth0', address: '192.0.2.10', prefix: 24 }];
const V2: GuardVip[] = [{ ifname: 'eth1', address: '2001:db8::10', prefix: 64 }];

test('a hold that is renewed in time never removes; the deadline passing removes at once', () => {
  const m = new GuardMachine();
  assert.deepEqual(m.step(0, { type: 'hold', holder: 'VI_1', deadlineUs: 700_000, vips: V1 }), []);
  assert.equal(m.nextWake(), 700_000);
  assert.deepEqual(m.step(200_000, { type: 'hold', holder: 'VI_1', deadlineUs: 900_000, vips: V1 }), []);
  assert.equal(m.nextWake(), 900_000);
  assert.deepEqual(m.step(899_999, { type: 'timer' }), []);
  assert.deepEqual(m.step(903_000, { type: 'timer' }), [
    { type: 'remove', holder: 'VI_1', vips: V1, why: 'deadline', lateUs: 3000 },
  ]);
  assert.equal(m.nextWake(), undefined);
  assert.deepEqual(m.step(2_000_000, { type: 'timer' }), [], 'removed once');
});

test('a hold that arrives already past its deadline removes at once', () => {
  const m = new GuardMachine();
  assert.deepEqual(m.step(1_000_000, { type: 'hold', holder: 'G', deadlineUs: 999_000, vips: V1 }), [
    { type: 'remove', holder: 'G', vips: V1, why: 'deadline', lateUs: 1000 },
  ]);
});

test('release stops the extensions but keeps the deadline (a daemon frozen right after it still loses the VIP)', () => {
  const m = new GuardMachine();
  m.step(0, { type: 'hold', holder: 'VI_1', deadlineUs: 500_000, vips: V1 });
  assert.deepEqual(m.step(100_000, { type: 'release', holder: 'VI_1' }), []);
  assert.equal(m.nextWake(), 500_000);
  assert.deepEqual(m.step(500_000, { type: 'timer' }), [
    { type: 'remove', holder: 'VI_1', vips: V1, why: 'deadline', lateUs: 0 },
  ]);
  // a new hold after a release replaces the entry (re-acquired)
  m.step(600_000, { type: 'hold', holder: 'VI_1', deadlineUs: 900_000, vips: V1 });
  m.step(610_000, { type: 'release', holder: 'VI_1' });
  m.step(620_000, { type: 'hold', holder: 'VI_1', deadlineUs: 1_500_000, vips: V1 });
  assert.deepEqual(m.step(1_000_000, { type: 'timer' }), []);
});

test('holders are independent: one passing its deadline leaves the other', () => {
  const m = new GuardMachine();
  m.step(0, { type: 'hold', holder: 'A', deadlineUs: 300_000, vips: V1 });
  m.step(0, { type: 'hold', holder: 'B', deadlineUs: 800_000, vips: V2 });
  assert.equal(m.nextWake(), 300_000);
  assert.deepEqual(
    m.step(300_000, { type: 'timer' }).map((a) => a.type === 'remove' && a.holder),
    ['A'],
  );
  assert.equal(m.nextWake(), 800_000);
  assert.deepEqual(m.holders(), ['B']);
});

test('the daemon gone: every VIP with a pending deadline removed at once, then exit; nothing after', () => {
  const m = new GuardMachine();
  m.step(0, { type: 'hold', holder: 'A', deadlineUs: 5_000_000, vips: V1 });
  m.step(0, { type: 'hold', holder: 'B', deadlineUs: 5_000_000, vips: V2 });
  m.step(1, { type: 'release', holder: 'B' });
  assert.deepEqual(m.step(10, { type: 'gone', why: 'pipe closed' }), [
    { type: 'remove', holder: 'A', vips: V1, why: 'daemon_gone', lateUs: 0 },
    { type: 'remove', holder: 'B', vips: V2, why: 'daemon_gone', lateUs: 0 },
    { type: 'exit' },
  ]);
  assert.deepEqual(m.step(20, { type: 'hold', holder: 'A', deadlineUs: 9_000_000, vips: V1 }), []);
  assert.equal(m.nextWake(), undefined);
});

test('gone with nothing held: just exit', () => {
  assert.deepEqual(new GuardMachine().step(0, { type: 'gone', why: 'pidfd' }), [{ type: 'exit' }]);
});

test('protocol lines: hold and release parse; anything malformed is refused', () => {
  assert.deepEqual(parseGuardLine(JSON.stringify({ t: 'hold', h: 'VI_1', d: 123, v: V1 })), {
    t: 'hold',
    h: 'VI_1',
    d: 123,
    v: V1,
  });
  assert.deepEqual(parseGuardLine('{"t":"release","h":"G"}'), { t: 'release', h: 'G' });
  for (const bad of [
    '',
    'hold VI_1',
    'null',
    '{"t":"hold","h":"x","d":"1","v":[]}',
    '{"t":"hold","h":"x","d":1}',
    '{"t":"hold","h":"x","d":1,"v":[{"ifname":"eth0","address":"192.0.2.1"}]}',
    '{"t":"other","h":"x"}',
    '{"t":"release"}',
    JSON.stringify({ t: 'release', h: 'x'.repeat(70_000) }),
  ])
    assert.equal(parseGuardLine(bad), undefined, bad.slice(0, 60));
});
