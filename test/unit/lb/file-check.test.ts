/**
 * FILE_CHECK: keepalived's syntax (a track_file reference, its weight by default), the verdict
 * arithmetic, and the pool's one watcher per file reaching every check that reads it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';
import type { FileCheckConfig } from '../../../src/config/lvs-model.js';
import { fileVerdict } from '../../../src/lb/file-check.js';
import { CheckerPool, initialCheck, verdictOf, verdictSig } from '../../../src/lb/checker-pool.js';
import { rotation, rsState, stepVs, type CheckVerdict } from '../../../src/lb/membership.js';
import { MS, VirtualClock } from '../../support/virtual-clock.js';

const parse = (text: string) => {
  const r = parseConfigText(text, '/etc/keepalived/keepalived.conf');
  return { ...r, lines: r.diagnostics.map(formatDiagnostic), vss: r.config?.virtualServers ?? [] };
};

const conf = (checks: string): string => `track_file maint {
  file /run/floatd-test/maint
  weight 0
}
vrrp_track_file load {
  file /run/floatd-test/load
  weight -2 reverse
  init_file 0
}
virtual_server 192.0.2.100 80 {
  lvs_sched wrr
  real_server 203.0.113.11 80 {
    weight 10
${checks}
  }
}`;

test("FILE_CHECK reads its track_file by name; without its own weight it takes the block's", () => {
  const r = parse(
    conf(
      '    FILE_CHECK { track_file maint }\n    FILE_CHECK { track_file load }\n    FILE_CHECK {\n' +
        '      track_file load\n      weight 3\n    }',
    ),
  );
  assert.deepEqual(r.lines, []);
  const [a, b, c] = r.vss[0]!.realServers[0]!.checks as FileCheckConfig[];
  assert.deepEqual(
    [a!.kind, a!.path, a!.weight, a!.reverse, a!.alpha],
    ['FILE_CHECK', '/run/floatd-test/maint', 0, false, false],
  );
  assert.deepEqual(
    [b!.path, b!.weight, b!.reverse, b!.initFile],
    ['/run/floatd-test/load', -2, true, { value: 0, overwrite: false }],
  );
  assert.deepEqual([c!.weight, c!.reverse], [3, false], "its own weight replaces the track_file's, reverse included");
});

test('FILE_CHECK: unknown or missing track_file, bad weight option: positioned errors; other options warn', () => {
  const r = parse(
    conf(
      '    FILE_CHECK { track_file nosuch }\n    FILE_CHECK { weight 2 }\n    FILE_CHECK {\n' +
        '      track_file maint\n      weight 1 sideways\n    }\n    FILE_CHECK {\n      track_file maint\n' +
        '      connect_timeout 3\n    }',
    ),
  );
  assert.equal(r.config, null);
  const all = r.lines.join('\n');
  assert.match(all, /:14:29: error: track_file: track_file nosuch not found/);
  assert.match(all, /:15:5: error: FILE_CHECK: FILE_CHECK has no track_file/);
  assert.match(all, /:18:16: error: weight: unknown weight option "sideways"/);
  assert.match(all, /:22:7: warning: connect_timeout: FILE_CHECK takes only track_file and weight/);
});

test("FILE_CHECK's verdict: weight 0 is up/down by the value; a weight adds value × weight, reverse negates", () => {
  const ch = (weight: number, reverse = false) => ({ weight, reverse, path: '/f' });
  assert.equal(fileVerdict(ch(0), 0).up, true);
  assert.equal(fileVerdict(ch(0), 1).up, false);
  assert.equal(fileVerdict(ch(0), -7).up, false);
  assert.equal(fileVerdict(ch(0, true), 0).up, false);
  assert.equal(fileVerdict(ch(0, true), 3).up, true);
  assert.deepEqual([fileVerdict(ch(2), 5).up, fileVerdict(ch(2), 5).delta], [true, 10]);
  assert.equal(fileVerdict(ch(2, true), 5).delta, -10);
  assert.equal(fileVerdict(ch(-3), 4).delta, -12);
  assert.equal(fileVerdict(ch(1), -(2 ** 31)).up, false, 'at IPVS_WEIGHT_FAULT: down');
  assert.equal(fileVerdict(ch(2 ** 31 - 1), 2).delta, 2 ** 31 - 1, 'clamped to INT32_MAX');
  // The server's weight: configured + deltas, clamped to 0..65535 (0: listed, no new connections).
  const rs = parse(conf('    FILE_CHECK { track_file load }')).vss[0]!.realServers[0]!;
  assert.deepEqual(rsState(rs, [{ up: true, delta: -4 }]), { alive: true, weight: 6 });
  assert.deepEqual(rsState(rs, [{ up: true, delta: -40 }]), { alive: true, weight: 0 });
  assert.deepEqual(rsState(rs, [{ up: true, delta: 1e6 }]), { alive: true, weight: 65535 });
  assert.deepEqual(rsState(rs, [undefined]), { alive: true, weight: 10, pending: true }, 'not read yet: undecided');
  // Beside misc_dynamic each adds its part (keepalived): misc status − 2 − configured, file value × weight.
  const both = { ...rs, checks: [rs.checks[0]!, rs.checks[0]!, rs.checks[0]!] };
  assert.deepEqual(rsState(both, [{ up: true, weight: 20 }, { up: true, delta: -4 }, { up: true }]), {
    alive: true,
    weight: 16,
  });
  const twoMisc = { ...rs, checks: [rs.checks[0]!, rs.checks[0]!] };
  assert.equal(
    rsState(twoMisc, [
      { up: true, weight: 20 },
      { up: true, weight: 12 },
    ]).weight,
    10 + 10 + 2,
  );
});

test('a reload adding a FILE_CHECK to a serving server keeps it in rotation until the file is read', () => {
  // The lab's race (lb-dr.test.ts): the new check started down, so the reload took rs3 out and put it
  // back at the first read; a write of 1 meanwhile looked done ('mod 2') while rs3 came back.
  const before = parse(conf('    TCP_CHECK { }')).vss[0]!;
  const after = parse(conf('    TCP_CHECK { }\n    FILE_CHECK { track_file maint }')).vss[0]!;
  const rs = after.realServers[0]!;
  const key = '203.0.113.11:80';
  const fileCh = rs.checks[1]!;
  const unread = verdictOf(initialCheck(fileCh));
  const step = (prev: Parameters<typeof stepVs>[1], tcp: boolean, file: CheckVerdict) =>
    stepVs(after, prev, new Map([[key, rsState(rs, [{ up: tcp }, file])]]));
  const serving = stepVs(before, undefined, new Map([[key, rsState(before.realServers[0]!, [{ up: true }])]])).state;
  const reloaded = step(serving, true, unread);
  assert.deepEqual(rotation(after, reloaded.state), [{ address: '203.0.113.11', port: 80, weight: 10 }]);
  assert.deepEqual(reloaded.events, [], 'no notify_down/up for a moment of not knowing');
  // The first read says 1 (weight 0: down): out, with its event.
  const read1 = step(reloaded.state, true, fileVerdict(fileCh as FileCheckConfig, 1));
  assert.deepEqual(rotation(after, read1.state), []);
  assert.deepEqual(
    read1.events.map((e) => e.type),
    ['rs_down', 'quorum_down'],
  );
  // Undecided never brings a server in: not at start, not after being down, not with its TCP check down.
  assert.deepEqual(rotation(after, step(undefined, true, unread).state), [], 'a new server waits for its file');
  assert.deepEqual(rotation(after, step(read1.state, true, unread).state), []);
  assert.deepEqual(rotation(after, step(serving, false, unread).state), [], 'its other check down: out');
  // The worker's mirror sees the first read even when it says down (the verdict signature changes).
  const readDown = { up: false, failures: 1, detail: 'reads 1', runs: 1, delta: 0 };
  assert.notEqual(verdictSig(initialCheck(fileCh)), verdictSig(readDown));
});

const until = async (what: string, cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
};

test('the pool watches each file once for every check reading it, and follows its value', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'floatd-fc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'maint');
  writeFileSync(path, '0\n');
  const r = parse(conf('    FILE_CHECK { track_file maint }').replace('/run/floatd-test/maint', path));
  const ch = r.vss[0]!.realServers[0]!.checks[0]!;
  const clock = new VirtualClock();
  const changes: string[] = [];
  const pool = new CheckerPool({ clock, onChange: (k) => changes.push(k) });
  const target = { address: '203.0.113.11', port: 80 };
  const other = { address: '203.0.113.12', port: 80 };
  pool.sync(
    new Map([
      ['a', { ch, target }],
      ['b', { ch, target: other }],
    ]),
  );
  assert.equal(pool.verdict('a')!.up, false, 'down until read');
  await until('read at start', () => pool.verdict('a')!.up && pool.verdict('b')!.up);
  writeFileSync(path, '1\n');
  await until('both checks down on the change', () => !pool.verdict('a')!.up && !pool.verdict('b')!.up);
  assert.match(pool.verdict('a')!.detail!, /reads 1/);
  // Removing one check keeps the watcher for the other; a kept check keeps its state.
  pool.sync(new Map([['b', { ch, target: other }]]));
  writeFileSync(path, '0');
  await until('b up again', () => pool.verdict('b')!.up);
  assert.equal(pool.verdict('a'), undefined);
  assert.ok(changes.length >= 3);
  pool.stop();
  assert.equal(clock.pending, 0, 'no timer left');
});
