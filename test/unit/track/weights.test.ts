import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aggregate, contributions, type TrackerValue } from '../../../src/track/aggregate.js';
import { contribution, type CheckStatus } from '../../../src/track/rise-fall.js';
import { effectivePriority, fileContribution, hasQuorum, normaliseTracks } from '../../../src/track/weights.js';
import type { TrackRef } from '../../../src/track/types.js';

test('track_file: value × weight, reverse flips, clamped to 253, at or below -254 is a FAULT', () => {
  assert.deepEqual(fileContribution(0, 1, false), { delta: 0, fault: false });
  assert.deepEqual(fileContribution(5, 1, false), { delta: 5, fault: false });
  assert.deepEqual(fileContribution(5, -10, false), { delta: -50, fault: false });
  assert.deepEqual(fileContribution(5, 10, true), { delta: -50, fault: false });
  assert.deepEqual(fileContribution(100, 10, false), { delta: 253, fault: false });
  assert.deepEqual(fileContribution(-253, 1, false), { delta: -253, fault: false });
  assert.deepEqual(fileContribution(-254, 1, false), { delta: 0, fault: true });
  assert.deepEqual(fileContribution(-30, 10, false), { delta: 0, fault: true });
});

test('track_file with weight 0: non-zero is a FAULT, zero is one when reversed', () => {
  assert.deepEqual(fileContribution(0, 0, false), { delta: 0, fault: false });
  assert.deepEqual(fileContribution(7, 0, false), { delta: 0, fault: true });
  assert.deepEqual(fileContribution(-1, 0, false), { delta: 0, fault: true });
  assert.deepEqual(fileContribution(0, 0, true), { delta: 0, fault: true });
  assert.deepEqual(fileContribution(3, 0, true), { delta: 0, fault: false });
});

test('track_process quorum: quorum ≤ count ≤ quorum_max', () => {
  assert.equal(hasQuorum(0), false);
  assert.equal(hasQuorum(1), true);
  assert.equal(hasQuorum(5), true);
  assert.equal(hasQuorum(2, 3), false);
  assert.equal(hasQuorum(3, 3, 4), true);
  assert.equal(hasQuorum(5, 3, 4), false);
});

test('effective priority: base + delta clamped to [1, 254]; an owner stays at 255', () => {
  assert.equal(effectivePriority(100, -150), 1);
  assert.equal(effectivePriority(200, 100), 254);
  assert.equal(effectivePriority(100, 20), 120);
  assert.equal(effectivePriority(255, -50), 255);
});

const ref = (kind: TrackRef['kind'], name: string, weight: number, reverse = false): TrackRef => ({
  kind,
  name,
  weight,
  reverse,
});

test('an address owner drops weighted trackers and keeps fault triggers', () => {
  const n = normaliseTracks({
    name: 'VI_1',
    basePriority: 255,
    tracks: [
      ref('script', 'chk', 20),
      ref('script', 'must', 0),
      ref('interface', 'eth1', -10),
      ref('file', 'f1', 1),
      ref('file', 'f2', 5),
      ref('process', 'p', 2),
    ],
  });
  assert.deepEqual(n.tracks, [ref('script', 'must', 0), ref('file', 'f1', 0)]);
  assert.equal(n.warnings.length, 5);
});

test('a sync-group member ignores weights: weighted interfaces become fault triggers, weighted scripts go', () => {
  const tracks = [ref('script', 'chk', 20), ref('interface', 'eth1', -10), ref('file', 'f1', 1), ref('file', 'f2', 5)];
  const n = normaliseTracks({ name: 'VI_1', basePriority: 100, inSyncGroup: true, tracks });
  assert.deepEqual(n.tracks, [ref('interface', 'eth1', 0), ref('file', 'f1', 0)]);
  assert.match(n.warnings.join('\n'), /sync_group_tracking_weight/);
  const kept = normaliseTracks({
    name: 'VI_1',
    basePriority: 100,
    inSyncGroup: true,
    syncGroupTrackingWeight: true,
    tracks,
  });
  assert.deepEqual(kept.tracks, tracks);
  assert.deepEqual(kept.warnings, []);
});

