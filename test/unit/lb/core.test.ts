import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { maglev, slotTable, wrrSequence, MH_TABLE, type SlotServer } from '../../../src/lb/slots.js';
import { rotation, rsState, stepVs, stopEvents, type RsState } from '../../../src/lb/membership.js';
import { parseConfigText } from '../../../src/config/index.js';
import type { VirtualServerConfig } from '../../../src/config/lvs-model.js';

const servers = (ws: number[]): SlotServer[] =>
  ws.map((w, i) => ({ address: `203.0.113.${i + 1}`, port: 80, weight: w }));
const count = (t: SlotServer[]): Map<string, number> =>
  t.reduce((m, s) => m.set(s.address, (m.get(s.address) ?? 0) + 1), new Map<string, number>());

test('wrr gives each server slots in proportion to its weight, interleaved as IPVS does', () => {
  assert.deepEqual(
    wrrSequence(servers([1, 2])).map((s) => s.address),
    ['203.0.113.2', '203.0.113.1', '203.0.113.2'],
  );
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 8 }), (ws) => {
      const t = wrrSequence(servers(ws));
      const g =
        ws
          .filter((w) => w > 0)
          .reduce((a, b) => {
            let x = a,
              y = b;
            while (y) [x, y] = [y, x % y];
            return x;
          }, 0) || 1;
      const c = count(t);
      ws.forEach((w, i) => assert.equal(c.get(`203.0.113.${i + 1}`) ?? 0, w / g));
    }),
  );
});

test('rr lists every live server once; weight 0 servers get no slot; fo takes the heaviest', () => {
  assert.deepEqual(
    slotTable('rr', servers([5, 0, 1])).map((s) => s.address),
    ['203.0.113.1', '203.0.113.3'],
  );
  assert.deepEqual(
    slotTable('fo', servers([1, 7, 3])).map((s) => s.address),
    ['203.0.113.2'],
  );
  assert.deepEqual(slotTable('wrr', servers([0, 0])), []);
});

test('maglev: removing a server moves its own slots and under 2 % of others; shares stay near the weights', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), fc.nat(), (n, k) => {
      const all = servers(Array(n).fill(1));
      const before = maglev(all);
      const gone = all[k % n]!;
      const after = maglev(all.filter((s) => s !== gone));
      assert.equal(after.length, MH_TABLE);
      let moved = 0;
      for (let i = 0; i < MH_TABLE; i++) if (before[i] !== gone && after[i] !== before[i]) moved++;
      assert.ok(moved < MH_TABLE * 0.02, `${moved} other slots moved`);
      for (const [, c] of count(before)) assert.ok(Math.abs(c - MH_TABLE / n) < (MH_TABLE / n) * 0.1 + 2);
    }),
    { numRuns: 30 },
  );
});

function vsOf(text: string): VirtualServerConfig {
  const r = parseConfigText(text, 't.conf');
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  return r.config.virtualServers![0]!;
}
const rsMap = (alive: boolean[]): Map<string, RsState> =>
  new Map(alive.map((a, i) => [`203.0.113.${i + 1}:80`, { alive: a, weight: 1 }]));

const QUORUM = `virtual_server 192.0.2.100 80 { lvs_sched rr
  quorum 3
  hysteresis 1
  sorry_server 203.0.113.99 80
  real_server 203.0.113.1 80 { }
  real_server 203.0.113.2 80 { }
  real_server 203.0.113.3 80 { }
  real_server 203.0.113.4 80 { }
}`;

test('quorum: lost below quorum − hysteresis, regained at quorum + hysteresis, sorry server alone meanwhile', () => {
  const vs = vsOf(QUORUM);
  let s = stepVs(vs, undefined, rsMap([true, true, true, true])).state;
  assert.equal(s.quorumUp, true);
  let r = stepVs(vs, s, rsMap([true, true, false, false])); // 2 ≥ 3 − 1: kept
  assert.equal(r.state.quorumUp, true);
  assert.deepEqual(
    r.events.map((e) => e.type),
    ['rs_down', 'rs_down'],
  );
  s = r.state;
  r = stepVs(vs, s, rsMap([true, false, false, false])); // 1 < 2: lost
  assert.equal(r.state.quorumUp, false);
  assert.deepEqual(
    r.events.map((e) => e.type),
    ['rs_down', 'quorum_down'],
  );
  assert.deepEqual(rotation(vs, r.state), [{ address: '203.0.113.99', port: 80, weight: 1, sorry: true }]);
  s = r.state;
  r = stepVs(vs, s, rsMap([true, true, true, false])); // 3 < 4: still lost
  assert.equal(r.state.quorumUp, false);
  s = r.state;
  r = stepVs(vs, s, rsMap([true, true, true, true])); // 4 ≥ 4: regained
  assert.equal(r.state.quorumUp, true);
  assert.equal(r.events.at(-1)!.type, 'quorum_up');
  assert.deepEqual(
    rotation(vs, r.state).map((x) => x.address),
    ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'],
  );
});

test('alpha starts a server down until its check succeeds; inhibit_on_failure keeps it listed at weight 0', () => {
  const vs = vsOf(`virtual_server 192.0.2.100 80 { lvs_sched rr
  alpha
  omega
  real_server 203.0.113.1 80 {
    inhibit_on_failure
    TCP_CHECK {
    }
  }
}`);
  const rs = vs.realServers[0]!;
  assert.deepEqual(rsState(rs, [undefined]), { alive: false, weight: 1 });
  assert.deepEqual(rsState(rs, [{ up: true }]), { alive: true, weight: 1 });
  assert.deepEqual(rsState(rs, [{ up: true, weight: 7 }]), { alive: true, weight: 7 }, 'misc_dynamic weight');
  const st = stepVs(vs, undefined, new Map([['203.0.113.1:80', rsState(rs, [undefined])]])).state;
  assert.deepEqual(rotation(vs, st), [{ address: '203.0.113.1', port: 80, weight: 0 }]);
  const up = stepVs(vs, st, new Map([['203.0.113.1:80', { alive: true, weight: 1 }]]));
  assert.deepEqual(
    up.events.map((e) => e.type),
    ['rs_up', 'quorum_up'],
  );
  assert.deepEqual(
    stopEvents(vs, up.state).map((e) => e.type),
    ['rs_down', 'quorum_down'],
    'omega runs the down scripts at stop',
  );
});

test('without a sorry server, lost quorum keeps the live servers serving', () => {
  const vs = vsOf(QUORUM.replace('sorry_server 203.0.113.99 80', ''));
  const s = stepVs(vs, undefined, rsMap([true, false, false, false])).state;
  assert.equal(s.quorumUp, false);
  assert.deepEqual(
    rotation(vs, s).map((x) => x.address),
    ['203.0.113.1'],
  );
});
