/**
 * Issue 13 Part 1 in virtual time: a partition moves the cloud address at most once; the
 * heal moves it to the VRRP winner with one move; takeovers and drift still work. Each test
 * drives two real Reconcilers through PairSim (partition-sim.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PairSim } from './partition-sim.js';
import { DEFAULT_RECONCILER, Reconciler, type ReconcilerAction } from '../../../src/cloud/reconciler.js';

const A = { id: '101', priority: 200, phaseMs: 0 };
const B = { id: '102', priority: 100, phaseMs: 500 };

function pair(
  o: { reconcileS?: number; actionMs?: number; latencyMs?: number; peers?: string[]; phaseB?: number } = {},
): PairSim {
  const s = new PairSim([A, { ...B, phaseMs: o.phaseB ?? B.phaseMs }], null, {
    latencyMs: o.latencyMs ?? 50,
    actionMs: o.actionMs ?? 300,
    settings: { reconcileUs: (o.reconcileS ?? 5) * 1e6 },
    ...(o.peers ? { peers: o.peers } : {}),
  });
  s.start('101');
  s.run(10_000);
  assert.equal(s.holder, '101', 'A holds the address before the partition');
  return s;
}

test("without peers (the seed's floatd): a 60 s partition ping-pongs the address, as issue 13 measured", () => {
  const s = pair({ peers: [] });
  s.at(20_000, () => {
    s.link = false;
  });
  s.run(80_000);
  assert.ok(s.changesBetween(20_000, 80_000) >= 10, `${s.changesBetween(20_000, 80_000)} holder changes`);
});

test('with peers: a 60 s partition moves the address once (takeover); the old MASTER is contested, no assign', () => {
  const s = pair();
  s.at(20_000, () => {
    s.link = false;
  });
  s.run(80_000);
  assert.equal(s.changesBetween(20_000, 80_000), 1);
  assert.equal(s.holder, '102', 'the node that took over keeps it');
  const a = s.node('101').rec.view();
  assert.equal(a.phase, 'contested');
  assert.match(a.contested ?? '', /^contested: the provider shows 102 as holder; this node cannot hear its peer/);
  assert.equal(
    s.assigns.filter((x) => x.by === '101' && x.at >= 20_000).length,
    0,
    'the contested MASTER made no assign',
  );
  const rechecks = s.logs.filter((l) => l.node === '101' && l.event === 'cloud.contested');
  assert.equal(rechecks.length, 1, 'contested is announced once, not at every re-check');
  assert.equal(rechecks[0]!.code, 'CLOUD_CONTESTED', 'with its stable code (docs/errors.md)');
  // The heal: both MASTER, adverts cross; A (200) wins and the address follows it with one move.
  s.at(80_000, () => {
    s.link = true;
  });
  s.run(100_000);
  assert.equal(s.holder, '101');
  assert.equal(s.changesBetween(80_000, 100_000), 1);
  assert.equal(s.node('102').state, 'BACKUP');
  assert.ok(s.logs.some((l) => l.node === '101' && l.event === 'cloud.contest_ended'));
});

test('a FAULT and back on the contested node in the partition: still no assign (evidence outlives the wish)', () => {
  const s = pair();
  s.at(20_000, () => {
    s.link = false;
  });
  s.at(40_000, () => s.setState('101', 'FAULT'));
  s.at(45_000, () => s.setState('101', 'BACKUP')); // its down timer makes it MASTER again 3 s later
  s.run(90_000);
  assert.equal(s.node('101').state, 'MASTER');
  assert.equal(s.changesBetween(20_000, 90_000), 1);
  assert.equal(s.node('101').rec.view().phase, 'contested');
});

test('a crash of the MASTER (no partition): the BACKUP takes the address over', () => {
  const s = pair();
  s.at(20_000, () => s.setState('101', 'DEAD'));
  s.run(40_000);
  assert.equal(s.holder, '102');
  assert.equal(s.changesBetween(20_000, 40_000), 1);
  assert.equal(s.node('102').rec.view().phase, 'held');
});

test('a FAULT on the MASTER, then recovery: the BACKUP takes it, the MASTER preempts and takes it back', () => {
  const s = pair();
  s.at(20_000, () => s.setState('101', 'FAULT'));
  s.at(40_000, () => s.setState('101', 'BACKUP'));
  s.run(60_000);
  assert.equal(s.holder, '101');
  assert.equal(s.changesBetween(20_000, 60_000), 2);
});

/** One reconciler, driven by hand: fixed self 'me', peers me and peer. */
function solo(): { rec: Reconciler; at: (ms: number, ev: Parameters<Reconciler['step']>[1]) => ReconcilerAction[] } {
  const rec = new Reconciler(
    { ...DEFAULT_RECONCILER, reconcileUs: 10_000_000, peers: ['me', 'peer'], claimWindowUs: 1_000_000 },
    () => 0.5,
    'me',
  );
  return { rec, at: (ms, ev) => rec.step(ms * 1000, ev) };
}
const calls = (as: ReconcilerAction[]): string[] => as.flatMap((a) => (a.type === 'call' ? [a.op] : []));
const gen = (r: Reconciler): number => (r as unknown as { gen: number }).gen;

