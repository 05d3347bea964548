/**
 * Lab: keepalived's ha_suspend on a VRRP pair of floatd load balancers. The BACKUP holds no
 * address of the virtual server, so its checkers are suspended (no probe runs); the MASTER's
 * run. nginx stopped on rs3: the MASTER sees it, the suspended BACKUP does not. MASTER killed:
 * the BACKUP takes the VIPs, its checkers resume with a probe at once, rs3 goes out of rotation
 * there and the client is served by rs1 and rs2. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { LbLab, LB_INTERNAL_VIP, LB_VIP, RS_IPS, tally } from '../../src/lab/lb-lab.js';
import type { LbStatus } from '../../src/model/status-types.js';

const skip = labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'nft']) ?? false;

const lvs = (dir: string): string => `floatd_api {
  socket ${dir}/floatd.sock
}
virtual_server ${LB_VIP} 80 {
  delay_loop 1
  lvs_sched rr
  protocol TCP
  ha_suspend
${RS_IPS.map(
  (ip) => `  real_server ${ip} 80 {
    TCP_CHECK {
      connect_timeout 0.5
      retry 1
      delay_before_retry 0.2
    }
  }`,
).join('\n')}
}
`;

let lab: LbLab;
before(async () => {
  if (skip) return;
  lab = new LbLab({ pair: true });
  for (const h of ['lb1', 'lb2'] as const) lab.writeConfig(h, lvs(lab.dir(h)));
  lab.startFloatd('lb1');
  await lab.waitFor('lb1 holds the VIP', () => lab.holdsVip('lb1'), 10_000);
  lab.startFloatd('lb2');
  await lab.waitFor('lb2 up as BACKUP', () => /Entering BACKUP STATE/.test(lab.log('lb2')), 10_000);
  for (const h of ['lb1', 'lb2'] as const)
    await lab.waitFor(`${h} rules`, () => lab.ruleset(h).includes('numgen inc mod 3 map'), 5000);
});
after(() => lab?.destroy());

function vs(h: 'lb1' | 'lb2'): LbStatus['virtualServers'][number] {
  const sock = join(lab.dir(h), 'floatd.sock');
  const s = JSON.parse(lab.lab.exec(h, ['curl', '-s', '--unix-socket', sock, 'http://localhost/api/v1/status'])) as {
    lb: LbStatus;
  };
  return s.lb.virtualServers[0]!;
}
const runs = (v: LbStatus['virtualServers'][number]): number[] => v.realServers.map((r) => r.checks[0]!.runs);

test('the BACKUP suspends its checkers; the MASTER runs them and sees a real server go down', { skip }, async () => {
  await new Promise((r) => setTimeout(r, 2500));
  const backup = vs('lb2');
  assert.equal(backup.suspended, true);
  assert.deepEqual(runs(backup), [0, 0, 0], 'no probe ran on the BACKUP');
  assert.ok(backup.realServers.every((r) => r.checks[0]!.suspended));
  assert.match(lab.log('lb2'), /no address of the service is local: checks suspended/);
  const master = vs('lb1');
  assert.equal(master.suspended, false);
  assert.ok(
    runs(master).every((n) => n >= 2),
    `the MASTER probes every delay_loop: ${runs(master).join(',')}`,
  );
  lab.nginx('rs3', false);
  await lab.waitFor('lb1 sees rs3 down', () => lab.ruleset('lb1').includes('numgen inc mod 2 map'), 5000);
  assert.ok(lab.ruleset('lb2').includes('numgen inc mod 3 map'), 'the suspended BACKUP does not know');
  assert.deepEqual(runs(vs('lb2')), [0, 0, 0]);
});

test('MASTER killed: the BACKUP takes the VIPs, resumes its checkers and takes rs3 out', { skip }, async (ctx) => {
  lab.signalFloatd('lb1', 'KILL');
  lab.lab.setLink('lb1', false);
  await lab.waitFor(
    'lb2 holds both VIPs',
    () => lab.holdsVip('lb2') && lab.lab.addresses('lb2').includes(LB_INTERNAL_VIP),
    10_000,
  );
  const t0 = Date.now();
  await lab.waitFor('lb2 takes rs3 out', () => lab.ruleset('lb2').includes('numgen inc mod 2 map'), 5000);
  ctx.diagnostic(`VIPs on lb2 → rs3 out of its rotation: ${Date.now() - t0} ms`);
  assert.equal(vs('lb2').suspended, false);
  // Run counts reach the main thread in the worker's once-a-second snapshot (only verdict changes are posted
  // at once), so rs1/rs2's first probes after the resume can show up to 1 s after rs3's verdict.
  await lab.waitFor('every resumed check ran', () => runs(vs('lb2')).every((n) => n >= 1), 2500);
  assert.match(lab.log('lb2'), /the service's address is local: checks resumed/);
  assert.deepEqual(tally(lab.requests(20, 2)), { rs1: 10, rs2: 10 });
});
