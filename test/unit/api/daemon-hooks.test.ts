/**
 * runDaemon's hooks for the API and sd_notify: ready after start, stopping before the runtime
 * stops, one reload at a time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { runDaemon, type DaemonControl, type RuntimeLike } from '../../../src/daemon/daemon.js';
import { createLogger } from '../../../src/util/log.js';

const log = createLogger({ level: 'silent' });
const tick = (ms = 10): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fakeRuntime(events: string[]): RuntimeLike {
  let reloads = 0;
  return {
    async start() {
      events.push('start');
    },
    async stop() {
      events.push('runtime.stop');
    },
    async reload() {
      const n = ++reloads;
      events.push(`reload ${n} begin`);
      await tick(30);
      events.push(`reload ${n} end`);
      return { ok: true, message: `reload ${n}` };
    },
    dataDump: () => '{}',
    statsDump: () => '',
  };
}

test('onReady after start; SIGHUP and API reloads one at a time; onStopping before the runtime stops', async () => {
  const events: string[] = [];
  let ctl: DaemonControl | undefined;
  const done = runDaemon({
    dumpDir: tmpdir(),
    log,
    createRuntime: async () => fakeRuntime(events),
    onReady: async (c) => {
      ctl = c;
      events.push('ready');
    },
    onStopping: async () => {
      events.push('stopping');
      await tick(20);
      events.push('stopping done');
    },
  });
  await tick();
  assert.ok(ctl);
  assert.deepEqual(events, ['start', 'ready']);
  process.emit('SIGHUP');
  const apiReload = ctl.reload();
  assert.deepEqual(await apiReload, { ok: true, message: 'reload 2' });
  assert.deepEqual(events.slice(2), ['reload 1 begin', 'reload 1 end', 'reload 2 begin', 'reload 2 end']);
  process.emit('SIGTERM');
  assert.equal(await done, 0);
  assert.deepEqual(events.slice(6), ['stopping', 'stopping done', 'runtime.stop']);
});

test('a failing onReady is logged and the daemon still runs and stops', async () => {
  const events: string[] = [];
  const done = runDaemon({
    dumpDir: tmpdir(),
    log,
    createRuntime: async () => fakeRuntime(events),
    onReady: () => {
      throw new Error('port in use');
    },
  });
  await tick();
  process.emit('SIGTERM');
  assert.equal(await done, 0);
  assert.deepEqual(events, ['start', 'runtime.stop']);
});

test('each reload, refused too, is framed by onReloading/onReloadDone (sd_notify RELOADING=1 … READY=1)', async () => {
  const events: string[] = [];
  let ctl: DaemonControl | undefined;
  let refuse = false;
  const rt = fakeRuntime(events);
  const reload = rt.reload.bind(rt);
  rt.reload = async () => (refuse ? { ok: false, message: 'bad file' } : reload());
  const done = runDaemon({
    dumpDir: tmpdir(),
    log,
    createRuntime: async () => rt,
    onReady: (c) => {
      ctl = c;
    },
    onReloading: () => events.push('reloading'),
    onReloaded: () => {
      events.push('reloaded hook');
    },
    onReloadDone: (ok) => events.push(`done ${ok}`),
  });
  await tick();
  await ctl!.reload();
  refuse = true;
  assert.equal((await ctl!.reload()).ok, false);
  assert.deepEqual(events.slice(1), [
    'reloading',
    'reload 1 begin',
    'reload 1 end',
    'reloaded hook',
    'done true',
    'reloading',
    'done false',
  ]);
  process.emit('SIGTERM');
  assert.equal(await done, 0);
});
