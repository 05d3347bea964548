import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KERNEL_LATE_US, LeaseMachine, type LeaseAction } from '../../../src/quorum/lease.js';
import { T, ttlEff, types } from './lease-fixture.js';

function holding(at = 1000): { m: LeaseMachine; out: LeaseAction[] } {
  const m = new LeaseMachine('/floatd/web/VI_1', T);
  assert.deepEqual(m.step(at, { type: 'want' }), [{ type: 'acquire', req: 1 }]);
  const out = m.step(at + 3000, { type: 'acquired', req: 1, leaseId: 'L1', epoch: 42, grantedTtlUs: T.ttlUs });
  return { m, out };
}

test('acquire: the deadline counts from the send time of the acquire, not the reply', () => {
  const { m, out } = holding(1000);
  const deadline = 1000 + ttlEff - T.marginUs;
  assert.deepEqual(out, [
    { type: 'hold', epoch: 42, deadlineUs: deadline },
    { type: 'kernelRefresh', notAfterUs: 1000 + ttlEff - T.kernelLifetimeUs - KERNEL_LATE_US },
  ]);
  assert.equal(m.epoch, 42);
  assert.ok(m.mayHold(deadline - 1));
  assert.ok(!m.mayHold(deadline));
});

test('renewals: each ack moves the deadline to its own send time + ttl − margin (not the reply time)', () => {
  const { m } = holding(0);
  assert.deepEqual(m.step(400_000, { type: 'timer' }), [
    { type: 'renew', leaseId: 'L1', gen: 1 },
    { type: 'checkKey', epoch: 42 },
  ]);
  const a = m.step(650_000, { type: 'renewed', leaseId: 'L1', gen: 1, ttlUs: T.ttlUs });
  assert.equal(m.deadlineUs, 400_000 + ttlEff - T.marginUs);
  assert.deepEqual(a, [{ type: 'kernelRefresh', notAfterUs: 400_000 + ttlEff - T.kernelLifetimeUs - KERNEL_LATE_US }]);
  assert.deepEqual(types(m.step(800_000, { type: 'timer' })), ['renew', 'checkKey']);
  m.step(805_000, { type: 'renewed', leaseId: 'L1', gen: 1, ttlUs: T.ttlUs });
  assert.equal(m.deadlineUs, 800_000 + ttlEff - T.marginUs);
});

test('no ack: the holder fences at the deadline and asks again (VRRP still wants MASTER)', () => {
  const { m } = holding(0);
  const d = m.deadlineUs!;
  for (let t = 400_000; t < d; t += 400_000) assert.ok(types(m.step(t, { type: 'timer' })).includes('renew'));
  assert.equal(m.nextWake(), d);
  const out = m.step(d, { type: 'timer' });
  assert.deepEqual(types(out), ['fence', 'revoke', 'acquire']);
  assert.equal((out[0] as { kind: string }).kind, 'deadline');
  assert.equal(m.mayHold(d), false);
});

test('a reply that arrives after the deadline does not revive the hold', () => {
  const { m } = holding(0);
  m.step(400_000, { type: 'timer' });
  const late = m.step(3_000_000, { type: 'renewed', leaseId: 'L1', gen: 1, ttlUs: T.ttlUs });
  assert.equal(late[0]?.type, 'fence');
  assert.equal(m.mayHold(3_000_000), false);
});

test('a broken keepalive stream: its late replies are ignored (a new stream numbers its renewals anew)', () => {
  const { m } = holding(0);
  m.step(400_000, { type: 'timer' });
  m.step(500_000, { type: 'renewFailed', leaseId: 'L1', gen: 1, error: 'stream reset' });
  assert.deepEqual(m.step(800_000, { type: 'timer' }), [
    { type: 'renew', leaseId: 'L1', gen: 2 },
    { type: 'checkKey', epoch: 42 },
  ]);
  const before = m.deadlineUs;
  m.step(810_000, { type: 'renewed', leaseId: 'L1', gen: 1, ttlUs: T.ttlUs });
  assert.equal(m.deadlineUs, before, 'a gen-1 reply is not credited to the gen-2 send');
  m.step(820_000, { type: 'renewed', leaseId: 'L1', gen: 2, ttlUs: T.ttlUs });
  assert.equal(m.deadlineUs, 800_000 + ttlEff - T.marginUs);
});

test('TTL 0 in a keepalive reply or the key deleted: fence at once', () => {
  const a = holding(0).m;
  a.step(400_000, { type: 'timer' });
  assert.deepEqual(types(a.step(410_000, { type: 'renewed', leaseId: 'L1', gen: 1, ttlUs: 0 })), [
    'fence',
    'revoke',
    'acquire',
  ]);
  const b = holding(0).m;
  assert.deepEqual(types(b.step(100_000, { type: 'keyDeleted' })), ['fence', 'revoke', 'acquire']);
});

