import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTracker, parseTrackFileValue } from '../../../src/track/file-tracker.js';
import { VirtualClock } from '../../support/virtual-clock.js';
import {
  countMatches,
  matchesProcess,
  parseStat,
  scanProcesses,
  type ProcEntry,
} from '../../../src/track/process-tracker.js';
import { TrackerSet, type TrackingChange } from '../../../src/track/tracker-set.js';
import type { TrackProcessSpec } from '../../../src/track/types.js';
import { US_PER_MS as MS } from '../../../src/util/clock.js';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await wait(10);
  }
}

test('track_file values parse like C strtol(…, 0): blanks, sign, hex, octal, trailing junk, nothing = 0', () => {
  const cases: Array<[string, number | undefined]> = [
    ['5', 5],
    ['  -12\n', -12],
    ['+7 apples', 7],
    ['0x1F', 31],
    ['-0x10', -16],
    ['010', 8],
    ['09', 0],
    ['', 0],
    ['abc', 0],
    ['0x', 0],
    ['2147483648', 2147483648],
    ['2147483649', undefined],
    ['-2147483649', undefined],
  ];
  for (const [text, want] of cases) assert.equal(parseTrackFileValue(text), want, JSON.stringify(text));
});

test('FileTracker sees writes, replace-by-rename and deletion (deleted reads as 0)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-file-'));
  const path = join(dir, 'prio');
  writeFileSync(path, '3\n');
  const seen: number[] = [];
  const ft = new FileTracker({ path, pollUs: 60_000 * MS, onValue: (v) => seen.push(v) });
  await ft.start();
  try {
    assert.equal(ft.value, 3);
    writeFileSync(path, '10\n');
    await until(() => seen.includes(10));
    writeFileSync(join(dir, 'tmp'), '-5');
    renameSync(join(dir, 'tmp'), path);
    await until(() => seen.includes(-5));
    rmSync(path);
    await until(() => seen.at(-1) === 0);
  } finally {
    ft.stop();
  }
});

test('a write landing during the first read is seen at once, not at the next poll (watch before read)', async () => {
  // The race behind a FILE_CHECK written while a reload started it: the read got the old value and
  // the write came before the directory was watched, so only the poll (2 s later) saw it.
  let text = '0\n';
  let onEvent: ((name: string | null) => void) | undefined;
  let reads = 0;
  const seen: number[] = [];
  const clock = new VirtualClock();
  const ft = new FileTracker({
    path: '/run/floatd-test/maint',
    clock,
    onValue: (v) => seen.push(v),
    read: async () => {
      const t = text;
      if (reads++ === 0) {
        text = '1\n'; // written after the read took the old text, before it returned
        onEvent?.('maint');
      }
      return t;
    },
    watch: (_dir, cb) => {
      onEvent = cb;
      return { close: () => (onEvent = undefined) };
    },
  });
  await ft.start();
  await until(() => seen.length > 0, 500).catch(() => undefined);
  assert.deepEqual([ft.value, seen, clock.nowUs()], [1, [1], 0], 'the value without the poll, and no clock moved');
  ft.stop();
  assert.equal(onEvent, undefined, 'stop closes the watch');
});

test('init_file creates the file when missing, and overwrites only when asked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-file-'));
  const path = join(dir, 'v');
  const a = new FileTracker({ path, initFile: { value: 4, overwrite: false }, onValue: () => undefined });
  await a.start();
  a.stop();
  assert.equal(readFileSync(path, 'utf8'), '4\n');
  const b = new FileTracker({ path, initFile: { value: 9, overwrite: false }, onValue: () => undefined });
  await b.start();
  b.stop();
  assert.equal(b.value, 4);
  const c = new FileTracker({ path, initFile: { value: 9, overwrite: true }, onValue: () => undefined });
  await c.start();
  c.stop();
  assert.equal(c.value, 9);
});

