import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { applyScheduling } from '../../../src/daemon/scheduling.js';
import { createLogger } from '../../../src/util/log.js';

const log = createLogger({ level: 'silent' });

test('vrrp_priority and vrrp_rt_priority are applied; a refusal is a warning, not a failure', () => {
  const calls: string[] = [];
  const ok = applyScheduling({ nice: -5, rtPriority: 10 }, log, {
    setNice: (n) => calls.push(`nice ${n}`),
    setRealtime: (p) => calls.push(`rr ${p}`),
  });
  assert.deepEqual(calls, ['nice -5', 'rr 10']);
  assert.deepEqual(ok, { nice: -5, rtPriority: 10 });
  const refused = applyScheduling({ nice: -5, rtPriority: 10 }, log, {
    setNice: () => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    },
    setRealtime: () => {
      throw Object.assign(new Error('sched_setscheduler(SCHED_RR): EPERM'), { code: 'EPERM' });
    },
  });
  assert.deepEqual(refused, {});
  assert.deepEqual(applyScheduling({}, log, { setNice: () => assert.fail(), setRealtime: () => assert.fail() }), {});
});

test(
  'for real, in a child process: nice and SCHED_RR take effect, and a script started afterwards runs as an ' +
    'ordinary process',
  { skip: process.getuid?.() !== 0 ? 'needs root (CAP_SYS_NICE)' : false },
  () => {
    const src = (p: string): string => JSON.stringify(new URL(`../../../src/${p}`, import.meta.url).href);
    const script = `
    import { applyScheduling } from ${src('daemon/scheduling.js')};
    import { createLogger } from ${src('util/log.js')};
    import { getPriority } from 'node:os';
    import { execFileSync } from 'node:child_process';
    import { readFileSync } from 'node:fs';
    const r = applyScheduling({ nice: -3, rtPriority: 7 }, createLogger({ level: 'silent' }));
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const child = execFileSync('sh', ['-c', 'cut -d" " -f40,41 /proc/self/stat']).toString().trim();
    console.log(JSON.stringify({ r, nice: getPriority(), rtprio: Number(f[37]), policy: Number(f[38]), child }));
  `;
    const loader = process.execArgv.some((a) => a.includes('tsx')) ? ['--import', 'tsx'] : [];
    const out = spawnSync(process.execPath, [...loader, '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const got = JSON.parse(out.stdout.trim().split('\n').pop()!);
    assert.deepEqual(got.r, { nice: -3, rtPriority: 7 });
    assert.equal(got.rtprio, 7);
    assert.equal(got.policy, 2, 'SCHED_RR');
    assert.equal(got.child, '0 0', 'the script child is back to SCHED_OTHER, rt_priority 0');
  },
);
