/**
 * Tracking and notify on real kernels (issue 5): a flapping check with rise 3 / fall 3 does
 * not move the VIP; a hung script is killed at its timeout; notify scripts and a webhook get
 * keepalived's arguments in keepalived's order, as `script_user`. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SeedLab } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import type { DaemonStatus } from '../../src/model/status-types.js';

const skip = labUnavailable() ?? false;
const HOOK_PORT = 18080;
let s: SeedLab;

const waitFor = (what: string, cond: () => boolean, ms: number): Promise<number> => s.waitFor(what, cond, ms);

function script(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

const read = (p: string): string => (existsSync(p) ? readFileSync(p, 'utf8') : '');

before(async () => {
  if (skip) return;
  s = new SeedLab({
    transform: (h, text, dir) => {
      // Succeeds on its 1st, 3rd, 5th… run: up at once, then never three results in a row.
      const flap = script(
        dir,
        'flap.sh',
        `n=$(cat ${dir}/flap.count 2>/dev/null || echo 0)\necho $((n+1)) > ${dir}/flap.count\n[ $((n % 2)) -eq 0 ]`,
      );
      const hang = script(dir, 'hang.sh', `echo run >> ${dir}/hang.log\nexec sleep 30`);
      const backup = script(dir, 'backup.sh', `echo "notify_backup ran on ${h} $*" >> ${dir}/notify.log`);
      const generic = script(dir, 'generic.sh', `echo "notify $*" >> ${dir}/notify.log\nid -un >> ${dir}/who.log`);
      // lb2 runs its scripts as `script_user nobody`: the files they write must be writable by it.
      // It must also reach them: the lab's directories are mkdtemp's 0700.
      if (h === 'lb2') {
        for (const d of [dirname(dir), dir]) chmodSync(d, 0o755);
        for (const f of ['notify.log', 'who.log', 'flap.count']) {
          writeFileSync(join(dir, f), '');
          chmodSync(join(dir, f), 0o666);
        }
      }
      // lb1 also tracks the hung script; lb2 posts to the webhook receiver beside it.
      const scripts =
        `vrrp_script chk_flap {\n    script "${flap}"\n    interval 0.2\n    rise 3\n    fall 3\n}\n` +
        `vrrp_script chk_hang {\n    script "${hang}"\n    interval 1\n    timeout 0.5\n    weight -5\n}\n` +
        (h === 'lb2'
          ? `global_defs {\n    script_user nobody\n}\nnotify_webhook ops {\n` +
            `    url http://127.0.0.1:${HOOK_PORT}/hook\n    retries 2\n}\n`
          : '');
      return (
        scripts +
        text
          .replace(
            '        chk_nginx\n',
            `        chk_nginx\n        chk_flap\n${h === 'lb1' ? '        chk_hang\n' : ''}`,
          )
          .replace(/(\n\s*notify_master [^\n]*\n)/, `$1    notify_backup ${backup}\n    notify ${generic}\n`)
      );
    },
  });
  // The webhook receiver lives in lb2's namespace (floatd posts to its own loopback).
  const recv = join(s.dir('lb2'), 'hook-recv.mjs');
  writeFileSync(
    recv,
    `import http from 'node:http'; import fs from 'node:fs';
http.createServer((q, r) => {
  let b = '';
  q.on('data', (c) => b += c);
  q.on('end', () => { fs.appendFileSync(process.argv[2], b.replace(/\\n/g, ' ') + '\\n'); r.end('ok'); });
}).listen(${HOOK_PORT}, '127.0.0.1');\n`,
  );
  s.lab.spawn('lb2', [process.execPath, recv, join(s.dir('lb2'), 'hooks.jsonl')], 'hook-recv.log');
  // lb2 starts once lb1 is MASTER, so lb2's notify history starts with BACKUP: started
  // together on a loaded machine, lb2's down timer can expire before lb1's first advert.
  s.startFloatd('lb1');
  await s.waitFor('lb1 holds the VIP', () => s.holds('lb1'), 15_000);
  s.startFloatd('lb2');
  await s.waitFor('lb2 is up as BACKUP', () => /Entering BACKUP STATE/.test(s.log('lb2')), 15_000);
});

after(() => {
  if (!skip) s.destroy();
});

test(
  'a check flapping every other run with rise 3 / fall 3 never moves the VIP',
  { skip, timeout: 30_000 },
  async () => {
    await waitFor('lb1 holds the VIP', () => s.holds('lb1') && !s.holds('lb2'), 10_000);
    const runs0 = Number(read(join(s.dir('lb1'), 'flap.count')) || 0);
    for (let i = 0; i < 30; i++) {
      assert.ok(s.holds('lb1') && !s.holds('lb2'), `the VIP moved after ${i * 100} ms of flapping`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const runs = Number(read(join(s.dir('lb1'), 'flap.count'))) - runs0;
    assert.ok(runs >= 10, `the flapping check ran ${runs} times in 3 s`);
    const sinceMaster = s.log('lb1').split('Entering MASTER STATE').slice(1).join('');
    assert.ok(sinceMaster.length > 0, 'lb1 logged its MASTER transition');
    assert.doesNotMatch(sinceMaster, /Entering (BACKUP|FAULT) STATE/);
  },
);

test(
  'a hung script is killed at its timeout and counted as a failure (weight applied, never two at once)',
  { skip, timeout: 30_000 },
  async () => {
    await waitFor(
      'chk_hang ran at least three times',
      () => read(join(s.dir('lb1'), 'hang.log')).split('\n').length > 3,
      10_000,
    );
    const sleeping = s.lab.exec('lb1', ['pgrep', '-c', '-f', 'sleep 30'], true).trim();
    assert.ok(Number(sleeping || 0) <= 1, `${sleeping} hung scripts alive at once`);
    s.signalFloatd('lb1', 'USR1');
    const dump = join(s.dir('lb1'), 'floatd.data');
    await waitFor('the SIGUSR1 dump', () => existsSync(dump), 5_000);
    const st = JSON.parse(readFileSync(dump, 'utf8')) as DaemonStatus;
    const inst = st.instances.find((i) => i.name === 'VI_1');
    const hang = inst?.trackers.find((t) => t.name === 'chk_hang');
    assert.equal(hang?.status, 'down');
    assert.match(hang?.lastResult ?? '', /time/i);
    assert.equal(inst?.effectivePriority, 195);
    assert.equal(inst?.state, 'MASTER');
  },
);

test(
  "failover: notify scripts run in keepalived's order with its arguments, and the webhook gets each change",
  { skip, timeout: 40_000 },
  async () => {
    const hooks = join(s.dir('lb2'), 'hooks.jsonl');
    await waitFor("the webhook got lb2's BACKUP", () => /"to":"BACKUP"/.test(read(hooks)), 10_000);
    s.stopNginx('lb1');
    await waitFor('lb2 holds the VIP', () => s.holds('lb2') && !s.holds('lb1'), 10_000);
    await waitFor("the webhook got lb2's MASTER", () => /"to":"MASTER"/.test(read(hooks)), 10_000);
    await waitFor('generic notify ran for MASTER', () => /notify INSTANCE VI_1 MASTER/.test(s.notifyLog('lb2')), 5_000);
    const lines = s.notifyLog('lb2').trim().split('\n');
    // State script first, then the generic one, for each state, in the order the states came.
    assert.deepEqual(lines, [
      'notify_backup ran on lb2 ',
      'notify INSTANCE VI_1 BACKUP 100',
      'notify_master ran on lb2 ',
      'notify INSTANCE VI_1 MASTER 100',
    ]);
    // script_user nobody: checks and notify scripts ran as nobody, not root.
    assert.deepEqual(
      [
        ...new Set(
          read(join(s.dir('lb2'), 'who.log'))
            .trim()
            .split('\n'),
        ),
      ],
      ['nobody'],
    );
    const events = read(hooks)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      events.map((e) => [e.instance, e.from, e.to]),
      [
        ['VI_1', 'INIT', 'BACKUP'],
        ['VI_1', 'BACKUP', 'MASTER'],
      ],
    );
    const master = events[1]!;
    assert.equal(master.priority, 100);
    assert.match(String(master.reason), /.+/);
    assert.match(String(master.time), /^\d{4}-\d\d-\d\dT/);
    assert.ok(master.host);
    s.startNginx('lb1');
    await waitFor('lb1 takes the VIP back', () => s.holds('lb1') && !s.holds('lb2'), 15_000);
  },
);