test('denied: stays out, learns the holder, acquires as soon as the key is deleted', () => {
  const m = new LeaseMachine('/floatd/web/VI_1', T);
  m.step(0, { type: 'want' });
  assert.deepEqual(
    m.step(2000, { type: 'denied', req: 1, holder: 'lb1', holderEpoch: 7, holderLease: 'X', mine: false }),
    [],
  );
  assert.equal(m.phase, 'denied');
  assert.deepEqual(m.holder, { name: 'lb1', epoch: 7 });
  assert.equal(m.mayHold(3000), false);
  assert.deepEqual(m.step(3000, { type: 'want' }), [], 'the down timer firing again does not hammer etcd');
  assert.deepEqual(m.step(100_000, { type: 'keyDeleted' }), [{ type: 'acquire', req: 2 }]);
});

test('the key deleted while our acquire is in flight: the denial that follows is stale, ask again at once', () => {
  const m = new LeaseMachine('/floatd/web/VI_1', T);
  m.step(0, { type: 'want' });
  assert.deepEqual(m.step(500, { type: 'keyDeleted' }), [], 'one acquire at a time');
  const out = m.step(900, { type: 'denied', req: 1, holder: 'lb1', holderEpoch: 7, holderLease: 'X', mine: false });
  assert.deepEqual(out, [{ type: 'acquire', req: 2 }], 'not at the retry interval');
  assert.deepEqual(
    m.step(1500, { type: 'denied', req: 2, holder: 'lb3', holderEpoch: 9, holderLease: 'Y', mine: false }),
    [],
    'a fresh denial waits for the watch or the retry',
  );
});

test('denied by our own previous run: revoke it once the stale VIPs are gone', () => {
  const m = new LeaseMachine('/floatd/web/VI_1', T);
  m.step(0, { type: 'want' });
  const out = m.step(2000, { type: 'denied', req: 1, holder: 'lb1', holderEpoch: 7, holderLease: 'OLD', mine: true });
  assert.deepEqual(
    out.filter((a) => a.type === 'revoke'),
    [{ type: 'revoke', leaseId: 'OLD', afterRelease: true }],
  );
});

test('unreachable: retries at the retry interval', () => {
  const m = new LeaseMachine('/floatd/web/VI_1', T);
  m.step(0, { type: 'want' });
  m.step(1_000_000, { type: 'failed', req: 1, error: 'deadline exceeded' });
  assert.equal(m.phase, 'unreachable');
  assert.equal(m.nextWake(), 1_500_000);
  assert.deepEqual(m.step(1_500_000, { type: 'timer' }), [{ type: 'acquire', req: 2 }]);
});

test('unwant while holding: fence (VIPs off) first, then revoke once they are gone', () => {
  const { m } = holding(0);
  assert.deepEqual(m.step(100_000, { type: 'unwant', why: 'SIGTERM' }), [
    { type: 'fence', kind: 'released', reason: 'SIGTERM' },
    { type: 'revoke', leaseId: 'L1', afterRelease: true },
  ]);
  assert.equal(m.phase, 'idle');
});

test('a grant that arrives after VRRP stopped wanting is revoked, never held', () => {
  const m = new LeaseMachine('/floatd/web/VI_1', T);
  m.step(0, { type: 'want' });
  m.step(1000, { type: 'unwant', why: 'higher priority advert' });
  assert.deepEqual(m.step(2000, { type: 'acquired', req: 1, leaseId: 'L9', epoch: 5, grantedTtlUs: T.ttlUs }), [
    { type: 'revoke', leaseId: 'L9', afterRelease: false },
  ]);
  assert.equal(m.phase, 'idle');
  assert.equal(m.mayHold(2000), false);
});

test('a slow acquire (too late to arm the kernel backstop) holds only after a prompt renewal confirms', () => {
  const m = new LeaseMachine('/floatd/web/VI_1', T);
  m.step(0, { type: 'want' });
  const out = m.step(800_000, { type: 'acquired', req: 1, leaseId: 'L1', epoch: 3, grantedTtlUs: T.ttlUs });
  assert.deepEqual(out, [{ type: 'renew', leaseId: 'L1', gen: 1 }]);
  assert.equal(m.mayHold(800_000), false);
  assert.deepEqual(types(m.step(805_000, { type: 'renewed', leaseId: 'L1', gen: 1, ttlUs: T.ttlUs })), [
    'hold',
    'kernelRefresh',
  ]);
  assert.ok(m.mayHold(805_000));
});

test('etcd granting less than the ttl asked for is refused', () => {
  const m = new LeaseMachine('/floatd/web/VI_1', T);
  m.step(0, { type: 'want' });
  const out = m.step(1000, { type: 'acquired', req: 1, leaseId: 'L1', epoch: 3, grantedTtlUs: 1_000_000 });
  assert.deepEqual(types(out), ['log', 'revoke']);
  assert.equal(m.mayHold(1000), false);
});

