/**
 * Quorum mode's safety through the shipped composition (shipped-quorum.ts): real Runtimes with
 * their lease gate against an in-memory etcd, random partitions, etcd cuts and elections,
 * SIGSTOP, SIGKILL and SIGTERM. FLOATD_SHIPPED_QUORUM_COUNT schedules (default 1000: ~40 s on a quiet
 * core, ~40 ms each) from FLOATD_SHIPPED_QUORUM_BASE_SEED; FLOATD_SHIPPED_QUORUM_SEED=<seed>
 * replays one with a trace. The pure lease simulator (quorum-sim.test.ts) keeps its 100,000.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FloatdConfig } from '../../src/config/index.js';
import { generateQ, runShippedQuorum } from './shipped-quorum.js';

const COUNT = Number(process.env['FLOATD_SHIPPED_QUORUM_COUNT'] ?? 1000);
const BASE = Number(process.env['FLOATD_SHIPPED_QUORUM_BASE_SEED'] ?? 0x0f10a7d);
const ONE = process.env['FLOATD_SHIPPED_QUORUM_SEED'];
const replay = (seed: number): string =>
  `replay: FLOATD_SHIPPED_QUORUM_SEED=${seed} node --test dist/test/sim/shipped-quorum-sim.test.js`;

if (ONE !== undefined) {
  test(`replay shipped quorum schedule ${ONE}`, async () => {
    const sc = generateQ(Number(ONE) >>> 0);
    console.log(JSON.stringify({ nodes: sc.nodes, advertIntCs: sc.advertIntCs, ttlS: sc.ttlS, group: sc.group }));
    const res = await runShippedQuorum(sc, { log: (l) => console.log(l) });
    assert.deepEqual(res.violations, []);
    assert.deepEqual(res.stuck, []);
  });
} else {
  const title = `${COUNT} schedules through the shipped Runtime and an in-memory etcd: never two hosts with the VIP`;
  test(title, async () => {
    const started = Date.now();
    const bad: string[] = [];
    let takes = 0;
    let takeovers = 0;
    let expiries = 0;
    let steps = 0;
    let drains = 0;
    for (let i = 0; i < COUNT; i++) {
      const seed = (BASE + i) >>> 0;
      const res = await runShippedQuorum(generateQ(seed));
      takes += res.takes;
      takeovers += res.takeovers;
      expiries += res.expiries;
      steps += res.steps;
      drains += res.drains;
      const fail = [...res.violations, ...res.stuck];
      if (fail.length > 0 && bad.length < 5) bad.push(`seed ${seed}: ${fail[0]}\n  ${replay(seed)}`);
    }
    console.log(
      `shipped quorum sim: ${COUNT} schedules (base seed ${BASE}), ${steps} checked instants, ${takes} VIP adds ` +
        `(${takeovers} by another host), ${expiries} lease expiries at etcd, ${drains} hand-over drains, ` +
        `${bad.length} failing, ` +
        `${Date.now() - started} ms`,
    );
    assert.deepEqual(bad, []);
    // The schedules exercise the property: the VIP does move, and leases do expire at the server.
    assert.ok(takeovers > COUNT / 2 && expiries > COUNT / 4, `takeovers ${takeovers}, expiries ${expiries}`);
    assert.ok(drains > COUNT / 10, `hand-over drains ${drains}: switchovers and SIGTERMs of a holder drain first`);
  });
}

/** The first of up to `max` schedules (from BASE) where the mutated configuration puts the VIP on two hosts. */
async function firstCaught(mutate: (q: FloatdConfig['quorums'][number]) => void, max = 200): Promise<number> {
  for (let i = 0; i < max; i++) {
    const res = await runShippedQuorum(generateQ((BASE + i) >>> 0), {
      mutate: (cfg) => cfg.quorums.forEach(mutate),
    });
    if (res.violations.length > 0) return i + 1;
  }
  return -1;
}

test('a planted bug — margin ignored (deadline past the server expiry), no kernel backstop — is caught', async () => {
  const n = await firstCaught((q) => {
    q.marginMs = -q.ttlMs;
    q.kernelLifetimeS = 0;
  });
  console.log(`planted margin bug: caught at schedule ${n}`);
  assert.ok(n > 0, "no schedule caught a holder that trusts a deadline past the server's expiry");
});

test('kernel_lifetime 0: a stopped or killed holder keeps its VIP while the peer takes over — caught', async () => {
  const n = await firstCaught((q) => {
    q.kernelLifetimeS = 0;
  });
  console.log(`kernel_lifetime 0: caught at schedule ${n}`);
  assert.ok(n > 0, 'no schedule caught the missing kernel backstop');
});
