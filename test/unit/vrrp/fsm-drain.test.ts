/**
 * Quorum mode's hand-over drain (InstanceParams.quorumDrainUs; golden scenarios 35-36 show the
 * ordering on two nodes): the edge cases, and a property over random event streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VrrpInstance, type Action, type Event, type InstanceParams } from '../../../src/vrrp/fsm.js';
import { DEFAULT_PARAMS } from './scenarios/runner.js';

const P = (over: Partial<InstanceParams> = {}): InstanceParams => ({
  ...DEFAULT_PARAMS,
  name: 'VI_1',
  myAddress: '192.0.2.5',
  version: 3,
  advertIntervalCs: 20,
  garpMasterDelayUs: 0,
  shutdownHandoverUs: 1_200_000,
  quorum: true,
  quorumDrainUs: 200_000,
  ...over,
});
const kinds = (as: Action[]): string[] =>
  as
    .filter((a) => !['log', 'setTimer', 'cancelTimer', 'garp', 'transition'].includes(a.type))
    .map((a) => (a.type === 'sendAdvert' ? `advert:${a.priority}` : a.type));

/** A MASTER under a lease valid until `untilUs`, at t = 1 s. */
function master(over: Partial<InstanceParams> = {}, untilUs = 10_000_000, hooks = {}): VrrpInstance {
  const i = new VrrpInstance(P(over), hooks);
  i.step(0, { type: 'start' });
  i.step(i.timers.get('masterDown')!, { type: 'timer', timer: 'masterDown' });
  i.step(1_000_000, { type: 'lease', status: 'held', untilUs });
  assert.equal(i.state, 'MASTER');
  return i;
}

test('drain: a switchover keeps MASTER, VIPs and lease while new connections are blocked; the release follows', () => {
  const i = master();
  const out = i.step(2_000_000, { type: 'handover', text: 'API' });
  assert.deepEqual(kinds(out), ['blockNew']);
  assert.equal(i.state, 'MASTER');
  assert.ok(i.draining && i.handoverPending, 'a graceful stop waits for it');
  assert.equal(i.timers.get('drainEnd'), 2_200_000);
  // Adverts go on at its priority: no peer takes over during the drain.
  assert.deepEqual(kinds(i.step(i.timers.get('advert')!, { type: 'timer', timer: 'advert' })), ['advert:100']);
  const end = i.step(2_200_000, { type: 'timer', timer: 'drainEnd' });
  assert.deepEqual(kinds(end), ['advert:0', 'removeVips', 'unblockNew', 'releaseLease']);
  assert.equal(i.state, 'BACKUP');
  assert.ok(!i.draining && !i.handoverPending);
});

test('drain: never past the lease deadline it was told', () => {
  const i = master({}, 2_050_000);
  i.step(2_000_000, { type: 'handover' });
  assert.equal(i.timers.get('drainEnd'), 2_050_000);
});

test('drain: a fault, a lost lease or a higher-priority MASTER during it releases at once and lifts the block', () => {
  const f = master();
  f.step(2_000_000, { type: 'handover' });
  const fault = f.step(2_050_000, { type: 'tracking', priorityDelta: 0, faults: ['chk'], reason: 'down' });
  assert.deepEqual(kinds(fault), ['advert:0', 'removeVips', 'unblockNew', 'releaseLease']);
  assert.equal(f.state, 'FAULT');
  assert.ok(!f.draining && !f.timers.has('drainEnd'));

  const l = master();
  l.step(2_000_000, { type: 'shutdown', handover: true });
  const lost = l.step(2_050_000, { type: 'lease', status: 'lost', text: 'renewals unanswered' });
  assert.deepEqual(kinds(lost), ['advert:0', 'removeVips', 'unblockNew', 'releaseLease']);
  assert.ok(!l.draining, 'the stop does not wait on a drain that ended');

  const h = master();
  h.step(2_000_000, { type: 'handover' });
  const adv = h.step(2_050_000, { type: 'advert', from: '192.0.2.9', priority: 200, advertIntervalCs: 20 });
  assert.deepEqual(kinds(adv), ['removeVips', 'unblockNew', 'releaseLease']);
  assert.equal(h.state, 'BACKUP');
});

