/**
 * The checker pool in a worker thread: real TCP checks run on the worker's loop, the main side's
 * mirror follows their verdicts (changes at once, all states each second), and a worker that
 * dies hands the checks back to the main thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { WorkerCheckerPool } from '../../../src/lb/worker-pool.js';
import type { LvsCheckConfig } from '../../../src/config/lvs-model.js';
import { realClock } from '../../../src/util/clock.js';

const tcp = (port: number): LvsCheckConfig => ({
  kind: 'TCP_CHECK',
  connectPort: port,
  connectTimeoutMs: 300,
  retry: 0,
  delayBeforeRetryMs: 100,
  delayLoopMs: 100,
  warmupMs: 0,
  alpha: true,
  pos: { file: 't', line: 1, col: 1 },
});

const until = async (what: string, cond: () => boolean, ms = 5000): Promise<void> => {
  const end = realClock.nowUs() + ms * 1000;
  while (!cond() && realClock.nowUs() < end) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
};

test('checks run in the worker, the mirror follows them; a dead worker hands over to the main thread', async () => {
  const srv = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  let changes = 0;
  const failures: string[] = [];
  const pool = new WorkerCheckerPool({
    clock: realClock,
    onChange: () => changes++,
    onFailure: (m) => failures.push(m),
  });
  const wanted = new Map([['a', { ch: tcp(port), target: { address: '127.0.0.1', port } }]]);
  pool.sync(wanted);
  assert.equal(pool.size, 1);
  assert.equal(pool.verdict('a')!.up, false, 'alpha: down until the first success');
  await until('up from the worker', () => pool.verdict('a')!.up);
  assert.ok(changes >= 1);
  await until('runs reported by the snapshot', () => (pool.state('a')?.runs ?? 0) >= 2, 3000);
  // ha_suspend: a suspended check stops probing in the worker, and resumes.
  assert.deepEqual(pool.suspend(new Set(['a'])), { suspended: ['a'], resumed: [] });
  assert.equal(pool.isSuspended('a'), true);
  await new Promise((r) => setTimeout(r, 1200));
  const r1 = pool.state('a')!.runs;
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(pool.state('a')!.runs, r1, 'no probe while suspended');
  assert.deepEqual(pool.suspend(new Set()), { suspended: [], resumed: ['a'] });
  await until('probing again', () => pool.state('a')!.runs > r1, 3000);
  await new Promise<void>((r) => srv.close(() => r()));
  await until('down once the listener is gone', () => !pool.verdict('a')!.up);
  assert.match(pool.verdict('a')!.detail!, /ECONNREFUSED/);
  // Kill the thread: the checks continue here.
  await (pool as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  await until('fallback', () => failures.length === 1);
  assert.match(failures[0]!, /checker thread stopped .*checks continue on the main thread/);
  assert.equal(pool.size, 1);
  await until('the main-thread pool checks too (still down)', () => (pool.state('a')?.runs ?? 0) >= 1);
  assert.equal(pool.verdict('a')!.up, false);
  pool.stop();
});
