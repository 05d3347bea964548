import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterUs } from '../../../src/util/clock.js';
import { MS, VirtualClock } from '../../support/virtual-clock.js';
import { PeriodicCheck, type ProbeResult } from '../../../src/track/periodic.js';
import type { RunRequest, RunResult, ScriptRunner } from '../../../src/util/run-script.js';
import { TrackerSet, type TrackingChange } from '../../../src/track/tracker-set.js';
import type { ProcEntry } from '../../../src/track/process-tracker.js';
import type { ScriptCheckSpec, TrackingConfig } from '../../../src/track/types.js';

/** A runner whose results the test scripts: each call takes the next outcome and a duration. */
function scriptedRunner(clock: VirtualClock, outcomes: Array<boolean | { ok: boolean; ms: number }>) {
  const calls: RunRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const runner: ScriptRunner = (req) => {
    calls.push(req);
    const o = outcomes.shift() ?? true;
    const { ok, ms } = typeof o === 'boolean' ? { ok: o, ms: 5 } : o;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<RunResult>((resolve) => {
      let done = false;
      const finish = (r: RunResult): void => {
        if (done) return;
        done = true;
        inFlight--;
        resolve(r);
      };
      req.signal?.addEventListener('abort', () => finish({ ok: false, detail: 'aborted', durationMs: 0 }));
      if (ms > req.timeoutUs / MS) {
        afterUs(clock, req.timeoutUs, () =>
          finish({
            ok: false,
            detail: `timed out after ${req.timeoutUs / MS} ms`,
            durationMs: req.timeoutUs / MS,
            timedOut: true,
          }),
        );
      } else {
        afterUs(clock, ms * MS, () =>
          finish({ ok, detail: `exited with status ${ok ? 0 : 1}`, exitCode: ok ? 0 : 1, durationMs: ms }),
        );
      }
    });
  };
  return { runner, calls, maxInFlight: () => maxInFlight };
}

const script = (over: Partial<ScriptCheckSpec> = {}): ScriptCheckSpec => ({
  kind: 'script',
  name: 'chk_nginx',
  argv: ['pidof', 'nginx'],
  intervalUs: 2000 * MS,
  weight: 0,
  reverse: false,
  rise: 1,
  fall: 1,
  initFail: false,
  ...over,
});

function setup(
  cfg: Partial<TrackingConfig>,
  makeRunner?: (clock: VirtualClock) => ScriptRunner,
  scan?: () => Promise<ProcEntry[]>,
) {
  const clock = new VirtualClock();
  const runner = makeRunner?.(clock);
  const changes: Array<[string, TrackingChange]> = [];
  const full: TrackingConfig = { checks: [], files: [], processes: [], instances: [], ...cfg };
  const set = new TrackerSet(full, {
    clock,
    onChange: (i, c) => changes.push([i, c]),
    ...(runner ? { runner } : {}),
    ...(scan ? { scan: async () => scan() } : {}),
  });
  return { clock, set, changes };
}

test('PeriodicCheck runs at start, then every interval; a slow run makes the next tick skip, no overlap', async () => {
  const clock = new VirtualClock();
  const starts: number[] = [];
  let inFlight = 0;
  let max = 0;
  const durations = [10, 250, 10, 10];
  const p = new PeriodicCheck({
    intervalUs: 100 * MS,
    clock,
    probe: () => {
      starts.push(clock.nowUs() / MS);
      inFlight++;
      max = Math.max(max, inFlight);
      const ms = durations.shift() ?? 10;
      return new Promise<ProbeResult>((r) =>
        afterUs(clock, ms * MS, () => {
          inFlight--;
          r({ ok: true, detail: 'ok', durationMs: ms });
        }),
      );
    },
    onResult: () => undefined,
  });
  p.start();
  await clock.advance(650 * MS);
  assert.deepEqual(starts, [0, 100, 400, 500, 600]);
  assert.equal(max, 1);
  assert.equal(p.skipped, 2);
  await p.stop();
  await clock.advance(1000 * MS);
  assert.equal(starts.length, 5);
});

test('the seed case: pidof nginx fails once with weight 0, fall 1 → the instance faults, then recovers', async () => {
  const { clock, set, changes } = setup(
    {
      checks: [script()],
      instances: [
        { name: 'VI_1', basePriority: 200, tracks: [{ kind: 'script', name: 'chk_nginx', weight: 0, reverse: false }] },
      ],
    },
    (c) => scriptedRunner(c, [true, true, false, false, true]).runner,
  );
  assert.deepEqual(set.aggregate('VI_1'), { priorityDelta: 0, faults: [], pendingInit: true });
  await set.start();
  await clock.advance(10 * MS);
  assert.deepEqual(changes.shift(), [
    'VI_1',
    { priorityDelta: 0, faults: [], pendingInit: false, reason: 'chk_nginx succeeded (exited with status 0)' },
  ]);
  await clock.advance(4000 * MS);
  assert.deepEqual(changes.shift(), [
    'VI_1',
    { priorityDelta: 0, faults: ['chk_nginx'], pendingInit: false, reason: 'chk_nginx failed (exited with status 1)' },
  ]);
  assert.equal(changes.length, 0);
  await clock.advance(4000 * MS);
  assert.equal(changes.shift()?.[1].faults.length, 0);
  assert.equal(set.status('VI_1')[0]?.lastResult, 'exited with status 0');
  await set.stop();
});

