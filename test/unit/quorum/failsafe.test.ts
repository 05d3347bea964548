import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerPeer, Failsafe, type FailsafeTiming } from '../../../src/quorum/failsafe.js';
import { KERNEL_LATE_US, LeaseMachine, type LeaseAction } from '../../../src/quorum/lease.js';
import { T, ttlEff, types } from './lease-fixture.js';

const F: FailsafeTiming = {
  peers: ['198.51.100.2', '198.51.100.3'],
  windowUs: T.ttlUs,
  marginUs: T.marginUs,
  kernelLifetimeUs: T.kernelLifetimeUs,
  kernelLateUs: KERNEL_LATE_US,
};

/** A holder with failsafe, started long ago (no start-up promise left). */
function holder(): LeaseMachine {
  const m = new LeaseMachine('/floatd/web/VI_1', T, new Failsafe(F, -10_000_000));
  m.step(0, { type: 'want' });
  assert.deepEqual(types(m.step(1000, { type: 'acquired', req: 1, leaseId: 'L1', epoch: 9, grantedTtlUs: T.ttlUs })), [
    'hold',
    'kernelRefresh',
  ]);
  return m;
}
const round = (out: LeaseAction[]): number => (out.find((a) => a.type === 'confirm') as { round: number }).round;
const yes = (m: LeaseMachine, t: number, r: number, peer: string): LeaseAction[] =>
  m.step(t, { type: 'peerAnswer', round: r, peer, ok: true, why: 'not holding' });

test('each renew period asks every peer, beside the renewal', () => {
  const m = holder();
  assert.deepEqual(m.step(400_000, { type: 'timer' }), [
    { type: 'renew', leaseId: 'L1', gen: 1 },
    { type: 'checkKey', epoch: 9 },
    { type: 'confirm', round: 1 },
  ]);
});

test('etcd silent, every peer confirms: the holder keeps the VIP past the lease deadline', () => {
  const m = holder();
  const leaseDeadline = m.deadlineUs!;
  let t = 400_000;
  for (; t < 6_000_000; t += 400_000) {
    const out = m.step(t, { type: 'timer' });
    if (out.some((a) => a.type === 'fence')) assert.fail(`fenced at ${t}`);
    const r = round(out);
    assert.deepEqual(yes(m, t + 2000, r, F.peers[0]!), [], 'one peer is not enough');
    const a = yes(m, t + 3000, r, F.peers[1]!);
    const refresh = a.find((x) => x.type === 'kernelRefresh');
    assert.deepEqual(refresh, { type: 'kernelRefresh', notAfterUs: t + ttlEff - T.kernelLifetimeUs - KERNEL_LATE_US });
    assert.ok(m.mayHold(t + 3000));
  }
  assert.ok(t > leaseDeadline + 3_000_000, 'well past the lease deadline');
  assert.ok(m.onPeers(t - 397_000));
  assert.equal(m.deadlineUs, t - 400_000 + ttlEff - T.marginUs, 'the cover counts from the send time of the round');
});

test('a missing answer: the cover of the last complete round runs out, then the holder fences', () => {
  const m = holder();
  let r = round(m.step(400_000, { type: 'timer' }));
  yes(m, 401_000, r, F.peers[0]!);
  yes(m, 401_000, r, F.peers[1]!);
  const cover = 400_000 + ttlEff - T.marginUs;
  for (let t = 800_000; t < cover; t += 400_000) {
    r = round(m.step(t, { type: 'timer' }));
    yes(m, t + 1000, r, F.peers[0]!); // the second peer never answers again
  }
  assert.equal(m.deadlineUs, cover);
  assert.ok(m.mayHold(cover - 1));
  assert.deepEqual(types(m.step(cover, { type: 'timer' })).slice(0, 2), ['fence', 'revoke']);
  assert.equal(m.mayHold(cover), false);
});