test('drift while held: to a non-peer or to nobody is re-asserted; to a peer not heard, contested', () => {
  for (const [to, expect] of [
    ['stranger', 'assign'],
    [null, 'assign'],
    ['peer', 'none'],
  ] as const) {
    const { rec, at } = solo();
    at(0, { type: 'desire', want: 'hold', reason: 't' });
    at(10, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'me' });
    at(10_000, { type: 'timer' });
    const out = at(10_010, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: to });
    assert.deepEqual(calls(out), expect === 'assign' ? ['assign'] : [], `drift to ${String(to)}`);
    if (expect === 'none') {
      assert.equal(rec.view().phase, 'contested');
      assert.ok(out.some((a) => a.type === 'log' && a.event === 'cloud.contested'));
      // The re-check at the reconcile interval reads the holder and again does not assign.
      assert.deepEqual(calls(at(20_010, { type: 'timer' })), ['holder']);
      assert.deepEqual(calls(at(20_020, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'peer' })), []);
      // An advert from the peer: contact is back, the holder is read at once and claimed.
      assert.deepEqual(calls(at(21_000, { type: 'heard' })), ['holder']);
      assert.deepEqual(calls(at(21_010, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'peer' })), [
        'assign',
      ]);
      assert.equal(rec.view().contested, undefined);
    }
  }
});

test('a takeover: the peer held it while this node heard its adverts → assign at once', () => {
  const { rec, at } = solo();
  at(0, { type: 'heard' });
  at(5_000, { type: 'heard' }); // last advert of the old MASTER
  const out = at(8_000, { type: 'desire', want: 'hold', reason: 'master down' });
  assert.deepEqual(calls(out), ['holder']);
  assert.deepEqual(calls(at(8_010, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'peer' })), [
    'assign',
  ]);
});

test("a peer's assign issued before its last advert may land late: not a fresh claim (claim window)", () => {
  const { rec, at } = solo();
  at(0, { type: 'desire', want: 'hold', reason: 't' });
  at(10, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'me' }); // held
  at(500, { type: 'heard' }); // the peer's last advert, 0.49 s later: within the 1 s window
  at(10_000, { type: 'timer' });
  assert.deepEqual(calls(at(10_010, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'peer' })), [
    'assign',
  ]);
});

test('property: random partitions, timings, flaps: ≤ 1 holder change per partition; heal ends on the winner', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 15_000, max: 60_000 }), // partition start
      fc.integer({ min: 4_000, max: 300_000 }), // duration
      fc.integer({ min: 2, max: 30 }), // reconcile_interval, s
      fc.integer({ min: 5, max: 800 }), // request latency
      fc.integer({ min: 50, max: 8_000 }), // provider action
      fc.integer({ min: 0, max: 999 }), // B's advert phase
      fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }), // A flaps FAULT at this % of the partition
      (start, duration, reconcileS, latencyMs, actionMs, phaseB, flapPct) => {
        const s = pair({ reconcileS, latencyMs, actionMs, phaseB });
        const heal = start + duration;
        s.at(start, () => {
          s.link = false;
        });
        if (flapPct !== undefined) {
          const t = start + Math.floor((duration * flapPct) / 100);
          s.at(t, () => s.setState('101', 'FAULT'));
          s.at(t + 1500, () => {
            if (s.node('101').state === 'FAULT') s.setState('101', 'BACKUP');
          });
        }
        s.at(heal, () => {
          s.link = true;
        });
        const settle = heal + 2 * reconcileS * 1000 + 2 * actionMs + 10 * latencyMs + 5_000;
        s.run(settle);
        const during = s.changesBetween(start, heal);
        assert.ok(during <= 1, `${during} holder changes during the partition`);
        // The takeover may land just after the heal; then the winner's one move follows.
        const episode = s.changesBetween(start, settle);
        assert.ok(episode <= 2, `${episode} holder changes from the partition to the settled heal`);
        assert.equal(s.holder, '101', 'after the heal the address is on the VRRP winner');
        assert.equal(s.node('101').state, 'MASTER');
        assert.equal(s.node('102').state, 'BACKUP');
      },
    ),
    { numRuns: 400 },
  );
});

