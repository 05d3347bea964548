import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verbRequest } from '../../../src/cli/verbs.js';
import { MaintenanceStore } from '../../../src/cli/maintenance-store.js';
import { operatorVerbs } from '../../../src/cli/operator-verbs.js';
import type { VerbRuntime } from '../../../src/model/verbs.js';
import { createLogger } from '../../../src/util/log.js';
import type { DaemonStatus } from '../../../src/model/status-types.js';

const log = createLogger({ level: 'silent' });

test('each verb is one request', () => {
  assert.deepEqual(verbRequest({ kind: 'reload' }), { method: 'POST', path: '/api/v1/reload' });
  assert.deepEqual(verbRequest({ kind: 'switchover' }), { method: 'POST', path: '/api/v1/switchover' });
  assert.deepEqual(verbRequest({ kind: 'switchover', instance: 'VI 1', holdS: 5 }), {
    method: 'POST',
    path: '/api/v1/switchover?instance=VI+1&hold=5',
  });
  assert.deepEqual(verbRequest({ kind: 'maintenance', state: 'on', instance: 'VI_1' }), {
    method: 'POST',
    path: '/api/v1/maintenance?state=on&instance=VI_1',
  });
  assert.deepEqual(verbRequest({ kind: 'maintenance', state: 'status' }), {
    method: 'GET',
    path: '/api/v1/maintenance',
  });
});

test('the maintenance store persists across instances of itself; a corrupt file is reported, not fatal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-maint-'));
  const path = join(dir, 'sub', 'maintenance.json');
  const a = new MaintenanceStore(path);
  assert.equal(a.loadError, undefined);
  assert.equal(a.set('VI_1', true, { since: 't', by: 'api' }), true);
  assert.equal(a.set('VI_1', true, { since: 't2', by: 'api' }), false, 'already on');
  assert.deepEqual([...new MaintenanceStore(path).names()], ['VI_1']);
  a.set('VI_1', false, { since: 't', by: 'api' });
  assert.deepEqual([...new MaintenanceStore(path).names()], []);
  writeFileSync(path, '{ not json');
  const c = new MaintenanceStore(path);
  assert.match(c.loadError ?? '', /maintenance\.json/);
  assert.equal(c.names().size, 0);
});

function fakeRuntime(states: Record<string, string>): VerbRuntime & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    status: () =>
      ({ instances: Object.entries(states).map(([name, state]) => ({ name, state })) }) as unknown as DaemonStatus,
    switchover: (n, h) => {
      calls.push(`switchover ${n} ${h}`);
      return states[n] === 'MASTER'
        ? { ok: true, message: `${n} left MASTER` }
        : { ok: false, message: `${n} is not MASTER` };
    },
    holdChanged: (n, why) => {
      calls.push(`hold ${n} ${why}`);
      return { ok: true, message: 'ok' };
    },
  };
}

test('switchover: one instance, or every MASTER one; unknown 404, not MASTER 409', () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-maint-'));
  const rt = fakeRuntime({ A: 'MASTER', B: 'BACKUP', C: 'MASTER' });
  const v = operatorVerbs(
    () => rt,
    new MaintenanceStore(join(dir, 'm.json')),
    log,
    () => 'now',
  );
  assert.equal(v.switchover(undefined, 60).code, 200);
  assert.deepEqual(rt.calls, ['switchover A 60', 'switchover C 60']);
  assert.equal(v.switchover('B', 60).code, 409);
  assert.equal(v.switchover('Z', 60).code, 404);
  assert.equal(
    operatorVerbs(
      () => undefined,
      new MaintenanceStore(join(dir, 'm.json')),
      log,
      () => 'now',
    ).switchover(undefined, 1).code,
    501,
  );
});

test('maintenance writes the set first, then re-weighs the instance; all instances without a name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-maint-'));
  const path = join(dir, 'm.json');
  const rt = fakeRuntime({ A: 'MASTER', B: 'BACKUP' });
  const v = operatorVerbs(
    () => rt,
    new MaintenanceStore(path),
    log,
    () => '2026-12-02T06:00:00.000Z',
  );
  assert.equal(v.maintenance('A', true, 'cli').code, 200);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), {
    version: 1,
    instances: { A: { since: '2026-12-02T06:00:00.000Z', by: 'cli' } },
  });
  assert.deepEqual(rt.calls, ['hold A maintenance on']);
  assert.match(v.maintenance('A', true, 'cli').message, /already in maintenance/);
  assert.equal(v.maintenance(undefined, true, 'cli').code, 200);
  assert.deepEqual(Object.keys(v.maintained()).sort(), ['A', 'B']);
  assert.equal(v.maintenance('Z', true, 'cli').code, 404);
  assert.equal(v.maintenance(undefined, false, 'cli').code, 200);
  assert.deepEqual(v.maintained(), {});
});

test('floatd status names the instances in maintenance', async () => {
  const { formatStatus } = await import('../../../src/cli/status.js');
  const { sampleStatus } = await import('../api/status-fixture.js');
  const now = Date.parse('2026-12-02T07:00:00Z');
  const text = formatStatus(sampleStatus(new Date(now)), {
    now,
    maintenance: { VI_1: { since: '2026-12-02T06:58:00Z', by: 'api' } },
  });
  assert.match(text, /IN MAINTENANCE \(lowest priority until `floatd maintenance off`\): VI_1 since 2m ago/);
  assert.doesNotMatch(formatStatus(sampleStatus(new Date(now)), { now }), /MAINTENANCE/);
});