test('a weighted check moves the priority only, and only after rise/fall consecutive results', async () => {
  const clock = new VirtualClock();
  const s = scriptedRunner(clock, [true, false, false, false, true, true, true]);
  const { set, changes } = (() => {
    const changes: Array<[string, TrackingChange]> = [];
    const set = new TrackerSet(
      {
        checks: [script({ rise: 3, fall: 3, intervalUs: 1000 * MS })],
        files: [],
        processes: [],
        instances: [
          {
            name: 'VI_1',
            basePriority: 100,
            tracks: [{ kind: 'script', name: 'chk_nginx', weight: -60, reverse: false }],
          },
        ],
      },
      { clock, runner: s.runner, onChange: (i, c) => changes.push([i, c]) },
    );
    return { set, changes };
  })();
  assert.equal(set.aggregate('VI_1').pendingInit, false); // weighted trackers never hold an instance
  await set.start();
  await clock.advance(2500 * MS); // T F F
  assert.equal(changes.length, 0);
  await clock.advance(1000 * MS); // F → down
  assert.deepEqual(
    changes.map((c) => c[1].priorityDelta),
    [-60],
  );
  assert.deepEqual(changes[0]?.[1].faults, []);
  await clock.advance(2000 * MS); // T T
  assert.equal(changes.length, 1);
  await clock.advance(1000 * MS); // T → up
  assert.deepEqual(
    changes.map((c) => c[1].priorityDelta),
    [-60, 0],
  );
  await set.stop();
});

test('a flapping check with rise 3 / fall 3 never flips the aggregate', async () => {
  const clock = new VirtualClock();
  const outcomes = [true, ...Array.from({ length: 60 }, (_, i) => i % 3 !== 2)]; // T T F T T F …
  const s = scriptedRunner(clock, outcomes);
  const changes: TrackingChange[] = [];
  const set = new TrackerSet(
    {
      checks: [script({ rise: 3, fall: 3, intervalUs: 100 * MS })],
      files: [],
      processes: [],
      instances: [
        { name: 'VI_1', basePriority: 100, tracks: [{ kind: 'script', name: 'chk_nginx', weight: 0, reverse: false }] },
      ],
    },
    { clock, runner: s.runner, onChange: (_i, c) => changes.push(c) },
  );
  await set.start();
  await clock.advance(6000 * MS);
  assert.equal(changes.length, 1); // only leaving init
  assert.deepEqual(changes[0]?.faults, []);
  await set.stop();
});

test('a run past its timeout counts as a failure and the script never runs twice at once', async () => {
  const clock = new VirtualClock();
  const s = scriptedRunner(clock, [true, { ok: true, ms: 5000 }, true, true]);
  const changes: TrackingChange[] = [];
  const set = new TrackerSet(
    {
      checks: [script({ intervalUs: 1000 * MS, timeoutUs: 2500 * MS })],
      files: [],
      processes: [],
      instances: [
        { name: 'VI_1', basePriority: 100, tracks: [{ kind: 'script', name: 'chk_nginx', weight: 0, reverse: false }] },
      ],
    },
    { clock, runner: s.runner, onChange: (_i, c) => changes.push(c) },
  );
  await set.start();
  await clock.advance(3900 * MS); // runs at 0 and 1000 (hangs until 3500); ticks at 2000 and 3000 skip
  assert.equal(s.maxInFlight(), 1);
  assert.deepEqual(
    s.calls.map((c) => c.timeoutUs / MS),
    [2500, 2500],
  );
  assert.match(changes.at(-1)?.reason ?? '', /chk_nginx timed out/);
  assert.deepEqual(changes.at(-1)?.faults, ['chk_nginx']);
  await set.stop();
});

test('init_fail starts the instance in fault until the script succeeds', async () => {
  const clock = new VirtualClock();
  const s = scriptedRunner(clock, [true, true]);
  const changes: TrackingChange[] = [];
  const set = new TrackerSet(
    {
      checks: [script({ initFail: true, rise: 2 })],
      files: [],
      processes: [],
      instances: [
        { name: 'VI_1', basePriority: 100, tracks: [{ kind: 'script', name: 'chk_nginx', weight: 0, reverse: false }] },
      ],
    },
    { clock, runner: s.runner, onChange: (_i, c) => changes.push(c) },
  );
  assert.deepEqual(set.aggregate('VI_1'), { priorityDelta: 0, faults: ['chk_nginx'], pendingInit: false });
  await set.start();
  await clock.advance(2100 * MS);
  assert.deepEqual(
    changes.map((c) => c.faults),
    [[]],
  );
  await set.stop();
});