test('drain: a stop during a switchover drain ends in STOP at the same drainEnd; a reload (no hand-over) now', () => {
  const i = master();
  i.step(2_000_000, { type: 'handover' });
  assert.deepEqual(kinds(i.step(2_100_000, { type: 'shutdown', handover: true })), []);
  assert.equal(i.timers.get('drainEnd'), 2_200_000, 'not restarted');
  const end = i.step(2_200_000, { type: 'timer', timer: 'drainEnd' });
  assert.deepEqual(kinds(end), ['advert:0', 'removeVips', 'unblockNew', 'releaseLease']);
  assert.equal(i.state, 'STOP');

  const r = master();
  r.step(2_000_000, { type: 'handover' });
  assert.deepEqual(kinds(r.step(2_010_000, { type: 'shutdown' })), [
    'advert:0',
    'removeVips',
    'unblockNew',
    'releaseLease',
  ]);
  assert.equal(r.state, 'STOP');
});

test('no drain: without quorum, with quorumDrainUs 0, or in a sync group (one lease for every member)', () => {
  const plain = master({ quorum: false }, undefined);
  assert.deepEqual(kinds(plain.step(2_000_000, { type: 'handover' })), ['advert:0', 'removeVips']);
  const zero = master({ quorumDrainUs: 0 });
  assert.deepEqual(kinds(zero.step(2_000_000, { type: 'handover' })), ['advert:0', 'removeVips', 'releaseLease']);
  const member = master({}, 10_000_000, { canGoMaster: () => true });
  const out = member.step(2_000_000, { type: 'shutdown', handover: true });
  assert.deepEqual(kinds(out), ['advert:0', 'removeVips', 'releaseLease']);
  assert.equal(member.state, 'STOP');
});

test('a start lifts a block a crashed run may have left (with the stale VIPs)', () => {
  const i = new VrrpInstance(P());
  assert.deepEqual(kinds(i.step(0, { type: 'start' })), ['removeVips', 'unblockNew']);
});

test('random event streams: blocked only while draining, VIPs only while MASTER, the lease after the VIPs', () => {
  const ev: fc.Arbitrary<Event> = fc.oneof(
    fc.constantFrom<Event>(
      { type: 'handover' },
      { type: 'handover', holdUntilUs: 9_000_000 },
      { type: 'shutdown', handover: true },
      { type: 'shutdown' },
      { type: 'timer', timer: 'drainEnd' },
      { type: 'timer', timer: 'masterDown' },
      { type: 'timer', timer: 'advert' },
      { type: 'timer', timer: 'holdEnd' },
      { type: 'lease', status: 'lost' },
      { type: 'lease', status: 'denied' },
      { type: 'vipRemovedExternally' },
      { type: 'tracking', priorityDelta: 0, faults: ['x'], reason: '' },
      { type: 'tracking', priorityDelta: 0, faults: [], reason: '' },
      { type: 'advert', from: '192.0.2.9', priority: 0, advertIntervalCs: 20 },
      { type: 'advert', from: '192.0.2.9', priority: 250, advertIntervalCs: 20 },
    ),
    fc.integer({ min: 0, max: 3_000_000 }).map((d): Event => ({ type: 'lease', status: 'held', untilUs: d })),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 400_000 }), ev), { maxLength: 80 }), (steps) => {
      const i = new VrrpInstance(P());
      let now = 0;
      let vip = false;
      let blocked = false;
      i.step(0, { type: 'start' });
      for (const [dt, e0] of steps) {
        now += dt;
        // lease deadlines relative to now, so some lapse and some outlive the drain
        const e = e0.type === 'lease' && e0.untilUs !== undefined ? { ...e0, untilUs: now + e0.untilUs } : e0;
        for (const a of i.step(now, e)) {
          if (a.type === 'addVips') vip = true;
          if (a.type === 'removeVips') vip = false;
          if (a.type === 'blockNew') {
            assert.ok(vip, 'blocks only while the VIPs are up');
            blocked = true;
          }
          if (a.type === 'unblockNew') {
            assert.ok(!vip, 'lifted only after the VIP removal');
            blocked = false;
          }
          if (a.type === 'releaseLease') assert.ok(!vip || i.state !== 'MASTER', 'the lease goes after the VIPs');
        }
        assert.equal(vip, i.state === 'MASTER');
        assert.equal(blocked, i.draining, 'blocked exactly while draining');
        if (i.draining) assert.ok(i.timers.has('drainEnd'), 'a drain always has its end');
      }
    }),
    { numRuns: 3000 },
  );
});
