/**
 * The fence guard end to end (docs/quorum.md, "Fence guard"): ttl 1 on a tuned 3-member etcd,
 * where kernel_lifetime must be 0, two floatd hosts with `fence_guard on` (the default). A
 * SIGSTOPped holder's VIP leaves its interface at the lease deadline (the guard's log line says how
 * late it was), a SIGKILLed holder's at once (pipe EOF / pidfd); the peer takes over only after the
 * lease expires; 0 samples with two holders throughout. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HolderSampler, labSleep, quorumLabUnavailable, QuorumLab, type QServer } from '../../src/lab/quorum-lab.js';
import { realClock } from '../../src/util/clock.js';

const skip = quorumLabUnavailable() ?? false;
let q: QuorumLab;
let sampler: HolderSampler;

before(async () => {
  if (skip) return;
  q = new QuorumLab({ hosts: 2, ttl: 1, tunedEtcd: true });
  await q.up();
  await q.waitFor('the guard runs on lb2 too', () => /fence guard running/.test(q.log('lb2')), 10_000);
  await labSleep(1000);
  sampler = new HolderSampler(q, 20);
});

after(async () => {
  if (skip) return;
  await sampler?.stop();
  q.destroy();
});

const now = (): number => realClock.nowUs() / 1000;

/** Polls (as fast as `ip` answers) until `h` no longer holds; ms since `t0`. */
async function goneAfter(h: QServer, t0: number, maxMs: number): Promise<number> {
  while (q.holds(h)) {
    if (now() - t0 > maxMs) assert.fail(`${h} still holds the VIP ${maxMs} ms after the signal`);
    await labSleep(2);
  }
  return Math.round(now() - t0);
}

/** The last guard line in h's log saying how late past the deadline it removed the VIP (ms), or NaN. */
function guardLate(h: QServer): number {
  const m = [...q.log(h).matchAll(/by its deadline \((\d+\.\d) ms late\): removed 192\.0\.2\.100/g)].at(-1);
  return m ? Number(m[1]) : NaN;
}

test(
  'ttl 1: SIGSTOP of the holder — the guard removes its VIP at the deadline; the peer takes over after',
  { skip },
  async () => {
    assert.deepEqual(q.holders(), ['lb1']);
    assert.match(q.log('lb1'), /fence guard running \(pid \d+, removes VIPs through netlink\)/);
    const t0 = now();
    q.signalFloatd('lb1', 'STOP');
    try {
      const gone = await goneAfter('lb1', t0, 1000);
      // The deadline is at most ttl·(1−10⁻³) − margin = 699 ms after the last acknowledged renewal's send (before
      // the signal); the rest is the test's `ip` polling. The lease expires at the server ≥ 1000 ms after that send.
      assert.ok(gone < 850, `VIP gone ${gone} ms after SIGSTOP (deadline ≤ 699 ms after the last renewal)`);
      await q.waitFor('the guard said it', () => !Number.isNaN(guardLate('lb1')), 2000);
      const late = guardLate('lb1');
      assert.ok(late < 50, `the guard removed it ${late} ms past the deadline`);
      await q.waitFor('lb2 took over', () => q.holders().join() === 'lb2', 5000);
      console.log(`# SIGSTOP at ttl 1: VIP gone from lb1 ${gone} ms after the signal, ${late} ms past its deadline`);
    } finally {
      q.signalFloatd('lb1', 'CONT');
    }
    await labSleep(1500); // lb1 wakes past its deadline: it fences and stays BACKUP (quorum_denied)
    assert.deepEqual(q.holders(), ['lb2']);
    assert.equal(sampler.dual(), 0, 'two holders sampled');
  },
);

test('ttl 1: SIGKILL of the holder — its VIP goes at once; the peer takes over after the lease', { skip }, async () => {
  await q.waitFor('lb2 holds alone', () => q.holders().join() === 'lb2', 5000);
  const t0 = now();
  q.signalFloatd('lb2', 'KILL');
  const gone = await goneAfter('lb2', t0, 500);
  assert.ok(gone < 150, `VIP gone ${gone} ms after SIGKILL`);
  await q.waitFor(
    'the guard said the daemon is gone',
    () => /the daemon \(pid \d+\) is gone: removed/.test(q.log('lb2')),
    2000,
  );
  await q.waitFor('lb1 took over', () => q.holders().join() === 'lb1', 5000);
  console.log(`# SIGKILL at ttl 1: VIP gone from lb2 ${gone} ms after the signal`);
  assert.equal(sampler.dual(), 0, 'two holders sampled');
});
