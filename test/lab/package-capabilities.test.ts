/**
 * Least privilege, shown: the seed pair runs with only CAP_NET_ADMIN and CAP_NET_RAW (lb1 also
 * CAP_SYS_NICE, because its file asks for vrrp_rt_priority), started through setpriv with that
 * bounding set — the kernel then gives the root process nothing else — and fails over and back.
 * Without CAP_NET_RAW a daemon cannot open its VRRP socket and says so. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeedLab, type Server } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';

const skip = labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'setpriv', 'chrt']) ?? false;
const caps = (list: string): string[] => ['setpriv', `--bounding-set=-all,${list}`, '--inh-caps=-all', '--'];
const NET = '+net_admin,+net_raw';
// Capability bits: CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_SYS_NICE 23.
const MASK_NET = (1n << 12n) | (1n << 13n);
const MASK_NICE = MASK_NET | (1n << 23n);

let s: SeedLab;
before(() => {
  if (skip) return;
  s = new SeedLab({
    transform: (h, text) => (h === 'lb1' ? `global_defs {\n    vrrp_rt_priority 10\n}\n${text}` : text),
  });
  s.startFloatd('lb1', {}, caps(`${NET},+sys_nice`));
  s.startFloatd('lb2', {}, caps(NET));
});
after(() => {
  if (!skip) s.destroy();
});

const pid = (h: Server): string => readFileSync(join(s.dir(h), 'floatd.pid'), 'utf8').trim();
function capsOf(h: Server): { eff: bigint; bnd: bigint } {
  const st = s.lab.run(h, ['cat', `/proc/${pid(h)}/status`]).stdout;
  const hex = (k: string): bigint => BigInt(`0x${new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(st)![1]}`);
  return { eff: hex('CapEff'), bnd: hex('CapBnd') };
}

test(
  'only CAP_NET_ADMIN + CAP_NET_RAW (+ CAP_SYS_NICE for ' +
    'vrrp_rt_priority): MASTER, failover on nginx stop, preempt back',
  { skip, timeout: 60_000 },
  async () => {
    await s.waitFor('lb1 holds the VIP', () => s.holds('lb1') && !s.holds('lb2'), 15_000);
    assert.deepEqual(
      capsOf('lb1'),
      { eff: MASK_NICE, bnd: MASK_NICE },
      'lb1 runs with exactly net_admin, net_raw, sys_nice',
    );
    assert.deepEqual(capsOf('lb2'), { eff: MASK_NET, bnd: MASK_NET }, 'lb2 runs with exactly net_admin, net_raw');
    assert.match(
      s.lab.run('lb1', ['chrt', '-p', pid('lb1')]).stdout,
      /SCHED_RR/,
      'vrrp_rt_priority applied with CAP_SYS_NICE',
    );
    assert.match(s.log('lb1'), /\[sched\.realtime/);
    assert.match(s.served(), /Droplet: lb1/);
    s.stopNginx('lb1');
    await s.waitFor('lb2 holds the VIP', () => s.holds('lb2') && !s.holds('lb1'), 12_000);
    await s.waitFor('the client is served by lb2', () => /Droplet: lb2/.test(s.served()), 5_000);
    await s.waitFor('notify_master ran on lb2', () => /notify_master ran on lb2/.test(s.notifyLog('lb2')), 5_000);
    s.startNginx('lb1');
    await s.waitFor('lb1 preempts back', () => s.holds('lb1') && !s.holds('lb2'), 15_000);
    assert.doesNotMatch(
      s.log('lb1') + s.log('lb2'),
      /EPERM|Operation not permitted/,
      'nothing was refused for want of a capability',
    );
  },
);

test('without CAP_NET_RAW the VRRP socket cannot open, and the log says why', { skip, timeout: 30_000 }, async () => {
  s.signalFloatd('lb2', 'TERM');
  await s.waitFor('lb2 stopped', () => !s.floatdRunning('lb2'), 10_000);
  s.startFloatd('lb2', {}, caps('+net_admin'));
  await s.waitFor(
    'lb2 reports the missing capability',
    () => /cannot open VRRP socket.*(EPERM|not permitted)/i.test(s.log('lb2')),
    10_000,
  );
});
