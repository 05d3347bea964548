/**
 * The simulator through the SHIPPED composition (issue 12 item 2): every node is a real Runtime
 * with its executor, mapping and advert codec, on in-memory ports and one virtual clock.
 * FLOATD_SHIPPED_SIM_COUNT scenarios (default 10,000) from sim.ts's generator and base seed,
 * half in this file and half in shipped-sim-2.test.ts (two processes for two cores);
 * FLOATD_SHIPPED_SIM_SEED=<seed> replays one with a trace. Not modelled here (the bare-FSM
 * simulator in vrrp-sim.test.ts covers them): weighted priority changes (no weighted trackers
 * in the generated configs; a 'priority' disturbance is a no-op) and per-instance faults (a
 * fault is the node's interface going down, which faults all its instances).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from './sim.js';
import { runShipped, seedsFrom, shippedShard, BASE_SEED, SHIPPED_COUNT } from './shipped.js';
import { Executor } from '../../src/daemon/executor.js';
import type { NodeAction } from '../../src/vrrp/node.js';

const replay = process.env['FLOATD_SHIPPED_SIM_SEED'];

if (replay !== undefined) {
  test(`replay shipped simulation seed ${replay}`, async () => {
    const res = await runShipped(generate(Number(replay) >>> 0), { log: (l) => console.log(l) });
    assert.ok(res.ok, res.failures.join('\n'));
  });
} else {
  test(`the shipped runtime composition keeps the VRRP properties (shard 1/2 of ${SHIPPED_COUNT} scenarios)`, async () => {
    const r = await shippedShard(0, 2);
    assert.ok(r.checks > r.ran, 'the property checks ran');
    assert.equal(r.failed.length, 0, r.failed.join('\n'));
  });
}

/**
 * A planted bug: an executor whose VIP actions are swapped (addVips runs removeVips' job and
 * the other way round), injected here only through RuntimeOptions.makeExecutor. The FSM's own
 * tests cannot see it; the shipped composition's simulation must.
 */
class SwappedVipExecutor extends Executor {
  override run(actions: readonly NodeAction[]): void {
    const swap = (na: NodeAction): NodeAction => {
      if (!('instance' in na)) return na;
      if (na.action.type === 'addVips') return { instance: na.instance, action: { type: 'removeVips' } };
      if (na.action.type === 'removeVips') return { instance: na.instance, action: { type: 'addVips' } };
      return na;
    };
    super.run(actions.map(swap));
  }
}

test('a bug planted in the executor (two actions swapped) is caught by the shipped simulation', async () => {
  const seeds = seedsFrom(BASE_SEED, 20);
  let caught = 0;
  for (const seed of seeds)
    if (!(await runShipped(generate(seed), { makeExecutor: (d) => new SwappedVipExecutor(d) })).ok) caught++;
  assert.ok(caught >= seeds.length / 2, `only ${caught} of ${seeds.length} scenarios caught the swapped VIP actions`);
  // The same seeds pass with the shipped executor: the failures are the planted bug's.
  for (const seed of seeds.slice(0, 5))
    assert.ok((await runShipped(generate(seed))).ok, `seed ${seed} fails without the bug`);
});
