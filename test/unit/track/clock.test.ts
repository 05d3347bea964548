import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trackClockFrom } from '../../../src/track/clock.js';
import { VirtualClock } from '../../support/virtual-clock.js';
import type { Clock, TimerHandle } from '../../../src/util/clock.js';
import { createLogger } from '../../../src/util/log.js';
import type { TrackLog } from '../../../src/track/tracker-set.js';
import type { NotifyLog } from '../../../src/notify/notifier.js';

test('the virtual clock fires timers in deadline order, ties in creation order, and honours clearTimeout', async () => {
  const c = new VirtualClock();
  const fired: string[] = [];
  c.setTimeout(() => fired.push('b@20'), 20);
  c.setTimeout(() => fired.push('a@10'), 10);
  c.setTimeout(() => fired.push('c@20'), 20);
  const gone = c.setTimeout(() => fired.push('never'), 15);
  c.setTimeout(() => c.setTimeout(() => fired.push('nested@35'), 25), 10);
  c.clearTimeout(gone);
  await c.advance(30);
  assert.deepEqual(fired, ['a@10', 'b@20', 'c@20']);
  assert.equal(c.now(), 30);
  await c.advance(5);
  assert.deepEqual(fired.at(-1), 'nested@35');
  assert.equal(c.pending, 0);
});

test("trackClockFrom adapts the daemon's µs clock", () => {
  let now = 5_000_000;
  const armed: Array<{ at: number; fn: () => void }> = [];
  const daemon: Clock = {
    nowUs: () => now,
    wallMs: () => 0,
    at: (at, fn) => {
      armed.push({ at, fn });
      return { id: armed.length };
    },
    cancel: (h: TimerHandle) => {
      armed.splice(h.id - 1, 1);
    },
  };
  const c = trackClockFrom(daemon);
  assert.equal(c.now(), 5000);
  c.setTimeout(() => {
    now = 7;
  }, 1.5);
  assert.equal(armed[0]?.at, 5_001_500);
});

test("a pino logger serves as the trackers' and the notifier's log", () => {
  const log = createLogger({ level: 'silent' });
  const t: TrackLog = log;
  const n: NotifyLog = log;
  assert.ok(t && n);
});