test('a track_file in a TrackerSet: value × weight moves the priority; a large negative value is a FAULT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-file-'));
  const path = join(dir, 'maint');
  const changes: TrackingChange[] = [];
  const set = new TrackerSet(
    {
      checks: [],
      processes: [],
      files: [{ name: 'maint', path, weight: -10, reverse: false, pollUs: 60_000 * MS }],
      instances: [
        { name: 'VI_1', basePriority: 100, tracks: [{ kind: 'file', name: 'maint', weight: -10, reverse: false }] },
      ],
    },
    { onChange: (_i, c) => changes.push(c) },
  );
  await set.start();
  try {
    assert.deepEqual(set.aggregate('VI_1'), { priorityDelta: 0, faults: [], pendingInit: false });
    writeFileSync(path, '3');
    await until(() => changes.length === 1);
    assert.deepEqual(changes[0], {
      priorityDelta: -30,
      faults: [],
      pendingInit: false,
      reason: 'track_file maint is 3',
    });
    writeFileSync(path, '30');
    await until(() => changes.length === 2);
    assert.deepEqual(changes[1]?.faults, ['maint']);
    assert.equal(changes[1]?.priorityDelta, 0);
    assert.equal(set.status('VI_1')[0]?.status, 'down');
  } finally {
    await set.stop();
  }
});

const P = (over: Partial<TrackProcessSpec>): TrackProcessSpec => ({
  name: 'p',
  process: 'nginx',
  weight: 0,
  reverse: false,
  ...over,
});

test('process matching follows keepalived: comm by default, argv[0] + params with full_command', () => {
  const procs: ProcEntry[] = [
    { pid: 1, comm: 'nginx', argv: ['nginx', '-g', 'daemon off;'] },
    { pid: 2, comm: 'nginx', argv: ['/usr/sbin/nginx', '-c', '/etc/nginx/nginx.conf'] },
    { pid: 3, comm: 'python3', argv: ['/usr/bin/python3', '/srv/app.py', '--port', '8080'] },
  ];
  assert.equal(countMatches(P({}), procs), 2);
  assert.equal(
    countMatches(P({ process: '/usr/sbin/nginx', fullCommand: true }), procs),
    0,
    'exact: no params means no params',
  );
  assert.equal(countMatches(P({ process: '/usr/sbin/nginx', params: ['-c', '/etc/nginx/nginx.conf'] }), procs), 1);
  const py = (params: string[], paramMatch: TrackProcessSpec['paramMatch']): boolean =>
    matchesProcess(P({ process: '/usr/bin/python3', params, paramMatch }), procs[2]!);
  assert.equal(py(['/srv/app.py'], 'exact'), false);
  assert.equal(py(['/srv/app.py'], 'partial'), true);
  assert.equal(py(['/srv/app.py', '--po'], 'partial'), false);
  assert.equal(py(['/srv/app.py', '--po'], 'initial'), true);
  assert.equal(py(['/srv/app.py', '--port', '8080', 'x'], 'partial'), false);
});

test('/proc/PID/stat parsing copes with spaces and parentheses in comm', () => {
  assert.deepEqual(parseStat('1234 (my (odd) name) S 1 2 3'), { comm: 'my (odd) name', state: 'S' });
  assert.deepEqual(parseStat('99 (x) Z 1'), { comm: 'x', state: 'Z' });
  assert.equal(parseStat('garbage'), undefined);
});

test('a /proc scan finds a real process by comm and by full command line', async () => {
  const child = spawn('sleep', ['31.5'], { stdio: 'ignore' });
  try {
    await wait(50);
    const procs = await scanProcesses('/proc', true);
    const me = procs.find((p) => p.pid === child.pid);
    assert.deepEqual(me, { pid: child.pid, comm: 'sleep', argv: ['sleep', '31.5'] });
    assert.ok(countMatches(P({ process: 'sleep', params: ['31.5'] }), procs) >= 1);
    assert.deepEqual(await scanProcesses('/nonexistent-proc'), []);
  } finally {
    child.kill();
  }
});