test('interfaces: link watcher events; unweighted down is a fault, weighted down lowers the priority', async () => {
  const { set, changes } = setup({
    instances: [
      { name: 'VI_1', basePriority: 100, tracks: [{ kind: 'interface', name: 'eth1', weight: 0, reverse: false }] },
      {
        name: 'VI_2',
        basePriority: 100,
        tracks: [
          { kind: 'interface', name: 'eth1', weight: -20, reverse: false },
          { kind: 'interface', name: 'eth2', weight: 10, reverse: false },
        ],
      },
    ],
  });
  assert.deepEqual(set.interfaces().sort(), ['eth1', 'eth2']);
  assert.equal(set.aggregate('VI_1').pendingInit, true);
  set.setInterface('eth1', true);
  set.setInterface('eth2', true);
  set.setInterface('eth1', false);
  assert.deepEqual(changes, [
    ['VI_1', { priorityDelta: 0, faults: [], pendingInit: false, reason: 'eth1 up' }],
    ['VI_2', { priorityDelta: 10, faults: [], pendingInit: false, reason: 'eth2 up' }],
    ['VI_1', { priorityDelta: 0, faults: ['eth1'], pendingInit: false, reason: 'eth1 down' }],
    ['VI_2', { priorityDelta: -10, faults: [], pendingInit: false, reason: 'eth1 down' }],
  ]);
  set.setInterface('eth1', false); // no change, no event
  assert.equal(changes.length, 4);
});

test('an owner ignores a weighted check entirely; unknown tracker names are reported, not fatal', async () => {
  const { set, clock } = setup(
    {
      checks: [script()],
      instances: [
        {
          name: 'VI_1',
          basePriority: 255,
          tracks: [
            { kind: 'script', name: 'chk_nginx', weight: 50, reverse: false },
            { kind: 'script', name: 'nope', weight: 0, reverse: false },
          ],
        },
      ],
    },
    () => async () => ({ ok: true, detail: 'exited with status 0', durationMs: 1 }),
  );
  assert.match(set.warnings.join('\n'), /ignoring tracked script chk_nginx with weight 50 due to priority 255/);
  assert.match(set.warnings.join('\n'), /tracks script nope, which is not defined/);
  assert.deepEqual(set.status('VI_1'), []);
  await set.start();
  await clock.advance(100 * MS);
  assert.deepEqual(set.aggregate('VI_1'), { priorityDelta: 0, faults: [], pendingInit: false });
  await set.stop();
});

test('track_process: quorum from /proc scans, with terminate_delay debouncing a brief loss', async () => {
  let procs: ProcEntry[] = [
    { pid: 10, comm: 'nginx' },
    { pid: 11, comm: 'nginx' },
  ];
  const { set, clock, changes } = setup(
    {
      processes: [
        { name: 'nginx', process: 'nginx', weight: 0, reverse: false, quorum: 2, terminateDelayUs: 1500 * MS },
      ],
      processPollUs: 500 * MS,
      instances: [
        { name: 'VI_1', basePriority: 100, tracks: [{ kind: 'process', name: 'nginx', weight: 0, reverse: false }] },
      ],
    },
    undefined,
    async () => procs,
  );
  assert.equal(set.aggregate('VI_1').pendingInit, true);
  await set.start();
  assert.deepEqual(
    changes.map((c) => c[1].faults),
    [[]],
  );
  procs = [{ pid: 10, comm: 'nginx' }];
  await clock.advance(1000 * MS); // lost, but within terminate_delay
  procs = [
    { pid: 10, comm: 'nginx' },
    { pid: 12, comm: 'nginx' },
  ];
  await clock.advance(1000 * MS);
  assert.equal(changes.length, 1);
  procs = [];
  await clock.advance(2600 * MS);
  assert.deepEqual(changes.at(-1)?.[1].faults, ['nginx']);
  assert.match(changes.at(-1)?.[1].reason ?? '', /process nginx quorum lost \(0 running, quorum 2\)/);
  assert.equal(set.status('VI_1')[0]?.value, 0);
  await set.stop();
});

test('a reload keeps the results of unchanged trackers, so the instance does not go back to init', async () => {
  const clock = new VirtualClock();
  const cfg: TrackingConfig = {
    checks: [script()],
    files: [],
    processes: [],
    instances: [
      { name: 'VI_1', basePriority: 100, tracks: [{ kind: 'script', name: 'chk_nginx', weight: 0, reverse: false }] },
    ],
  };
  const runner: ScriptRunner = async () => ({ ok: false, detail: 'exited with status 1', durationMs: 1 });
  const a = new TrackerSet(cfg, { clock, runner, onChange: () => undefined });
  await a.start();
  await clock.advance(10 * MS);
  assert.deepEqual(a.aggregate('VI_1').faults, ['chk_nginx']);
  await a.stop();
  const b = new TrackerSet(cfg, { clock, runner, onChange: () => undefined });
  b.inheritFrom(a);
  assert.deepEqual(b.aggregate('VI_1'), { priorityDelta: 0, faults: ['chk_nginx'], pendingInit: false });
  const changed = new TrackerSet(
    { ...cfg, checks: [script({ argv: ['true'] })] },
    { clock, runner, onChange: () => undefined },
  );
  changed.inheritFrom(a);
  assert.equal(changed.aggregate('VI_1').pendingInit, true);
});
