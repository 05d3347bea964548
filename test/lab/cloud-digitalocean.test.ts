/**
 * Issue 6 end to end: the seed's two hosts run floatd with the seed's config plus a
 * `floating_ip` block, against the DigitalOcean emulator running as its own process on the
 * lab's client host (API and one metadata service per droplet). nginx stops on lb1 → the
 * reserved IP moves to lb2's droplet; nginx returns → back to lb1; with 429, 500 and a hung
 * request injected the address still converges, in a bounded number of calls; drift is
 * re-asserted; the token never shows in a log or a dump. Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SeedLab } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { DoEmulator, DO_FIP as FIP, seedFloatingIp } from '../../src/lab/do-emulator.js';

const skip = labUnavailable() ?? false;
const TOKEN = 'dop_v1_lab_0123456789abcdef';
let s: SeedLab;
let emu: DoEmulator;

const holder = (): string | null | undefined => emu.holder();
const waitFor = (what: string, cond: () => boolean, ms: number): Promise<number> => s.waitFor(what, cond, ms);

before(async () => {
  if (skip) return;
  s = new SeedLab();
  emu = await DoEmulator.start(s.lab, ['lb1', 'lb2'], TOKEN);
  seedFloatingIp(s, emu);
  // lb2 starts once lb1 is MASTER: started together on a loaded machine, lb2's down timer can
  // expire before lb1's first advert, and a MASTER, however brief, rightly calls the API.
  s.startFloatd('lb1');
  await waitFor('lb1 holds the VIP', () => s.holds('lb1'), 15_000);
  s.startFloatd('lb2');
  await s.waitFor('lb2 is up as BACKUP', () => /Entering BACKUP STATE/.test(s.log('lb2')), 15_000);
});

after(() => {
  emu?.stop();
  if (!skip) s.destroy();
});

test(
  'the MASTER claims the reserved IP: assigned and verified, as the emulator and the status both say',
  { skip, timeout: 30_000 },
  async () => {
    await waitFor('lb1 holds the VIP', () => s.holds('lb1'), 10_000);
    await waitFor('the emulator shows the reserved IP on droplet 101', () => holder() === '101', 10_000);
    await waitFor('lb1 reports it held', () => s.status('lb1').floatingIps[0]?.phase === 'held', 5_000);
    const f = s.status('lb1').floatingIps[0]!;
    assert.equal(f.self, '101');
    assert.equal(f.holder, '101');
    assert.match(f.lastResult ?? '', /assigned and verified/);
    assert.equal(f.lastFailoverCalls, 4, 'whoami, holder, assign, verify');
    const b = s.status('lb2').floatingIps[0]!;
    assert.equal(b.desired, 'release');
    assert.equal(b.calls, 0, 'a BACKUP never calls the API');
  },
);

test(
  "nginx stops on lb1 → the reserved IP moves to lb2's droplet; nginx returns → back to lb1",
  { skip, timeout: 40_000 },
  async () => {
    s.stopNginx('lb1');
    await waitFor('lb2 holds the VIP', () => s.holds('lb2'), 10_000);
    const t = await waitFor('the emulator shows droplet 102', () => holder() === '102', 10_000);
    assert.ok(t < 5000, `assign took ${t} ms after the VRRP move`);
    // docs/dashboard-cloud.png is this: lb2's dashboard once it holds the reserved IP.
    if (process.env.FLOATD_SCREENSHOT) {
      await waitFor('lb2 reports it held', () => s.status('lb2').floatingIps[0]?.phase === 'held', 5_000);
      const { screenshotDashboard } = await import('../browser/browser.js');
      await screenshotDashboard(s.status('lb2'), process.env.FLOATD_SCREENSHOT.replace(/\.png$/, '-cloud.png'));
    }
    s.startNginx('lb1');
    await waitFor('lb1 holds the VIP again', () => s.holds('lb1') && !s.holds('lb2'), 15_000);
    await waitFor('the emulator shows droplet 101 again', () => holder() === '101', 10_000);
  },
);

test(
  "drift: the address moved behind floatd's back is re-asserted at the next reconcile",
  { skip, timeout: 30_000 },
  async () => {
    await waitFor('lb1 reports it held', () => s.status('lb1').floatingIps[0]?.phase === 'held', 5_000);
    const logged = s.log('lb1').length;
    emu.control('POST', '/holder', { address: FIP, instance: 102 });
    assert.equal(holder(), '102');
    await waitFor('lb1 re-asserts the reserved IP', () => holder() === '101', 8_000);
    assert.match(s.log('lb1').slice(logged), /the address drifted to 102; re-asserting/);
  },
);

test(
  'with 429, 500 and a hung request injected, the failover still converges within the call budget',
  { skip, timeout: 60_000 },
  async () => {
    const before = emu.saved()!.requests;
    emu.control('POST', '/faults', {
      kind: 'status',
      status: 429,
      retryAfterS: 1,
      times: 1,
      match: 'POST /v2/reserved_ips',
    });
    emu.control('POST', '/faults', { kind: 'status', status: 500, times: 2, match: 'POST /v2/reserved_ips' });
    emu.control('POST', '/faults', { kind: 'hang', holdMs: 3000, times: 1, match: 'GET /v2/reserved_ips' });
    s.stopNginx('lb1');
    await waitFor('lb2 holds the VIP', () => s.holds('lb2'), 10_000);
    await waitFor('the emulator shows droplet 102 despite the faults', () => holder() === '102', 30_000);
    await waitFor('lb2 reports it held', () => s.status('lb2').floatingIps[0]?.phase === 'held', 5_000);
    const f = s.status('lb2').floatingIps[0]!;
    const calls = emu.saved()!.requests - before;
    assert.ok((f.lastFailoverCalls ?? 99) <= 10, `${f.lastFailoverCalls} calls in one failover`);
    assert.ok(calls <= 16, `${calls} API requests in all (action polls included)`);
    assert.match(s.log('lb2'), /cloud\.retry/);
    s.startNginx('lb1');
    await waitFor('back on lb1', () => holder() === '101', 20_000);
  },
);

test('the token never appears in logs or dumps', { skip }, () => {
  for (const h of ['lb1', 'lb2'] as const) {
    assert.ok(!s.log(h).includes(TOKEN), `${h}'s log shows the token`);
    assert.ok(!JSON.stringify(s.status(h)).includes(TOKEN), `${h}'s dump shows the token`);
  }
});
