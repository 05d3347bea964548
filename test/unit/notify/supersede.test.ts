import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterUs } from '../../../src/util/clock.js';
import { MS, VirtualClock } from '../../support/virtual-clock.js';
import type { RunRequest, RunResult, ScriptRunner } from '../../../src/util/run-script.js';
import { Notifier, type NotifyEvent, type NotifyLog } from '../../../src/notify/notifier.js';

/** A runner on the virtual clock whose scripts hang until their timeout or their signal. */
function hangingRunner(clock: VirtualClock) {
  const runs: Array<{ script: string; start: number; end?: number; detail?: string }> = [];
  const runner: ScriptRunner = (req: RunRequest) =>
    new Promise<RunResult>((resolve) => {
      const rec: { script: string; start: number; end?: number; detail?: string } = {
        script: req.argv.join(' '),
        start: clock.nowUs() / MS,
      };
      runs.push(rec);
      const finish = (detail: string, extra: Partial<RunResult>): void => {
        if (rec.end !== undefined) return;
        rec.end = clock.nowUs() / MS;
        rec.detail = detail;
        clock.cancel(t);
        resolve({ ok: false, detail, durationMs: rec.end - rec.start, ...extra });
      };
      const t = afterUs(clock, req.timeoutUs, () =>
        finish(`timed out after ${req.timeoutUs / MS} ms`, { timedOut: true }),
      );
      req.signal?.addEventListener('abort', () => finish(`killed: ${String(req.signal!.reason)}`, { aborted: true }), {
        once: true,
      });
    });
  return { runner, runs };
}

function logs(): { log: NotifyLog; lines: Array<{ obj: Record<string, unknown>; msg: string }> } {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const push = (obj: object, msg: string): void => {
    lines.push({ obj: obj as Record<string, unknown>, msg });
  };
  return { log: { info: push, warn: push }, lines };
}

const ev = (from: string, to: NotifyEvent['to'], name = 'VI_1'): NotifyEvent => ({
  kind: 'INSTANCE',
  name,
  from,
  to,
  priority: 100,
  reason: 'test',
});
const TARGETS = { master: { argv: ['/m.sh'] }, backup: { argv: ['/b.sh'] }, fault: { argv: ['/f.sh'] } };

test('a hung notify_backup delays notify_master by supersedeUs, not the 30 s script timeout', async () => {
  const clock = new VirtualClock();
  const { runner, runs } = hangingRunner(clock);
  const { log, lines } = logs();
  const n = new Notifier({ instances: { VI_1: TARGETS }, supersedeUs: 1000 * MS }, { clock, runner, log });
  void n.notify(ev('INIT', 'BACKUP'));
  await clock.advance(100 * MS);
  void n.notify(ev('BACKUP', 'MASTER'));
  await clock.advance(2000 * MS);
  assert.deepEqual(
    runs.map((r) => [r.script, r.start]),
    [
      ['/b.sh', 0],
      ['/m.sh', 1100],
    ],
  );
  assert.equal(runs[0]!.detail, 'killed: superseded by MASTER');
  const killed = lines.find((l) => l.obj.event === 'notify.run' && l.obj.state === 'BACKUP');
  assert.match(killed?.msg ?? '', /notify BACKUP script \/b\.sh failed: killed: superseded by MASTER/);
  assert.doesNotMatch(killed?.msg ?? '', /timed out/);
  // Alone, a hung script still gets its whole (configurable) timeout.
  await clock.advance(40_000 * MS);
  assert.equal(runs[1]!.detail, 'timed out after 30000 ms');
});

