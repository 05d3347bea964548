import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { decode, encode, FailsafeLinks } from '../../../src/quorum/failsafe-net.js';
import type { QuorumConfig } from '../../../src/config/model.js';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');

test('signed messages: a changed byte or another secret is rejected', () => {
  const b = encode({ v: 1, t: 'a', k: '/floatd/web/VI_1', n: 'ab12', f: 'lb2', ok: true, why: 'not holding' }, secret);
  assert.equal(decode(b, secret)?.ok, true);
  assert.equal(decode(b, Buffer.from('another secret, 32 bytes long...')), undefined);
  const forged = Buffer.from(b.toString().replace('"ok":true', '"ok":fals'));
  assert.equal(decode(forged, secret), undefined);
  assert.equal(decode(Buffer.from('{"v":1}'), secret), undefined);
});

test('a round over real UDP on loopback: asked, answered, matched to the peer (this node asks itself)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-fs-'));
  try {
    writeFileSync(join(dir, 'k'), secret);
    const q = {
      name: 'main',
      onQuorumLoss: 'failsafe',
      ttlMs: 2000,
      marginMs: 500,
      kernelLifetimeS: 1,
      failsafe: { peers: ['127.0.0.1'], port: 20000 + Math.floor(Math.random() * 20000), secretFile: join(dir, 'k') },
    } as unknown as QuorumConfig;
    const asked: string[] = [];
    const links = new FailsafeLinks({
      log: pino({ level: 'silent' }),
      nodeName: 'lb1',
      nowUs: () => 0,
      answer: (k) => (
        asked.push(k),
        k === '/floatd/web/VI_1' ? { ok: false, why: 'this node holds the lease' } : undefined
      ),
    });
    const fs = links.machine(q, ['127.0.0.1']);
    assert.ok(fs, 'a machine when the secret is readable');
    const alive = setTimeout(() => undefined, 5000); // the sockets are unref'd: keep the loop up
    const got = await new Promise<string>((resolve) =>
      links.ask(q, '/floatd/web/VI_1', ['127.0.0.1'], (peer, ok, why) => resolve(`${peer} ${ok} ${why}`)),
    );
    clearTimeout(alive);
    assert.equal(got, '127.0.0.1 false this node holds the lease');
    assert.deepEqual(asked, ['/floatd/web/VI_1']);
    links.close();
    const bad = new FailsafeLinks({
      log: pino({ level: 'silent' }),
      nodeName: 'x',
      nowUs: () => 0,
      answer: () => undefined,
    });
    const noSecret = { ...q, failsafe: { ...q.failsafe!, secretFile: join(dir, 'missing') } } as QuorumConfig;
    assert.equal(bad.machine(noSecret, ['127.0.0.1']), undefined, 'no secret: fence mode, loudly');
    bad.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
