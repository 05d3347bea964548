/**
 * The hand-over drain's nft script (src/net/syn-drain.ts): what it matches, that removing is
 * idempotent, and — where nft and root are available — that nft accepts it (checked with `nft -c`
 * in a fresh network namespace: nothing is applied anywhere).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { drainScript, drainTable } from '../../../src/net/syn-drain.js';

const specs = [
  { ifname: 'eth1', address: '192.0.2.100', prefix: 24 },
  { ifname: 'eth1', address: '2001:db8::100', prefix: 64 },
];

test('drain script: new connections (SYN without ACK) to each VIP dropped, per family, in a table of its own', () => {
  const s = drainScript('VI_1', specs, true);
  assert.match(s, /ip daddr \{ 192\.0\.2\.100 \} tcp flags & \(syn \| ack\) == syn drop/);
  assert.match(s, /ip6 daddr \{ 2001:db8::100 \} tcp flags & \(syn \| ack\) == syn drop/);
  assert.match(s, /type filter hook input priority -10;/);
  assert.ok(s.startsWith(`add table inet ${drainTable('VI_1')}\ndelete table inet ${drainTable('VI_1')}\n`));
  assert.doesNotMatch(drainScript('VI_1', specs.slice(0, 1), true), /ip6/);
});

test('drain script: off (and on with no VIPs) only deletes the table, without failing when it is absent', () => {
  const off = drainScript('VI_1', specs, false);
  assert.equal(off, `add table inet ${drainTable('VI_1')}\ndelete table inet ${drainTable('VI_1')}\n`);
  assert.equal(drainScript('VI_1', [], true), off);
});

test('drain table names: one per instance, whatever characters the name has', () => {
  assert.notEqual(drainTable('VI_1'), drainTable('VI_2'));
  assert.match(drainTable('web "front" ; x'), /^floatd_drain_[0-9a-f]+$/);
});

const nftOk =
  process.getuid?.() === 0 &&
  spawnSync('nft', ['--version']).status === 0 &&
  spawnSync('unshare', ['--help']).status === 0;
test(
  'nft accepts the scripts (nft -c in a fresh network namespace)',
  { skip: nftOk ? false : 'needs root, nft and unshare' },
  () => {
    for (const s of [drainScript('VI_1', specs, true), drainScript('VI_1', specs, false)]) {
      const r = spawnSync('unshare', ['-n', 'nft', '-c', '-f', '-'], { input: s, encoding: 'utf8' });
      assert.equal(r.status, 0, `${s}\n${r.stderr}`);
    }
  },
);