test('flapping behind a hung script: stale waiting states are skipped, the newest always runs', async () => {
  const clock = new VirtualClock();
  const { runner, runs } = hangingRunner(clock);
  const { log, lines } = logs();
  const n = new Notifier(
    { instances: { VI_1: TARGETS }, supersedeUs: 500 * MS, scriptTimeoutUs: 5000 * MS },
    { clock, runner, log },
  );
  void n.notify(ev('INIT', 'BACKUP'));
  await clock.advance(100 * MS);
  void n.notify(ev('BACKUP', 'MASTER'));
  await clock.advance(100 * MS);
  void n.notify(ev('MASTER', 'BACKUP'));
  await clock.advance(100 * MS);
  const last = n.notify(ev('BACKUP', 'MASTER'));
  await clock.advance(10_000 * MS);
  await last;
  assert.deepEqual(
    runs.map((r) => [r.script, r.start]),
    [
      ['/b.sh', 0],
      ['/m.sh', 600],
      ['/m.sh', 1100],
    ],
  );
  assert.ok(lines.some((l) => l.obj.event === 'notify.skipped' && l.obj.state === 'BACKUP' && l.obj.by === 'MASTER'));
  assert.equal(runs[2]!.detail, 'timed out after 5000 ms', 'the newest event is never cut');
});

test('fast scripts are not cut: every state runs, in order, when each script is quick', async () => {
  const clock = new VirtualClock();
  const starts: string[] = [];
  const runner: ScriptRunner = (req) =>
    new Promise((resolve) => {
      starts.push(req.argv[0]!);
      afterUs(clock, 50 * MS, () => resolve({ ok: true, detail: 'exited with status 0', durationMs: 50 }));
    });
  const n = new Notifier({ instances: { VI_1: TARGETS }, supersedeUs: 1000 * MS }, { clock, runner });
  for (const [f, t] of [
    ['INIT', 'BACKUP'],
    ['BACKUP', 'MASTER'],
    ['MASTER', 'FAULT'],
    ['FAULT', 'BACKUP'],
  ] as const)
    void n.notify(ev(f, t));
  await clock.advance(1000 * MS);
  assert.deepEqual(starts, ['/b.sh', '/m.sh', '/f.sh', '/b.sh']);
});

test('a reload hands over: a kept MASTER skips notify_master; a running script goes on, superseded', async () => {
  const clock = new VirtualClock();
  const { runner, runs } = hangingRunner(clock);
  const { log, lines } = logs();
  const cfg = { instances: { VI_1: TARGETS, VI_2: TARGETS }, supersedeUs: 1000 * MS };
  const n1 = new Notifier(cfg, { clock, runner, log });
  void n1.notify(ev('INIT', 'BACKUP', 'VI_2'));
  void n1.notify(ev('BACKUP', 'MASTER'));
  await clock.advance(10 * MS);
  assert.equal(runs.length, 2);
  const carry = n1.handOver();
  const n2 = new Notifier(cfg, { clock, runner, log, previous: carry });
  // VI_1 was MASTER before the reload and is kept: no scripts. VI_2 comes back BACKUP: same.
  await n2.notify(ev('INIT', 'MASTER'));
  await n2.notify(ev('INIT', 'BACKUP', 'VI_2'));
  assert.equal(runs.length, 2);
  assert.equal(lines.filter((l) => l.obj.event === 'notify.unchanged').length, 2);
  // VI_1's notify_master from before the reload still runs, and a new state supersedes it.
  assert.equal(runs[1]!.end, undefined);
  void n2.notify(ev('MASTER', 'BACKUP'));
  await clock.advance(1500 * MS);
  assert.equal(runs[1]!.detail, 'killed: superseded by BACKUP');
  assert.deepEqual(
    runs.map((r) => r.script),
    ['/b.sh', '/m.sh', '/b.sh'],
  );
  // A state that did change across the reload runs its scripts.
  const n3 = new Notifier(cfg, { clock, runner, log, previous: n2.handOver() });
  void n3.notify(ev('INIT', 'MASTER'));
  await clock.advance(1100 * MS); // behind the hung notify_backup: at most supersedeUs
  assert.equal(runs.at(-1)!.script, '/m.sh');
});

test('a script killed by a reload or a stop says so, not "timed out after 30000 ms" (real process)', async () => {
  const { log, lines } = logs();
  const n = new Notifier({ instances: { VI_1: { master: { argv: ['sleep', '30'] } } } }, { log });
  const done = n.notify(ev('BACKUP', 'MASTER'));
  await new Promise((r) => setImmediate(r));
  await n.close(0, 'floatd is reloading');
  await done;
  const line = lines.find((l) => l.obj.event === 'notify.run');
  assert.match(line?.msg ?? '', /failed: killed: floatd is reloading$/);
});