test('someone else created the key while we thought we held it: fence', () => {
  const { m } = holding(0);
  assert.deepEqual(types(m.step(10_000, { type: 'keyCreated', epoch: 50, holder: 'lb2' })), ['fence', 'revoke']);
});

test('a stream that stops answering (a stopped etcd member) is left after one renewal period for another', () => {
  const { m } = holding(0);
  assert.deepEqual(types(m.step(400_000, { type: 'timer' })), ['renew', 'checkKey']);
  const out = m.step(800_000, { type: 'timer' });
  assert.deepEqual(types(out), ['switchEndpoint', 'renew', 'checkKey']);
  assert.equal((out[1] as { gen: number }).gen, 2, 'the next renewal goes on a new stream');
  assert.ok(800_000 < m.deadlineUs!, 'well before the deadline');
  m.step(810_000, { type: 'renewed', leaseId: 'L1', gen: 2, ttlUs: T.ttlUs });
  assert.equal(m.deadlineUs, 800_000 + ttlEff - T.marginUs, "credited to the new stream's send, not the stalled one");
});

test('a watch that resumes replays an older key deletion: the holder of a later key ignores it (lab, issue 13)', () => {
  // The etcd leader killed: the new holder's watch was on it, and on its return resumes from the last revision it
  // saw, replaying the deletion (revision 41) of the dead holder's key, before our key (epoch 42) was created.
  const { m } = holding(0);
  const out = m.step(100_000, { type: 'keyDeleted', revision: 41 });
  assert.deepEqual(types(out), ['log'], 'no fence, no revoke, no re-acquire');
  assert.match((out[0] as { text: string }).text, /revision 41.*epoch 42/);
  assert.ok(m.mayHold(100_000));
  assert.deepEqual(m.step(100_500, { type: 'keyCreated', epoch: 42, holder: 'lb1' }), [], 'our own creation');
  assert.deepEqual(m.step(101_000, { type: 'keyCreated', epoch: 30, holder: 'lb2' }), [], 'an older creation');
  assert.ok(m.mayHold(101_000));
  // Our own key's deletion always comes at a later revision: it still fences at once.
  assert.deepEqual(types(m.step(200_000, { type: 'keyDeleted', revision: 43 })), ['fence', 'revoke', 'acquire']);
});

test('a replayed older deletion does not send a denied node to etcd; one after the known holder does', () => {
  const m = new LeaseMachine('/floatd/web/VI_1', T);
  m.step(0, { type: 'want' });
  m.step(2000, { type: 'denied', req: 1, holder: 'lb1', holderEpoch: 7, holderLease: 'X', mine: false });
  assert.deepEqual(m.step(3000, { type: 'keyDeleted', revision: 5 }), [], 'the deletion of a key before lb1’s');
  assert.deepEqual(m.step(4000, { type: 'keyDeleted', revision: 8 }), [{ type: 'acquire', req: 2 }]);
});

test('the key check beside each renewal: our key fine = nothing; gone or replaced = fence at once', () => {
  const { m } = holding(0);
  assert.deepEqual(types(m.step(400_000, { type: 'timer' })), ['renew', 'checkKey']);
  assert.deepEqual(m.step(405_000, { type: 'keyChecked', epoch: 42, found: { leaseId: 'L1', epoch: 42 } }), []);
  const L1 = new LeaseMachine('/floatd/web/VI_1', T);
  L1.step(0, { type: 'want' });
  L1.step(10, { type: 'acquired', req: 1, leaseId: '7587', epoch: 42, grantedTtlUs: T.ttlUs });
  // etcd's int64 lease id, however the client formats it.
  assert.deepEqual(L1.step(500, { type: 'keyChecked', epoch: 42, found: { leaseId: '07587', epoch: 42 } }), []);
  // A keepalive that answered without renewing (etcd#14758): the key is gone though the lease "lives".
  const gone = L1.step(600, { type: 'keyChecked', epoch: 42 });
  assert.deepEqual(types(gone), ['fence', 'revoke', 'acquire']);
  assert.match((gone[0] as { reason: string }).reason, /key check .* found no such key/);
  assert.equal(L1.mayHold(600), false);
  const b = holding(0).m;
  const other = b.step(500, { type: 'keyChecked', epoch: 42, found: { leaseId: '99', epoch: 50 } });
  assert.deepEqual(types(other), ['fence', 'revoke', 'acquire'], 'another key under the same name');
});

test('a key check answer sent under an earlier hold says nothing about this one', () => {
  const { m } = holding(0);
  assert.deepEqual(m.step(500, { type: 'keyChecked', epoch: 17 }), []);
  assert.ok(m.mayHold(500));
  const idle = new LeaseMachine('/floatd/web/VI_1', T);
  assert.deepEqual(idle.step(500, { type: 'keyChecked', epoch: 42 }), [], 'not holding: nothing to fence');
});
