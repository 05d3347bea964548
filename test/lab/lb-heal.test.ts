/**
 * Lab: the periodic reconcile heals a table changed from outside. floatd (NAT, three real
 * servers, reconcile every second through FLOATD_LB_RECONCILE_S) runs on lb1; the test flushes
 * the table, deletes a slot element, deletes the whole table — each time the rules are back
 * within the interval (plus slack for a loaded machine), requests reach all three servers again,
 * the log has `lb.repaired` and `floatd_lb_repairs_total` counts it. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { LbLab, LB_VIP, RS_IPS, tally } from '../../src/lab/lb-lab.js';

const skip = labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'nft']) ?? false;
const INTERVAL_S = 1;

let lab: LbLab;
const lvs = (dir: string): string => `floatd_api {
  socket ${dir}/floatd.sock
}
virtual_server ${LB_VIP} 80 {
  delay_loop 5
  lvs_sched rr
  lvs_method NAT
${RS_IPS.map((ip) => `  real_server ${ip} 80 { TCP_CHECK { connect_timeout 0.5 } }`).join('\n')}
}
`;
const nft = (...args: string[]): string => lab.lab.exec('lb1', ['nft', ...args], true);
const repairs = (): number => {
  const m = lab.lab.exec('lb1', [
    'curl',
    '-s',
    '--unix-socket',
    `${lab.dir('lb1')}/floatd.sock`,
    'http://localhost/metrics',
  ]);
  return Number(/^floatd_lb_repairs_total (\d+)/m.exec(m)?.[1] ?? -1);
};
const healthy = (): boolean => lab.ruleset('lb1').includes('numgen inc mod 3');
const clean = (): number => lab.log('lb1').split('lb.reconcile_clean').length;

before(async () => {
  if (skip) return;
  process.env.FLOATD_LB_RECONCILE_S = String(INTERVAL_S);
  lab = new LbLab();
  lab.writeConfig('lb1', lvs(lab.dir('lb1')));
  lab.startFloatd('lb1');
  delete process.env.FLOATD_LB_RECONCILE_S;
  await lab.waitFor('lb1 holds the VIP', () => lab.holdsVip('lb1'), 10_000);
  await lab.waitFor('rules installed', healthy, 5000);
});
after(() => {
  if (process.env.LB_HEAL_KEEP_LOG) console.log(lab?.log('lb1'));
  lab?.destroy();
});

/** Damages the table, waits for the repair; returns how long it took (ms). */
async function damage(what: string, argv: string[], broken: () => boolean): Promise<number> {
  const before = clean();
  nft(...argv);
  assert.ok(broken(), `${what}: the damage is visible`);
  const ms = await lab.waitFor(`${what} repaired`, healthy, 10_000);
  // The next look finds the kernel clean again (and resets the back-off).
  await lab.waitFor(`${what}: clean again`, () => clean() > before, 10_000);
  return ms;
}

test(
  'a flushed table, a deleted slot element and a deleted table are put back within the interval',
  { skip },
  async () => {
    const slack = 2000; // a loaded two-core machine
    const flushed = await damage('flush', ['flush', 'table', 'ip', 'floatd_lb'], () => !healthy());
    assert.ok(flushed <= INTERVAL_S * 1000 + slack, `flush repaired after ${flushed} ms`);
    assert.match(lab.log('lb1'), /lb\.repaired/);
    const t = tally(lab.requests(30));
    assert.deepEqual(t, { rs1: 10, rs2: 10, rs3: 10 }, 'all three serve again');

    const slotMap = /map (s\w+) \{/.exec(lab.ruleset('lb1'))?.[1];
    assert.ok(slotMap, lab.ruleset('lb1'));
    const slot = (): boolean => new RegExp(`0 : ${RS_IPS[0]!.replace(/\./g, '\\.')} \\. 80`).test(lab.ruleset('lb1'));
    const before = clean();
    nft('delete', 'element', 'ip', 'floatd_lb', slotMap, '{ 0 }');
    assert.equal(slot(), false);
    const ms = await lab.waitFor('slot element back', slot, 10_000);
    assert.ok(ms <= INTERVAL_S * 1000 + slack, `element repaired after ${ms} ms`);
    await lab.waitFor('clean again', () => clean() > before, 10_000);

    const gone = await damage('delete table', ['delete', 'table', 'ip', 'floatd_lb'], () => lab.ruleset('lb1') === '');
    assert.ok(gone <= INTERVAL_S * 1000 + slack, `table recreated after ${gone} ms`);
    assert.ok(repairs() >= 3, `floatd_lb_repairs_total ${repairs()}`);
    assert.equal(tally(lab.requests(30)).failed, undefined);
  },
);
