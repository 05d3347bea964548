import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterUs, delayUs, msToUs, timeoutSignalUs, type Clock, type TimerHandle } from '../../../src/util/clock.js';
import { MS, VirtualClock } from '../../support/virtual-clock.js';
import { createLogger } from '../../../src/util/log.js';
import type { TrackLog } from '../../../src/track/tracker-set.js';
import type { NotifyLog } from '../../../src/notify/notifier.js';

test('the virtual clock fires timers in deadline order, ties in creation order, and honours cancel', async () => {
  const c = new VirtualClock();
  const fired: string[] = [];
  afterUs(c, 20 * MS, () => fired.push('b@20'));
  afterUs(c, 10 * MS, () => fired.push('a@10'));
  afterUs(c, 20 * MS, () => fired.push('c@20'));
  const gone = afterUs(c, 15 * MS, () => fired.push('never'));
  afterUs(c, 10 * MS, () => afterUs(c, 25 * MS, () => fired.push('nested@35')));
  c.cancel(gone);
  await c.advance(30 * MS);
  assert.deepEqual(fired, ['a@10', 'b@20', 'c@20']);
  assert.equal(c.nowUs(), 30_000);
  await c.advance(5 * MS);
  assert.deepEqual(fired.at(-1), 'nested@35');
  assert.equal(c.pending, 0);
});

test("the µs helpers arm the daemon's clock in µs and pass `weak` through", () => {
  const now = 5_000_000;
  const armed: Array<{ at: number; weak: boolean | undefined }> = [];
  const daemon: Clock = {
    nowUs: () => now,
    wallMs: () => 0,
    at: (at, _fn, opts) => {
      armed.push({ at, weak: opts?.weak });
      return { id: armed.length };
    },
    cancel: (_h: TimerHandle) => undefined,
  };
  afterUs(daemon, 1500, () => undefined, { weak: true });
  afterUs(daemon, -7, () => undefined);
  timeoutSignalUs(daemon, 250_000);
  assert.deepEqual(armed, [
    { at: 5_001_500, weak: true },
    { at: 5_000_000, weak: undefined },
    { at: 5_250_000, weak: true },
  ]);
  assert.deepEqual([msToUs(1.5), msToUs(2000), msToUs(-3)], [1500, 2_000_000, 0]);
});

test('delayUs resolves true when due, false at once on abort; timeoutSignalUs aborts with a TimeoutError', async () => {
  const c = new VirtualClock();
  const due = delayUs(c, 100 * MS);
  const ac = new AbortController();
  const cut = delayUs(c, 100 * MS, ac.signal);
  ac.abort();
  assert.equal(await cut, false);
  const t = timeoutSignalUs(c, 50 * MS);
  await c.advance(49 * MS);
  assert.equal(t.signal.aborted, false);
  await c.advance(1 * MS);
  assert.equal((t.signal.reason as DOMException).name, 'TimeoutError');
  assert.match((t.signal.reason as DOMException).message, /after 50 ms/);
  await c.advance(50 * MS);
  assert.equal(await due, true);
  assert.equal(c.pending, 0);
});

test("a pino logger serves as the trackers' and the notifier's log", () => {
  const log = createLogger({ level: 'silent' });
  const t: TrackLog = log;
  const n: NotifyLog = log;
  assert.ok(t && n);
});
