/** The second half of the shipped-composition scenarios (see shipped-sim.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shippedShard, SHIPPED_COUNT } from './shipped.js';

if (process.env['FLOATD_SHIPPED_SIM_SEED'] === undefined) {
  test(`the shipped composition keeps the VRRP properties (shard 2/2 of ${SHIPPED_COUNT} scenarios)`, async () => {
    const r = await shippedShard(1, 2);
    assert.ok(r.checks > r.ran, 'the property checks ran');
    assert.equal(r.failed.length, 0, r.failed.join('\n'));
  });
}
