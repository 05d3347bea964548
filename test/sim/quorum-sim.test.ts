/**
 * Quorum mode's safety property over many random schedules: no instant where two nodes hold the
 * VIP (test/sim/quorum-world.ts). FLOATD_QUORUM_SIM_RUNS (default 100000) and
 * FLOATD_QUORUM_SIM_BASE_SEED choose the schedules; FLOATD_QUORUM_SIM_SEED=<seed> replays one with a trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runQuorumScenario } from './quorum-world.js';

const RUNS = Number(process.env.FLOATD_QUORUM_SIM_RUNS ?? 100_000);
const BASE = Number(process.env.FLOATD_QUORUM_SIM_BASE_SEED ?? 0x51c0ffee);
const ONE = process.env.FLOATD_QUORUM_SIM_SEED;

if (ONE !== undefined) {
  test(`replay quorum schedule ${ONE}`, () => {
    const run = runQuorumScenario(Number(ONE), {}, true);
    console.log(run.trace!.join('\n'));
    assert.deepEqual(run.violations, []);
  });
} else {
  test(`${RUNS} random schedules: never two holders of the VIP`, () => {
    const started = Date.now();
    let holds = 0;
    let takeovers = 0;
    let fences = 0;
    let events = 0;
    let onPeers = 0;
    const bad: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const run = runQuorumScenario((BASE + i) >>> 0);
      holds += run.holds;
      takeovers += run.takeovers;
      fences += run.fences;
      events += run.events;
      onPeers += run.failsafeHolds;
      if (run.violations.length) bad.push(...run.violations.slice(0, 1));
      if (bad.length >= 5) break;
    }
    console.log(
      `quorum sim: ${RUNS} schedules, ${events} lease events, ${holds} VIP takes (${takeovers} by another node), ` +
        `${fences} fences, ${onPeers} failsafe holds past the lease, ${Date.now() - started} ms`,
    );
    assert.deepEqual(bad, [], `replay with FLOATD_QUORUM_SIM_SEED=<seed>`);
    // The schedules exercise the property: nodes do take and lose the VIP.
    assert.ok(
      holds > RUNS && takeovers > RUNS / 2 && fences > RUNS / 4 && onPeers > RUNS / 50,
      `holds ${holds}, takeovers ${takeovers}, fences ${fences}, failsafe holds ${onPeers}`,
    );
  });
}

test('the simulator catches a holder that fences too late (deadline past the server expiry)', () => {
  let found = 0;
  for (let i = 0; i < 3000 && found === 0; i++) {
    found += runQuorumScenario(BASE + i, { timing: (t) => ({ ...t, marginUs: -t.ttlUs, kernelLifetimeUs: 0 }) })
      .violations.length;
  }
  assert.ok(found > 0, 'a margin of −ttl must produce a dual holder somewhere');
});

test('without the kernel backstop a stopped or killed holder overlaps (why kernel_lifetime exists)', () => {
  let found = 0;
  for (let i = 0; i < 3000 && found === 0; i++) {
    found += runQuorumScenario(BASE + i, { timing: (t) => ({ ...t, kernelLifetimeUs: 0 }), forceFreezes: true })
      .violations.length;
  }
  assert.ok(found > 0, 'kernel_lifetime 0 with SIGSTOP/SIGKILL must produce a dual holder somewhere');
});

test('failsafe schedules only (etcd outages, peer cuts, pauses, crashes): never two holders; the cover is used', () => {
  let onPeers = 0;
  const bad: string[] = [];
  const n = Math.max(1000, Math.floor(RUNS / 10));
  for (let i = 0; i < n && bad.length < 5; i++) {
    const run = runQuorumScenario((BASE + 7_000_000 + i) >>> 0, { failsafe: true });
    onPeers += run.failsafeHolds;
    bad.push(...run.violations.slice(0, 1));
  }
  console.log(`quorum sim, failsafe: ${n} schedules, ${onPeers} holds past the lease on the peers' promises`);
  assert.deepEqual(bad, []);
  assert.ok(onPeers > n / 20, `failsafe holds ${onPeers}`);
});

test('the simulator catches a failsafe peer that answers yes but does not keep its promise', () => {
  let found = 0;
  for (let i = 0; i < 5000 && found === 0; i++) {
    found += runQuorumScenario(BASE + i, { failsafe: true, brokenPromise: true }).violations.length;
  }
  assert.ok(found > 0, 'a broken promise must produce a dual holder somewhere');
});

test('watch outages (a resumed watch replays what it missed): never two holders, never a fence of a live key', () => {
  const n = Math.max(2000, Math.floor(RUNS / 10));
  let replayed = 0;
  let spurious = 0;
  const bad: string[] = [];
  for (let i = 0; i < n && bad.length < 5; i++) {
    const run = runQuorumScenario((BASE + 9_000_000 + i) >>> 0, { watchOutages: true });
    replayed += run.replayed;
    spurious += run.spuriousFences;
    bad.push(...run.violations.slice(0, 1));
    if (run.spuriousFences > 0 && bad.length < 5) bad.push(`seed ${run.seed}: a fence while its key was still live`);
  }
  console.log(
    `quorum sim, watch outages: ${n} schedules, ${replayed} replayed watch events, ${spurious} spurious fences`,
  );
  assert.deepEqual(bad, [], 'replay with FLOATD_QUORUM_SIM_SEED=<seed>');
  assert.ok(replayed > n, `the outages replay events (${replayed})`);
});

test('the simulator catches a holder fencing on a replayed deletion (deletions without their revision)', () => {
  let spurious = 0;
  for (let i = 0; i < 3000 && spurious === 0; i++) {
    const run = runQuorumScenario((BASE + 9_000_000 + i) >>> 0, { watchOutages: true, noRevision: true });
    spurious += run.spuriousFences;
    assert.deepEqual(run.violations, [], 'a spurious fence costs availability, never safety');
  }
  assert.ok(spurious > 0, 'a replayed older deletion must fence a live holder somewhere');
});
