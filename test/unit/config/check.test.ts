import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../../../src/cli/check.js';

const root = new URL('../../../', import.meta.url).pathname.replace(/\/dist\/$/, '/');

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let buf = '';
  stream.on('data', (c: Buffer) => {
    buf += c.toString();
  });
  return { stream, text: () => buf };
}

test('floatd check: the seed config is usable (exit 0) and the summary says what was understood', async () => {
  const out = capture();
  const err = capture();
  const code = await runCheck({ file: join(root, 'examples/seed-master.conf'), out: out.stream, err: err.stream });
  assert.equal(code, 0);
  assert.match(out.text(), /vrrp_instance VI_1: MASTER priority 200, VRID 33 on eth1, VRRPv2/);
  assert.match(out.text(), /runs "pidof nginx" every 2 s/);
  assert.match(err.text(), /seed-master\.conf:19:19: warning: auth_pass: Truncating/);
});

test('floatd check: a broken config exits 1 with file:line:col; a missing file is an error, not a crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-check-'));
  const f = join(dir, 'bad.conf');
  writeFileSync(f, 'vrrp_instance A {\n  interface eth0\n  virtual_router_id 256\n}\n');
  const err = capture();
  assert.equal(await runCheck({ file: f, out: capture().stream, err: err.stream }), 1);
  assert.match(err.text(), /bad\.conf:3:21: error: virtual_router_id: expected an integer 1\.\.255, got "256"/);
  const err2 = capture();
  assert.equal(await runCheck({ file: join(dir, 'nope.conf'), out: capture().stream, err: err2.stream }), 1);
  assert.match(err2.text(), /no such file/);
});
