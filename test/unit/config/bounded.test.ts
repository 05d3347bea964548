/** loadConfigBounded (issue 15 item 6): the sync loader's result, off the event loop, with time and heap bounds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, loadConfigBounded } from '../../../src/config/index.js';

const root = new URL('../../../', import.meta.url).pathname.replace(/\/dist\/$/, '/');

test('the bounded loader gives just what loadConfig gives (seed, sweep, a broken file, a missing file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-bounded-'));
  writeFileSync(join(dir, 'bad.conf'), 'vrrp_instance A {\n  interface eth0\n  virtual_router_id 256\n}\n');
  for (const f of [
    join(root, 'examples/seed-master.conf'),
    join(root, 'test/fixtures/configs/keepalived-sweep.conf'),
    join(dir, 'bad.conf'),
    join(dir, 'none.conf'),
  ]) {
    assert.deepEqual(await loadConfigBounded(f), await loadConfig(f), f);
  }
  assert.deepEqual(
    await loadConfigBounded(join(root, 'examples/seed-master.conf'), { configIds: ['x'] }),
    await loadConfig(join(root, 'examples/seed-master.conf'), { configIds: ['x'] }),
  );
});

test('the event loop keeps running while the worker parses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-bounded-'));
  writeFileSync(join(dir, 'big.conf'), `~SEQ(a, 1, 60000) x$a 1\n`);
  let ticks = 0;
  const iv = setInterval(() => {
    ticks++;
  }, 5);
  const r = await loadConfigBounded(join(dir, 'big.conf'));
  clearInterval(iv);
  assert.ok(r.diagnostics.length > 0);
  assert.ok(ticks >= 3, `only ${ticks} ticks of a 5 ms interval while parsing`);
});

test('past its time bound the parse is stopped: a clear error, no config', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-bounded-'));
  writeFileSync(join(dir, 'slow.conf'), `~SEQ(a, 1, 99999) ~SEQ(b, 1, 99999) x\n`);
  const r = await loadConfigBounded(join(dir, 'slow.conf'), { timeoutMs: 50 });
  assert.equal(r.config, null);
  assert.equal(r.diagnostics.length, 1);
  assert.equal(r.diagnostics[0]?.code, 'CONFIG_LIMIT');
  assert.match(r.diagnostics[0]!.message, /took longer than 50 ms and was stopped/);
});

test('past its heap bound the parse is stopped: a clear error, no config', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-bounded-'));
  writeFileSync(join(dir, 'big.conf'), `~SEQ(a, 1, 99999) ~SEQ(b, 1, 99999) some words on a line $a $b\n`);
  const r = await loadConfigBounded(join(dir, 'big.conf'), { maxHeapMb: 16, timeoutMs: 30_000 });
  assert.equal(r.config, null);
  assert.match(r.diagnostics[0]!.message, /needed more than 16 MB and was stopped/);
});
