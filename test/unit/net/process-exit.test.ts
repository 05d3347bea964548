import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { nativeAvailable } from '../../../src/native/addon.js';
import { nativePidWatch, ProcessExitWatch, type ProcEntry } from '../../../src/track/process-tracker.js';
import { TrackerSet, type TrackingChange } from '../../../src/track/tracker-set.js';
import { US_PER_MS as MS } from '../../../src/util/clock.js';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('ProcessExitWatch: watches the counting pids of the last scan; an exit recounts without it', () => {
  const exits = new Map<number, () => void>();
  const closed: number[] = [];
  const seen: ProcEntry[][] = [];
  const w = new ProcessExitWatch(
    (p) => seen.push(p),
    (pid, onExit) => {
      if (pid === 66) throw Object.assign(new Error('gone'), { code: 'ESRCH' });
      exits.set(pid, onExit);
      return { close: () => void closed.push(pid) };
    },
  );
  const procs: ProcEntry[] = [
    { pid: 10, comm: 'nginx' },
    { pid: 11, comm: 'nginx' },
    { pid: 12, comm: 'bash' },
  ];
  w.update(procs, (p) => p.comm === 'nginx');
  assert.deepEqual(w.watched(), [10, 11]);
  exits.get(11)!();
  assert.deepEqual(seen, [
    [
      { pid: 10, comm: 'nginx' },
      { pid: 12, comm: 'bash' },
    ],
  ]);
  assert.deepEqual(w.watched(), [10]);
  w.update(
    [
      { pid: 12, comm: 'bash' },
      { pid: 66, comm: 'nginx' },
    ],
    (p) => p.comm === 'nginx',
  );
  assert.deepEqual(closed, [11, 10], 'a pid no longer in the scan is unwatched');
  assert.equal(seen.length, 2, 'a process that died between scan and pidfd_open counts as exited at once');
  assert.deepEqual(seen[1], [{ pid: 12, comm: 'bash' }]);
});

const skip = !nativeAvailable() ? 'native addon not built' : !nativePidWatch() ? 'no pidfd_open (Linux < 5.3)' : false;

/** Starts `sleep TAG`, tracks it (scan every 10 s), kills it; resolves with ms until quorum was lost, or -1. */
async function detect(pidWatch: 'native' | null, limitMs: number): Promise<number> {
  const tag = `${(Math.random() * 1e6).toFixed(0)}.${process.pid}`;
  const child = spawn('sleep', [tag], { stdio: 'ignore' });
  await wait(50);
  const changes: { at: number; c: TrackingChange }[] = [];
  const set = new TrackerSet(
    {
      checks: [],
      files: [],
      processPollUs: 10_000 * MS,
      processes: [{ name: 'chk', process: 'sleep', params: [tag], weight: 0, reverse: false }],
      instances: [
        { name: 'VI_1', basePriority: 100, tracks: [{ kind: 'process', name: 'chk', weight: 0, reverse: false }] },
      ],
    },
    {
      onChange: (_i, c) => changes.push({ at: performance.now(), c }),
      ...(pidWatch === null ? { pidWatch: null } : {}),
    },
  );
  try {
    await set.start();
    assert.deepEqual(set.aggregate('VI_1').faults, [], 'the process counts at start');
    changes.length = 0; // the start's own init → up
    const t0 = performance.now();
    child.kill('SIGKILL');
    while (changes.length === 0 && performance.now() - t0 < limitMs) await wait(2);
    if (changes.length === 0) return -1;
    assert.deepEqual(changes[0]!.c.faults, ['chk']);
    return changes[0]!.at - t0;
  } finally {
    await set.stop();
    child.kill('SIGKILL');
  }
}

test('track_process learns of a death through the pidfd in milliseconds, not at the next scan', { skip }, async () => {
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) ms.push(await detect('native', 2000));
  ms.sort((a, b) => a - b);
  console.log(
    `# pidfd detection latency over 5 kills: median ${ms[2]!.toFixed(1)} ms, max ${ms[4]!.toFixed(1)} ms (scan ` +
      'every 10 s)',
  );
  assert.ok(
    ms.every((x) => x >= 0 && x < 200),
    `detected in ${ms.map((x) => x.toFixed(1)).join(', ')} ms`,
  );
  assert.equal(await detect(null, 500), -1, 'without the pidfd the 10 s scan has not noticed yet');
});
