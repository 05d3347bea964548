/**
 * Randomized multi-node VRRP simulation. FLOATD_SIM_COUNT scenarios (default 10,000) from
 * FLOATD_SIM_BASE_SEED; FLOATD_SIM_SEED=<seed> replays one scenario with a full trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, runSim, prng } from './sim.js';

const replay = process.env['FLOATD_SIM_SEED'];
const count = Number(process.env['FLOATD_SIM_COUNT'] ?? 10_000);
const baseSeed = Number(process.env['FLOATD_SIM_BASE_SEED'] ?? 20261125);

function replayCommand(seed: number): string {
  return `FLOATD_SIM_SEED=${seed} npx tsx --test test/sim/vrrp-sim.test.ts`;
}

if (replay !== undefined) {
  test(`replay simulation seed ${replay}`, () => {
    const seed = Number(replay) >>> 0;
    const sc = generate(seed);
    console.log(JSON.stringify({ ...sc, timeline: undefined }, null, 1));
    const res = runSim(sc, (line) => console.log(line));
    console.log(`seed ${seed}: ${res.checks} checks, ${res.transitions} transitions`);
    assert.ok(res.ok, res.failures.join('\n'));
  });
} else {
  test(`VRRP properties over ${count} random scenarios`, () => {
    const seeds = prng(baseSeed);
    const failed: string[] = [];
    let checks = 0;
    let healChecks = 0;
    let transitions = 0;
    const t0 = Date.now();
    for (let i = 0; i < count; i++) {
      const seed = Math.floor(seeds() * 2 ** 32) >>> 0;
      const res = runSim(generate(seed));
      checks += res.checks;
      healChecks += res.healChecks;
      transitions += res.transitions;
      if (!res.ok && failed.length < 10)
        failed.push(`seed ${seed}: ${res.failures.join('; ')}\n  replay: ${replayCommand(seed)}`);
    }
    console.log(
      `simulated ${count} scenarios (base seed ${baseSeed}): ${checks} property checks (${healChecks} after ` +
        `partition heals), ${transitions} transitions, ${failed.length} failing, ${Date.now() - t0} ms`,
    );
    assert.equal(failed.length, 0, failed.join('\n'));
  });
}
