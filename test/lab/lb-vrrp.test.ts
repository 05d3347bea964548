/**
 * Lab: two floatd load balancers as a VRRP pair (the classic keepalived LVS-NAT pair). Both run
 * the same virtual_server with its checks, so the BACKUP's rules are in place before it is
 * needed; the public VIP and the real servers' gateway VIP move with the instance. SIGKILL on
 * the MASTER: the BACKUP takes both VIPs and serves all three real servers. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { LbLab, LB_INTERNAL_VIP, LB_VIP, RS_IPS, tally } from '../../src/lab/lb-lab.js';

const skip = labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'nft']) ?? false;

const LVS = `
virtual_server ${LB_VIP} 80 {
  delay_loop 1
  lvs_sched rr
  protocol TCP
${RS_IPS.map(
  (ip) => `  real_server ${ip} 80 {
    TCP_CHECK {
      connect_timeout 0.5
    }
  }`,
).join('\n')}
}
`;

let lab: LbLab;
before(async () => {
  if (skip) return;
  lab = new LbLab({ pair: true });
  lab.writeConfig('lb1', LVS);
  lab.writeConfig('lb2', LVS);
  lab.startFloatd('lb1');
  await lab.waitFor('lb1 holds the VIP', () => lab.holdsVip('lb1'), 10_000);
  lab.startFloatd('lb2');
  await lab.waitFor('lb2 up as BACKUP', () => /Entering BACKUP STATE/.test(lab.log('lb2')), 10_000);
  for (const h of ['lb1', 'lb2'] as const)
    await lab.waitFor(`${h} rules`, () => lab.ruleset(h).includes('numgen inc mod 3'), 5000);
});
after(() => lab?.destroy());

test('the BACKUP has the same rules, and no VIP, while the MASTER serves', { skip }, () => {
  assert.equal(lab.holdsVip('lb2'), false);
  assert.ok(lab.ruleset('lb2').includes('numgen inc mod 3'), 'rules live on the BACKUP too');
  assert.deepEqual(tally(lab.requests(30)), { rs1: 10, rs2: 10, rs3: 10 });
});

test('MASTER killed: the BACKUP takes both VIPs and serves at once', { skip }, async (ctx) => {
  lab.signalFloatd('lb1', 'KILL');
  // A killed daemon leaves its addresses behind (as keepalived does); the cable goes too, as
  // when the machine dies, so only the new MASTER answers for the VIPs.
  lab.lab.setLink('lb1', false);
  const ms = await lab.waitFor(
    'lb2 holds both VIPs',
    () => lab.holdsVip('lb2') && lab.lab.addresses('lb2').includes(LB_INTERNAL_VIP),
    10_000,
  );
  ctx.diagnostic(`takeover: ${ms} ms`);
  const t = tally(lab.requests(30, 2));
  assert.deepEqual(t, { rs1: 10, rs2: 10, rs3: 10 });
});
