import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenarios, runScenario } from './scenarios/runner.js';

const scenarios = loadScenarios();

test('there are at least 15 golden scenarios', () => {
  assert.ok(scenarios.length >= 15, `only ${scenarios.length}`);
});

for (const { file, scenario } of scenarios) {
  test(`scenario ${file}: ${scenario.name}`, () => {
    const w = runScenario(scenario);
    const got = w.transitions.map((t) => [t.at, t.node, t.instance, t.from, t.to, t.kind]);
    if (process.env['FLOATD_SCENARIO_RECORD']) console.log(file, JSON.stringify(got));
    assert.deepEqual(got, scenario.transitions);
    let from = 0;
    for (const want of scenario.actions ?? []) {
      const idx = w.actions.findIndex(
        (a, i) =>
          i >= from &&
          a.at === want.at &&
          a.node === want.node &&
          a.instance === want.instance &&
          Object.entries(want.action).every(
            ([k, v]) => JSON.stringify((a.action as Record<string, unknown>)[k]) === JSON.stringify(v),
          ),
      );
      assert.ok(idx >= 0, `expected action ${JSON.stringify(want)} (after #${from})`);
      from = idx + 1;
    }
    for (const [key, want] of Object.entries(scenario.final ?? {})) {
      const [node = '', inst = ''] = key.split('/');
      const i = w.node(node)?.instance(inst);
      assert.ok(i, `no ${key}`);
      if (want.state !== undefined) assert.equal(i.state, want.state, `${key} state`);
      if (want.effectivePriority !== undefined)
        assert.equal(i.effectivePriority, want.effectivePriority, `${key} effective priority`);
      if (want.basePriority !== undefined) assert.equal(i.basePriority, want.basePriority, `${key} base priority`);
      if (want.reasonKind !== undefined) assert.equal(i.stateReason.kind, want.reasonKind, `${key} state reason`);
      if (want.holdsVip !== undefined) assert.equal(w.holdsVip(node, inst), want.holdsVip, `${key} VIP`);
    }
  });
}