test('a second tracking line for the same object is ignored, as in keepalived', () => {
  const n = normaliseTracks({
    name: 'VI_1',
    basePriority: 100,
    tracks: [ref('script', 'chk', 20), ref('script', 'chk', -5)],
  });
  assert.deepEqual(n.tracks, [ref('script', 'chk', 20)]);
});

test('aggregate: deltas add up, weight-0 failures are named, a weight-0 tracker in init holds the instance', () => {
  const tracks = [
    ref('script', 'chk_nginx', 0),
    ref('script', 'chk_web', -30),
    ref('interface', 'eth1', 0),
    ref('file', 'maint', -100),
    ref('process', 'haproxy', 15),
  ];
  const values: Record<string, TrackerValue> = {
    chk_nginx: { kind: 'script', status: 'down' },
    chk_web: { kind: 'script', status: 'down' },
    eth1: { kind: 'interface', status: 'up' },
    maint: { kind: 'file', value: 0 },
    haproxy: { kind: 'process', status: 'up' },
  };
  assert.deepEqual(
    aggregate(tracks, (r) => values[r.name]),
    { priorityDelta: -15, faults: ['chk_nginx'], pendingInit: false },
  );
  values.chk_nginx = { kind: 'script', status: 'init' };
  values.maint = { kind: 'file', value: 3 };
  assert.deepEqual(
    aggregate(tracks, (r) => values[r.name]),
    { priorityDelta: -15, faults: ['maint'], pendingInit: true },
  );
  assert.deepEqual(
    aggregate([ref('script', 'missing', 0)], () => undefined),
    { priorityDelta: 0, faults: [], pendingInit: false },
  );
});

const statusArb = fc.constantFrom<CheckStatus>('init', 'up', 'down');
const trackArb = fc.record({
  kind: fc.constantFrom<TrackRef['kind']>('script', 'interface', 'file', 'process'),
  weight: fc.oneof(fc.constant(0), fc.integer({ min: -254, max: 254 })),
  reverse: fc.boolean(),
  status: statusArb,
  value: fc.integer({ min: -300, max: 300 }),
});

test('property: a weighted tracker never faults the instance; priority = base + Σ contributions, clamped', () => {
  fc.assert(
    fc.property(fc.array(trackArb, { maxLength: 12 }), fc.integer({ min: 1, max: 254 }), (ts, base) => {
      const tracks = ts.map((t, i) => ref(t.kind, `t${i}`, t.weight, t.reverse));
      const lookup = (r: TrackRef): TrackerValue => {
        const t = ts[Number(r.name.slice(1))]!;
        return t.kind === 'file' ? { kind: 'file', value: t.value } : { kind: t.kind, status: t.status };
      };
      const agg = aggregate(tracks, lookup);
      let sum = 0;
      for (const [i, t] of ts.entries()) {
        const c =
          t.kind === 'file'
            ? fileContribution(t.value, t.weight, t.reverse)
            : contribution(t.status, t.weight, t.reverse);
        sum += c.delta;
        // Only weight-0 trackers fault, except track_file where keepalived faults at ≤ -254.
        if (agg.faults.includes(`t${i}`) && t.weight !== 0) assert.equal(t.kind, 'file');
        if (t.weight !== 0 && t.kind !== 'file') assert.equal(c.fault, false);
        if (t.weight === 0) assert.equal(c.delta, 0);
      }
      assert.equal(agg.priorityDelta, sum);
      const eff = effectivePriority(base, agg.priorityDelta);
      assert.ok(eff >= 1 && eff <= 254);
      assert.equal(contributions(tracks, lookup).length, tracks.length);
    }),
  );
});

test('property: reverse mirrors a weighted tracker (up reversed contributes like down with the opposite sign)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -253, max: 253 }).filter((w) => w !== 0),
      (w) => {
        assert.equal(contribution('up', w, true).delta, -contribution('up', w, false).delta || 0);
        assert.equal(contribution('down', w, true).delta, -contribution('down', w, false).delta || 0);
      },
    ),
  );
});
