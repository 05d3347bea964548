import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runOnce } from '../../../src/track/script-check.js';
import { Notifier } from '../../../src/notify/notifier.js';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('the command runs as written with a PATH lookup: `pidof` finds a running process', async () => {
  // `pidof node` must succeed while this test (a node process) runs; keepalived 2.2.7 on Debian
  // would resolve pidof to /sbin/killall5 and fail here.
  const r = await runOnce({ argv: ['pidof', 'node'], timeoutMs: 5000 });
  assert.equal(r.ok, true, r.detail);
  const miss = await runOnce({ argv: ['pidof', 'no-such-process-floatd'], timeoutMs: 5000 });
  assert.equal(miss.ok, false);
});

test('a hung script is killed at its timeout and counts as a failure', async () => {
  const t0 = Date.now();
  const r = await runOnce({ argv: ['sleep', '30'], timeoutMs: 200 });
  assert.equal(r.ok, false);
  assert.match(r.detail, /timed out/);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

test('a missing command is a failure with a reason, not a crash', async () => {
  const r = await runOnce({ argv: ['/nonexistent/check'], timeoutMs: 1000 });
  assert.equal(r.ok, false);
  assert.match(r.detail, /ENOENT/);
});

test('notify runs the state script, then the generic notify with keepalived arguments, in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-notify-'));
  const log = join(dir, 'log');
  const script = join(dir, 'rec.sh');
  writeFileSync(script, `#!/bin/sh\nsleep 0.05\necho "$*" >> ${log}\n`);
  chmodSync(script, 0o755);
  const n = new Notifier(() => {});
  void n.notify({ kind: 'INSTANCE', name: 'VI_1', state: 'BACKUP', priority: 100, specific: { argv: [script, 'backup'] }, generic: { argv: [script] }, timeoutMs: 5000 });
  void n.notify({ kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 200, specific: { argv: [script, 'master'] }, generic: { argv: [script] }, timeoutMs: 5000 });
  await n.drain();
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['backup', 'INSTANCE VI_1 BACKUP 100', 'master', 'INSTANCE VI_1 MASTER 200']);
  assert.equal(n.runs, 4);
  assert.equal(n.failures, 0);
});
