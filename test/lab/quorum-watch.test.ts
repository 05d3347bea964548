/**
 * The key watch follows endpoint failover (docs/quorum.md, "The watch follows the endpoint"), on a
 * real 3-member etcd: every floatd opens its watch on the first endpoint (e1). e1 is killed and stays
 * down; then the holder is SIGKILLed. The BACKUP must see the key's deletion through its watch (now on
 * another member) and acquire at once, not at its next acquire retry. Before the watch followed the
 * endpoint it stayed on e1 (the etcd3 client retries the same member): no deletion was ever seen.
 * Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labSleep, quorumLabUnavailable, QuorumLab, type QServer } from '../../src/lab/quorum-lab.js';
import { realClock } from '../../src/util/clock.js';

const skip = quorumLabUnavailable();
let q: QuorumLab;

before(async () => {
  if (skip) return;
  q = new QuorumLab({ hosts: 2 });
  await q.up();
  await q.waitFor('lb2 is BACKUP', () => /Entering BACKUP STATE/.test(q.log('lb2')), 15_000);
});

after(() => {
  if (!skip) q.destroy();
});

/** Wall ms of each log line of `h` matching `re`, after `sinceMs`. */
function times(h: QServer, re: RegExp, sinceMs: number): number[] {
  return q
    .log(h)
    .split('\n')
    .filter((l) => re.test(l))
    .map((l) => Date.parse(l.slice(0, 24)))
    .filter((t) => t >= sinceMs);
}

test(
  "the watch's member killed, then the holder: the BACKUP sees the key's deletion on another member and " +
    'acquires at once',
  { skip, timeout: 40_000 },
  async () => {
    const leader = q.etcdLeader();
    q.etcdSignal('e1', 'KILL');
    await q.waitFor('etcd on e1 is gone', () => q.lab.exec('e1', ['pidof', 'etcd'], true).trim() === '', 5000);
    await labSleep(3000); // an election, if e1 led (the holder may fence and re-acquire); the watches moved
    await q.waitFor('one holder with e1 down', () => q.holders().length === 1, 10_000);
    await labSleep(1000);
    const m = q.holders()[0]!;
    console.log(`watch on a dead member: e1 killed (etcd leader ${leader}); holder ${m}`);
    const b: QServer = m === 'lb1' ? 'lb2' : 'lb1';
    // Whole milliseconds, as the log lines: a line of the kill's own millisecond still counts.
    const t0 = Math.floor(realClock.wallMs());
    q.signalFloatd(m, 'KILL');
    const took = await q.waitFor(`${b} holds`, () => q.holds(b), 10_000);
    console.log(`watch on a dead member: ${m} killed → ${b} holding in ${took} ms`);
    const seen = times(b, /watch: \/floatd\/lab\/VI_1 deleted at revision/, t0);
    const held = times(b, /holding \/floatd\/lab\/VI_1, epoch/, t0);
    assert.ok(seen.length > 0, `${b} saw the deletion through its watch (e1, its first member, is down)`);
    assert.ok(held.length > 0, `${b} logged its hold`);
    const gap = held[0]! - seen[0]!;
    console.log(`watch on a dead member: ${b} saw the deletion and held ${gap} ms later`);
    // An acquire is a LeaseGrant and a Txn (ms in the lab); the acquire retry would be up to 400 ms later.
    assert.ok(gap >= 0 && gap < 200, `hold ${gap} ms after the deletion was seen`);
    assert.deepEqual(q.holders(), [b]);
  },
);
