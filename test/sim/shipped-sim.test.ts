/**
 * The simulator through the SHIPPED composition (issue 12 item 2): every node is a real Runtime
 * with its executor, mapping and advert codec, on in-memory ports and one virtual clock.
 * FLOATD_SHIPPED_SIM_COUNT scenarios (default 10,000) from sim.ts's generator and base seed,
 * half in this file and half in shipped-sim-2.test.ts (two processes for two cores);
 * FLOATD_SHIPPED_SIM_SEED=<seed> replays one with a trace. The scenarios (shipped-gen.ts) add
 * weighted track_script/track_file changes through the real TrackerSet, per-instance interface
 * faults, a third instance, sync groups and sockets that fail to open; the planted bugs below
 * show that the properties for each can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateShipped as generate } from './shipped-gen.js';
import { runShipped, seedsFrom, shippedShard, SimLinkWatch, BASE_SEED, SHIPPED_COUNT } from './shipped.js';
import type { RunResult } from '../../src/util/run-script.js';
import { Executor } from '../../src/daemon/executor.js';
import type { NodeAction } from '../../src/vrrp/node.js';
import type { InstanceRuntime } from '../../src/daemon/executor.js';

const replay = process.env['FLOATD_SHIPPED_SIM_SEED'];

if (replay !== undefined) {
  test(`replay shipped simulation seed ${replay}`, async () => {
    const res = await runShipped(generate(Number(replay) >>> 0), { log: (l) => console.log(l) });
    assert.ok(res.ok, res.failures.join('\n'));
  });
} else {
  test(`the shipped composition keeps the VRRP properties (shard 1/2 of ${SHIPPED_COUNT} scenarios)`, async () => {
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

/** Seeds (from the run's base seed) whose scenarios have what `want` asks for. */
function seedsWith(want: (sc: ReturnType<typeof generate>) => boolean, n: number): number[] {
  const out: number[] = [];
  for (const seed of seedsFrom(BASE_SEED ^ 0x51ed, 2000)) {
    if (want(generate(seed))) out.push(seed);
    if (out.length === n) break;
  }
  return out;
}

async function caughtBy(seeds: number[], make: NonNullable<Parameters<typeof runShipped>[1]>['makeExecutor']) {
  let caught = 0;
  for (const seed of seeds)
    if (!(await runShipped(generate(seed), { makeExecutor: make, failFast: true })).ok) caught++;
  for (const seed of seeds.slice(0, 5))
    assert.ok((await runShipped(generate(seed))).ok, `seed ${seed} fails without the bug`);
  return caught;
}

/** A planted bug: adverts carry the configured priority, not the effective one (weights never reach the wire). */
class BasePriorityExecutor extends Executor {
  override sendAdvert(rt: InstanceRuntime, priority: number): void {
    super.sendAdvert(rt, priority === 0 ? 0 : rt.cfg.priority);
  }
}

test('a bug planted in the executor (adverts ignore tracker weights) is caught by the weighted scenarios', async () => {
  // Scenarios where a weight moves on a node while the network is up: the planted bug shows once
  // a BACKUP's effective priority passes the MASTER's configured one, or the MASTER's falls below.
  // (Without higher_prio_send_advert: its answer-at-once turns the bug into a slow advert storm.)
  const seeds = seedsWith(
    (sc) => sc.track.size >= 2 && sc.nodes.every((n) => !n.instances[0]!.higherPrioSendAdvert),
    40,
  );
  const caught = await caughtBy(seeds, (d) => new BasePriorityExecutor(d));
  assert.ok(caught >= seeds.length / 10, `only ${caught} of ${seeds.length} weighted scenarios caught the bug`);
});

/** A planted bug: a transition to FAULT keeps the VIPs (its removeVips is dropped). */
class FaultKeepsVipsExecutor extends Executor {
  override run(actions: readonly NodeAction[]): void {
    const faulting = new Set(
      actions.flatMap((na) =>
        'instance' in na && na.action.type === 'transition' && na.action.to === 'FAULT' ? [na.instance] : [],
      ),
    );
    super.run(
      actions.filter((na) => !('instance' in na && faulting.has(na.instance) && na.action.type === 'removeVips')),
    );
  }
}

test('a bug planted in the executor (FAULT keeps the VIPs) is caught by the per-instance fault scenarios', async () => {
  const seeds = seedsWith((sc) => sc.timeline.some((e) => e.d.kind === 'fault' && e.d.instance !== 'VI_1'), 20);
  const caught = await caughtBy(seeds, (d) => new FaultKeepsVipsExecutor(d));
  assert.ok(
    caught >= seeds.length / 4,
    `only ${caught} of ${seeds.length} per-instance fault scenarios caught the bug`,
  );
});

test('the per-instance properties fail when the runtime misses link events or reads the trackers wrong', async () => {
  // A runtime whose link watch never reports (always up): the "FAULT exactly when its interface is down"
  // property must see it in scenarios with per-instance faults.
  const faulty = seedsWith((sc) => sc.timeline.some((e) => e.d.kind === 'fault'), 10);
  let deaf = 0;
  for (const seed of faulty) {
    const r = await runShipped(generate(seed), {
      failFast: true,
      runtime: () => ({ linkWatch: () => new SimLinkWatch() }),
    });
    if (r.failures.some((f) => f.includes('expected FAULT'))) deaf++;
  }
  assert.ok(deaf >= faulty.length / 2, `only ${deaf} of ${faulty.length} caught a deaf link watch`);
  // A runtime whose script results arrive inverted: the effective-priority property must see it.
  const weighted = seedsWith((sc) => Object.values(sc.extra).some((x) => x.scriptWeight !== 0), 10);
  let wrong = 0;
  for (const seed of weighted) {
    const inverted = async (): Promise<RunResult> => ({ ok: false, detail: 'exited with status 1', durationMs: 0 });
    const r = await runShipped(generate(seed), {
      failFast: true,
      runtime: () => ({ trackerHooks: { runner: inverted } }),
    });
    if (r.failures.some((f) => f.includes('effective priority') || f.includes('expected'))) wrong++;
  }
  assert.ok(wrong >= weighted.length / 2, `only ${wrong} of ${weighted.length} caught wrong tracker results`);
});