test('a refusal ends the cover at once: fence at the lease deadline (now, when it has passed)', () => {
  const m = holder();
  const leaseDeadline = m.deadlineUs!;
  let t = 400_000;
  for (; t < leaseDeadline + 800_000; t += 400_000) {
    const r = round(m.step(t, { type: 'timer' }));
    yes(m, t + 1000, r, F.peers[0]!);
    yes(m, t + 1000, r, F.peers[1]!);
  }
  const r = round(m.step(t, { type: 'timer' }));
  const out = m.step(t + 1000, { type: 'peerAnswer', round: r, peer: F.peers[1]!, ok: false, why: 'holds the lease' });
  assert.deepEqual(types(out), ['log', 'fence', 'revoke', 'acquire']);
  assert.equal(m.mayHold(t + 1000), false);
});

test('the lease gone at the server (TTL 0, key deleted or taken) is never covered: fence at once', () => {
  for (const ev of [
    { type: 'renewed', leaseId: 'L1', gen: 1, ttlUs: 0 },
    { type: 'keyDeleted' },
    { type: 'keyCreated', epoch: 12, holder: 'lb2' },
  ] as const) {
    const m = holder();
    const r = round(m.step(400_000, { type: 'timer' }));
    yes(m, 401_000, r, F.peers[0]!);
    yes(m, 401_000, r, F.peers[1]!);
    assert.equal(m.step(402_000, ev)[0]?.type, 'fence', ev.type);
    assert.equal(m.mayHold(402_000), false);
  }
});

test('answers to an older round, from unknown peers, or repeated, do not count', () => {
  const m = holder();
  const r1 = round(m.step(400_000, { type: 'timer' }));
  yes(m, 401_000, r1, F.peers[0]!);
  const r2 = round(m.step(800_000, { type: 'timer' }));
  yes(m, 801_000, r1, F.peers[1]!); // round 1: stale
  yes(m, 801_000, r2, '203.0.113.9');
  yes(m, 801_000, r2, F.peers[0]!);
  yes(m, 801_000, r2, F.peers[0]!);
  const leaseDeadline = ttlEff - T.marginUs; // from the acquire sent at 0
  assert.equal(m.deadlineUs, leaseDeadline, 'no round completed: no cover');
  assert.equal(m.step(leaseDeadline, { type: 'timer' })[0]?.type, 'fence');
});

test('the responder: yes while not holding, and then it must not hold for the window, even with the lease', () => {
  const fs = new Failsafe(F, -10_000_000);
  const m = new LeaseMachine('/floatd/web/VI_1', T, fs);
  assert.deepEqual(answerPeer(m, 100_000), { ok: true, why: 'not holding' });
  m.step(200_000, { type: 'want' });
  assert.equal(answerPeer(m, 201_000).ok, false, 'taking the lease: no');
  // etcd answers (this node reaches it): the lease is ours, but the promise binds until 100_000 + window.
  assert.deepEqual(m.step(210_000, { type: 'acquired', req: 1, leaseId: 'L2', epoch: 5, grantedTtlUs: T.ttlUs }), [
    { type: 'renew', leaseId: 'L2', gen: 1 },
  ]);
  const ack = (t: number): LeaseAction[] => m.step(t, { type: 'renewed', leaseId: 'L2', gen: 1, ttlUs: T.ttlUs });
  assert.deepEqual(ack(211_000), [], 'confirmed by etcd, still promised');
  assert.equal(m.mayHold(211_000), false);
  assert.equal(answerPeer(m, 300_000).ok, false, 'holding the lease: no');
  let t = 600_000;
  for (; t < 100_000 + T.ttlUs; t += 400_000) {
    m.step(t, { type: 'timer' });
    assert.ok(!types(ack(t + 1000)).includes('hold'));
  }
  m.step(t, { type: 'timer' });
  assert.deepEqual(types(ack(t + 1000)), ['hold', 'kernelRefresh']);
});

test('a (re)started node keeps a promise of one window from its start (it may have promised before)', () => {
  const fs = new Failsafe(F, 5_000_000);
  assert.equal(fs.mayGrant(5_000_000 + T.ttlUs - 1), false);
  assert.equal(fs.mayGrant(5_000_000 + T.ttlUs), true);
});

test('without failsafe a peer asking gets no', () => {
  assert.equal(answerPeer(new LeaseMachine('/k', T), 0).ok, false);
});