test('a reload in a partition does not forget it: the new reconciler inherits the evidence, stays contested', () => {
  const { rec, at } = solo();
  at(0, { type: 'desire', want: 'hold', reason: 't' });
  at(10, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'me' });
  at(10_000, { type: 'timer' });
  at(10_010, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'peer' });
  assert.equal(rec.view().phase, 'contested');
  const fresh = new Reconciler(
    { ...DEFAULT_RECONCILER, reconcileUs: 10_000_000, peers: ['me', 'peer'], claimWindowUs: 1_000_000 },
    () => 0.5,
    'me',
  );
  const forgetful = new Reconciler(
    { ...DEFAULT_RECONCILER, reconcileUs: 10_000_000, peers: ['me', 'peer'], claimWindowUs: 1_000_000 },
    () => 0.5,
    'me',
  );
  fresh.inheritFrom(rec);
  for (const [r, expect] of [
    [fresh, []],
    [forgetful, ['assign']],
  ] as const) {
    r.step(12_000_000, { type: 'desire', want: 'hold', reason: 'reload: was MASTER' });
    const out = r.step(12_010_000, { type: 'result', gen: gen(r), op: 'holder', ok: true, value: 'peer' });
    assert.deepEqual(calls(out), expect);
  }
  assert.equal(fresh.view().phase, 'contested');
});

test('contest_timeout (opt-in): a peer that took the address and died in the partition loses it after it', () => {
  const rec = new Reconciler(
    {
      ...DEFAULT_RECONCILER,
      reconcileUs: 10_000_000,
      peers: ['me', 'peer'],
      claimWindowUs: 1_000_000,
      contestTimeoutUs: 25_000_000,
    },
    () => 0.5,
    'me',
  );
  const at = (ms: number, ev: Parameters<Reconciler['step']>[1]): ReconcilerAction[] => rec.step(ms * 1000, ev);
  at(0, { type: 'desire', want: 'hold', reason: 't' });
  at(10, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'me' });
  at(10_000, { type: 'timer' });
  // contested since 10 s
  assert.deepEqual(calls(at(10_010, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'peer' })), []);
  at(20_010, { type: 'timer' });
  assert.deepEqual(calls(at(20_020, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'peer' })), []);
  at(30_020, { type: 'timer' });
  // 20 s < 25 s
  assert.deepEqual(calls(at(30_030, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'peer' })), []);
  at(40_030, { type: 'timer' });
  const out = at(40_040, { type: 'result', gen: gen(rec), op: 'holder', ok: true, value: 'peer' });
  assert.deepEqual(calls(out), ['assign']);
  assert.ok(out.some((a) => a.type === 'log' && a.event === 'cloud.contest_timeout'));
});

test('a partition soon after a failback: the claim window decides — 10 s (pending actions shown) moves it once', () => {
  const run = (claimWindowMs: number): number => {
    const claimWindowUs = claimWindowMs * 1000;
    const s = new PairSim([A, B], null, {
      latencyMs: 50,
      actionMs: 300,
      settings: { reconcileUs: 5_000_000, claimWindowUs },
    });
    s.start('101');
    s.at(20_000, () => s.setState('101', 'FAULT'));
    s.at(30_000, () => s.setState('101', 'BACKUP')); // preempts back at once: last contact ~30 s
    s.at(50_000, () => {
      s.link = false;
    });
    s.run(140_000);
    return s.changesBetween(50_000, 140_000);
  };
  assert.equal(run(10_000), 1);
  // With the conservative 70 s window (providers without a pending flag) the same partition
  // moves it more than once until the window has passed: documented in docs/cloud.md.
  assert.ok(run(70_000) > 1);
});

test('DigitalOcean shows pending actions: claim window = 1 request timeout, not action_timeout + timeout', async () => {
  const { FloatingIpRunner } = await import('../../../src/cloud/runner.js');
  const { providers } = await import('../../../src/cloud/providers/index.js');
  const { realClock } = await import('../../../src/util/clock.js');
  const { pino } = await import('pino');
  const mk = (provider: string): number => {
    const r = new FloatingIpRunner(
      {
        name: 'w',
        provider,
        address: '203.0.113.10',
        tokenEnv: 'T',
        options: { timeout: '4' },
        peers: ['1', '2'],
        pos: { file: 'f', line: 1, col: 1 },
      },
      { log: pino({ level: 'silent' }), clock: realClock, factories: providers, env: { T: 'x' } },
    );
    const w = (r as unknown as { rec: { s: { claimWindowUs: number } } }).rec.s.claimWindowUs / 1000;
    r.stop();
    return w;
  };
  assert.equal(mk('digitalocean'), 4000);
  assert.equal(mk('hetzner'), 64_000);
});
