/**
 * Lab: a table changed from outside is healed. floatd (NAT, three real servers, periodic look
 * every 2 s through FLOATD_LB_RECONCILE_S) runs on lb1 with its `nft monitor`: a flushed table
 * and a deleted slot element are back within moments (the monitor saw another process change
 * floatd's table), requests reach all three servers again. Then the monitor is killed and the
 * table deleted at once: the periodic look puts it back within the interval, and the monitor is
 * restarted. The log has `lb.repaired` with its trigger; `floatd_lb_repairs_total` counts. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { LbLab, LB_VIP, RS_IPS, tally } from '../../src/lab/lb-lab.js';

const skip = labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'nft']) ?? false;
const INTERVAL_S = 2;

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

const repaired = (trigger: string): number => lab.log('lb1').split(`lb.repaired trigger=${trigger}`).length - 1;

test('a flushed table and a deleted slot element are put back at once (nft monitor)', { skip }, async () => {
  const n = repaired('monitor');
  nft('flush', 'table', 'ip', 'floatd_lb');
  assert.equal(healthy(), false, 'the flush is visible');
  const ms = await lab.waitFor('flush repaired', healthy, 10_000);
  assert.ok(ms < 2000, `repaired ${ms} ms after the flush (the periodic look is ${INTERVAL_S} s)`);
  await lab.waitFor("logged as the monitor's", () => repaired('monitor') > n, 2000);
  assert.deepEqual(tally(lab.requests(30)), { rs1: 10, rs2: 10, rs3: 10 }, 'all three serve again');

  const slotMap = /map (s\w+) \{/.exec(lab.ruleset('lb1'))?.[1];
  assert.ok(slotMap, lab.ruleset('lb1'));
  const slot = (): boolean => new RegExp(`0 : ${RS_IPS[0]!.replace(/\./g, '\\.')} \\. 80`).test(lab.ruleset('lb1'));
  await new Promise((r) => setTimeout(r, 1100)); // past the monitor's minimum gap between looks
  nft('delete', 'element', 'ip', 'floatd_lb', slotMap, '{ 0 }');
  assert.equal(slot(), false);
  const el = await lab.waitFor('slot element back', slot, 10_000);
  assert.ok(el < 2500, `element back after ${el} ms`);
});

test(
  'the monitor killed: the periodic look puts a deleted table back, and the monitor restarts',
  { skip },
  async () => {
    const clean = (): number => lab.log('lb1').split('lb.reconcile_clean').length;
    const c = clean();
    await lab.waitFor('a clean look (the back-off over)', () => clean() > c, 20_000);
    const pid = lab.lab.exec('lb1', ['pgrep', '-x', 'nft']).trim().split('\n')[0]!;
    assert.match(pid, /^\d+$/);
    const n = repaired('interval');
    lab.lab.exec('lb1', ['kill', pid]);
    nft('delete', 'table', 'ip', 'floatd_lb');
    assert.equal(lab.ruleset('lb1'), '');
    const ms = await lab.waitFor('table recreated', healthy, (INTERVAL_S + 5) * 1000);
    assert.ok(ms <= (INTERVAL_S + 2) * 1000, `recreated after ${ms} ms`);
    await lab.waitFor("logged as the interval's", () => repaired('interval') > n, 2000);
    assert.match(lab.log('lb1'), /lb\.monitor_failed/);
    await lab.waitFor('monitor restarted', () => /^\d+/.test(lab.lab.exec('lb1', ['pgrep', '-x', 'nft'], true)), 5000);
    assert.ok(repairs() >= 3, `floatd_lb_repairs_total ${repairs()}`);
    assert.equal(tally(lab.requests(30)).failed, undefined);
  },
);
