/**
 * End to end on real kernels: the seed's two keepalived.conf files (addresses mapped into
 * TEST-NET, notify_master pointed at a recorder, a virtual_ipaddress added) run by two floatd
 * daemons in network + PID namespaces, with real nginx and the seed's `pidof nginx` check.
 * Needs root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeedLab } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';

const skip = labUnavailable() ?? false;

let s: SeedLab;

const waitFor = (what: string, cond: () => boolean, ms: number): Promise<number> => s.waitFor(what, cond, ms);

before(() => {
  if (skip) return;
  s = new SeedLab();
  s.startFloatd('lb1');
  s.startFloatd('lb2');
});

after(() => {
  if (!skip) s.destroy();
});

test(
  'seed config: lb1 becomes MASTER; nginx stop moves the VIP to lb2 with notify_master; lb1 preempts back',
  { skip, timeout: 60_000 },
  async () => {
    await waitFor('lb1 holds the VIP', () => s.holds('lb1') && !s.holds('lb2'), 10_000);
    assert.match(s.served(), /Droplet: lb1/);

    s.stopNginx('lb1');
    const gap = await waitFor(
      'lb2 holds the VIP after nginx stops on lb1',
      () => s.holds('lb2') && !s.holds('lb1'),
      10_000,
    );
    await waitFor('the client is served by lb2', () => /Droplet: lb2/.test(s.served()), 5_000);
    await waitFor('notify_master ran on lb2', () => /notify_master ran on lb2/.test(s.notifyLog('lb2')), 5_000);
    assert.ok(gap < 8000, `failover took ${gap} ms`);

    s.startNginx('lb1');
    await waitFor('lb1 preempts once nginx is back', () => s.holds('lb1') && !s.holds('lb2'), 12_000);
    await waitFor('the client is served by lb1 again', () => /Droplet: lb1/.test(s.served()), 5_000);
  },
);

test(
  'SIGTERM on the MASTER: priority 0 hands over within one advert interval + skew',
  { skip, timeout: 30_000 },
  async () => {
    await waitFor('lb1 holds the VIP', () => s.holds('lb1'), 10_000);
    s.signalFloatd('lb1', 'TERM');
    const t = await waitFor('lb2 holds the VIP after SIGTERM on lb1', () => s.holds('lb2') && !s.holds('lb1'), 5_000);
    // Skew for priority 100 in VRRPv2 is 0.61 s; allow scheduling and `ip` latency on top.
    assert.ok(t < 2000, `switchover took ${t} ms`);
    await waitFor('the client is served by lb2', () => /Droplet: lb2/.test(s.served()), 3_000);
    await waitFor('the stopped daemon removed its pid file', () => !s.floatdRunning('lb1'), 5_000);
  },
);

test(
  'SIGKILL then restart: the restarted host removes its stale VIP and takes its role back',
  { skip, timeout: 40_000 },
  async () => {
    s.startFloatd('lb1');
    await waitFor('lb1 preempts after restart', () => s.holds('lb1') && !s.holds('lb2'), 12_000);
    s.signalFloatd('lb1', 'KILL');
    await waitFor('lb2 takes over after the crash', () => s.holds('lb2'), 8_000);
    assert.equal(s.holds('lb1'), true, 'a crashed daemon leaves its VIP behind (what the restart must clean)');
    s.startFloatd('lb1');
    await waitFor('lb1 holds the VIP again, alone', () => s.holds('lb1') && !s.holds('lb2'), 12_000);
  },
);

test(
  'SIGHUP: a MASTER whose instance did not change keeps the VIP; a bad file is refused and changes nothing',
  { skip, timeout: 30_000 },
  async () => {
    await waitFor('lb1 holds the VIP', () => s.holds('lb1') && !s.holds('lb2'), 12_000);
    const conf = join(s.dir('lb1'), 'keepalived.conf');
    const good = readFileSync(conf, 'utf8');
    const masterRuns = (): number => (s.notifyLog('lb1').match(/notify_master ran on lb1/g) ?? []).length;
    const before = masterRuns();
    writeFileSync(conf, `${good}\nvrrp_script unused_check {\n    script "true"\n}\n`);
    s.signalFloatd('lb1', 'HUP');
    for (let i = 0; i < 40; i++) {
      assert.ok(s.holds('lb1') && !s.holds('lb2'), 'the VIP stayed on lb1 through the reload');
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor('the reload is logged', () => /reloaded/.test(s.log('lb1')), 3_000);
    const afterReload = s.log('lb1').split('Reloading configuration').at(-1) ?? '';
    assert.match(
      afterReload,
      /Entering MASTER STATE \(was MASTER before reload\)/,
      'the instance itself stayed MASTER',
    );
    assert.doesNotMatch(afterReload, /Entering BACKUP STATE/);
    // A reload that keeps MASTER does not re-run notify_master (issue 15 item 25).
    assert.match(afterReload, /still MASTER after the reload: notify scripts not run again/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(masterRuns(), before, 'notify_master did not run again');
    writeFileSync(conf, `${good}\nvrrp_instance broken {\n    virtual_router_id 999\n}\n`);
    s.signalFloatd('lb1', 'HUP');
    await waitFor('the bad file is refused', () => /reload refused/.test(s.log('lb1')), 3_000);
    assert.ok(s.holds('lb1') && !s.holds('lb2'));
    writeFileSync(conf, good);
  },
);

test(
  "link watch: lb1's cable pulled puts it in FAULT (VIP released) and lb2 takes over; plugged back, lb1 recovers",
  { skip, timeout: 40_000 },
  async () => {
    await waitFor('lb1 holds the VIP', () => s.holds('lb1') && !s.holds('lb2'), 12_000);
    s.lab.setLink('lb1', false);
    await waitFor(
      'lb1 enters FAULT and drops the VIP',
      () => /Entering FAULT STATE/.test(s.log('lb1').split('reload refused').at(-1) ?? '') && !s.holds('lb1'),
      5_000,
    );
    await waitFor('lb2 takes over', () => s.holds('lb2'), 8_000);
    s.lab.setLink('lb1', true);
    await waitFor('lb1 recovers and preempts', () => s.holds('lb1') && !s.holds('lb2'), 15_000);
  },
);
