/**
 * The periodic reconcile: the pure policy (when to look, what to log, backing off while
 * something outside keeps changing the tables) and the healing backend on a virtual clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import {
  afterCheck,
  foreignChangeDelayUs,
  initialHeal,
  MonitorParser,
  nextCheckUs,
  summarise,
  type HealLog,
} from '../../../src/lb/reconcile.js';
import { HealingBackend } from '../../../src/lb/healing-backend.js';
import { nftMonitor } from '../../../src/lb/nft-monitor.js';
import type { LbBackend } from '../../../src/lb/backend.js';
import type { VirtualServerConfig } from '../../../src/config/lvs-model.js';
import { createLogger } from '../../../src/util/log.js';
import { MS, VirtualClock } from '../../support/virtual-clock.js';

const P = { intervalUs: 1000 * MS };

test('a clean look waits one interval; repairs in a row double the wait up to 8, logged once per doubling', () => {
  let st = initialHeal();
  const seen: [number, HealLog][] = [];
  for (const changed of [false, true, true, true, true, true, true, true, true, false, false]) {
    const r = afterCheck(P, st, changed);
    st = r.state;
    seen.push([r.nextUs, r.log]);
  }
  assert.deepEqual(seen, [
    [1000 * MS, undefined],
    [2000 * MS, 'repaired'],
    [4000 * MS, 'repaired_again'],
    [8000 * MS, undefined],
    [8000 * MS, 'repaired_again'],
    [8000 * MS, undefined],
    [8000 * MS, undefined],
    [8000 * MS, undefined],
    [8000 * MS, 'repaired_again'],
    [1000 * MS, 'healthy_again'],
    [1000 * MS, undefined],
  ]);
  assert.equal(st.repairs, 8);
  assert.equal(nextCheckUs({ intervalUs: 1000 * MS, maxBackoffUs: 3000 * MS }, { repairs: 0, streak: 5 }), 3000 * MS);
  assert.deepEqual(summarise('a\nb\nc\n', 2), { lines: 3, sample: ['a', 'b'] });
});

function fakeInner(): LbBackend & { calls: string[]; damaged: boolean; busy: boolean } {
  const b = {
    name: 'fake',
    calls: [] as string[],
    damaged: false,
    busy: false,
    async apply() {
      assert.equal(b.busy, false, 'calls to the inner backend never overlap');
      b.busy = true;
      await Promise.resolve();
      b.busy = false;
      b.calls.push('apply');
      const changed = b.damaged;
      b.damaged = false;
      return { changed, script: changed ? 'add table ip floatd_lb\nadd chain ip floatd_lb pre\n' : '' };
    },
    async counters() {
      b.calls.push('counters');
      return new Map();
    },
    async clear() {
      b.calls.push('clear');
    },
  };
  return b;
}

test('the healing backend looks one interval after an apply, puts back a damaged table, counts it', async () => {
  const clock = new VirtualClock();
  const lines: string[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      lines.push(...c.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const inner = fakeInner();
  const h = new HealingBackend(inner, { clock, log: createLogger({ json: true, stream }), policy: P });
  const vss = [{ key: 'x' }] as unknown as VirtualServerConfig[];
  await h.apply(vss, new Map());
  assert.deepEqual(inner.calls, ['apply']);
  await clock.advance(999 * MS);
  assert.equal(inner.calls.length, 1, 'nothing before the interval');
  await clock.advance(1 * MS);
  assert.equal(inner.calls.length, 2, 'a look at the interval');
  assert.equal(h.repairs, 0);
  inner.damaged = true; // someone flushed the table
  await clock.advance(1000 * MS);
  assert.equal(h.repairs, 1);
  const ev = lines.map((l) => JSON.parse(l) as { event: string; lines?: number; sample?: string[] });
  assert.equal(ev.at(-1)!.event, 'lb.repaired');
  assert.equal(ev.at(-1)!.lines, 2);
  assert.deepEqual(ev.at(-1)!.sample, ['add table ip floatd_lb', 'add chain ip floatd_lb pre']);
  // Backed off: the next look comes two intervals later.
  await clock.advance(1999 * MS);
  assert.equal(inner.calls.length, 3);
  await clock.advance(1 * MS);
  assert.equal(inner.calls.length, 4);
  // A scrape in the middle is serialized with the looks.
  void h.counters(vss);
  await clock.advance(1000 * MS);
  await h.clear();
  assert.equal(inner.calls.at(-1), 'clear');
  const n = inner.calls.length;
  await clock.advance(60_000 * MS);
  assert.equal(inner.calls.length, n, 'no look after clear');
  assert.equal(clock.pending, 0);
});

test('nothing configured: no look at all', async () => {
  const clock = new VirtualClock();
  const inner = fakeInner();
  const h = new HealingBackend(inner, { clock, log: createLogger({ level: 'silent' }), policy: P });
  await h.apply([], new Map());
  await clock.advance(10_000 * MS);
  assert.deepEqual(inner.calls, ['apply']);
  assert.equal(clock.pending, 0);
});

test("nft monitor lines: a transaction touching floatd_lb by another process is foreign; floatd's own is not", () => {
  const own = new Set([100]);
  const p = new MonitorParser((pid) => own.has(pid));
  const feed = (lines: string[]): boolean[] => lines.map((l) => p.line(l).foreign);
  assert.deepEqual(feed(['delete rule ip floatd_lb pre handle 7', '# new generation 4 by process 23914 (nft)']), [
    false,
    true,
  ]);
  assert.deepEqual(
    feed(['add element netdev floatd_lb t6 { 0x00000005 : 2001:db8::15 }', '# new generation 5 by process 100 (nft)']),
    [false, false],
  );
  assert.deepEqual(feed(['add rule ip filter input accept', '# new generation 6 by process 23919 (nft)']), [
    false,
    false,
  ]);
  assert.deepEqual(feed(['delete table ip floatd_lbdr', '# new generation 7 by process 5 (iptables-nft)']), [
    false,
    true,
  ]);
  assert.deepEqual(feed(['add table ip floatd_lbx', '# new generation 8 by process 5 (nft)']), [false, false]);
  assert.deepEqual(feed(['# new generation 9 by process 5 (nft)']), [true], 'a transaction nft could not print');
  assert.deepEqual(feed(['# new generation 10 by process 100 (nft)']), [false]);
  // Debounced, at least minGap after the last look, the back-off while repairs repeat.
  assert.equal(foreignChangeDelayUs(P, initialHeal(), 5000 * MS), 100 * MS);
  assert.equal(foreignChangeDelayUs(P, initialHeal(), 300 * MS), 700 * MS);
  assert.equal(foreignChangeDelayUs(P, { repairs: 1, streak: 1 }, 300 * MS), 700 * MS, 'one repair: the same gap');
  assert.equal(foreignChangeDelayUs(P, { repairs: 3, streak: 3 }, 1000 * MS), 3000 * MS, 'three in a row: 4 s');
  assert.equal(foreignChangeDelayUs(P, { repairs: 9, streak: 9 }, 0), 8000 * MS, 'capped at 8 intervals');
});

test('with a monitor, a foreign change is looked at within moments, not at the interval', async () => {
  const clock = new VirtualClock();
  const inner = fakeInner();
  let feed: ((l: string) => void) | undefined;
  let exit: ((why: string) => void) | undefined;
  let starts = 0;
  const h = new HealingBackend(inner, {
    clock,
    log: createLogger({ level: 'silent' }),
    policy: { intervalUs: 30_000 * MS },
    monitor: {
      start: (onLine, onExit) => {
        starts++;
        feed = onLine;
        exit = onExit;
        return { stop: () => (feed = undefined) };
      },
      isOwn: (pid) => pid === 1,
    },
  });
  const vss = [{ key: 'x' }] as unknown as VirtualServerConfig[];
  await h.apply(vss, new Map());
  assert.equal(starts, 1);
  await clock.advance(2000 * MS);
  inner.damaged = true;
  feed!('flush table ip floatd_lb');
  feed!('# new generation 9 by process 77 (nft)');
  await clock.advance(99 * MS);
  assert.equal(inner.calls.length, 1);
  await clock.advance(1 * MS);
  assert.equal(inner.calls.length, 2, 'looked 100 ms after the change');
  assert.equal(h.repairs, 1);
  // floatd's own transactions trigger nothing.
  feed!('add element ip floatd_lb s1 { 0 : 203.0.113.11 . 80 }');
  feed!('# new generation 10 by process 1 (nft)');
  await clock.advance(1000 * MS);
  assert.equal(inner.calls.length, 2);
  // The monitor dies: restarted after a second.
  exit!('nft monitor exited (1)');
  await clock.advance(1000 * MS);
  assert.equal(starts, 2);
  await h.clear();
  assert.equal(feed, undefined, 'stopped with the tables');
  assert.equal(clock.pending, 0);
});

test("nftMonitor streams the child's lines and reports its exit (not after stop)", async () => {
  const script =
    'echo "delete table ip floatd_lb"; echo "# new generation 3 by process 9 (nft)"; echo oops >&2; exit 3';
  const lines: string[] = [];
  const why = await new Promise<string>((done) => {
    nftMonitor(['sh', '-c', script])((l) => lines.push(l), done);
  });
  assert.deepEqual(lines, ['delete table ip floatd_lb', '# new generation 3 by process 9 (nft)']);
  assert.match(why, /nft monitor exited \(3\): oops/);
  let exited = false;
  const m = nftMonitor(['sh', '-c', 'sleep 5'])(
    () => undefined,
    () => (exited = true),
  );
  m.stop();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(exited, false, 'a stopped monitor is not a failure');
});
