/**
 * Issue 15 items 1 and 2 on real kernels: a VRRP socket that cannot open (unicast_src_ip not on
 * the host yet, as at boot) and an interface that does not exist. Each instance must be FAULT
 * with its reason and hold no VIP; the first one recovers by itself once the address appears.
 * Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeedLab } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';
import { delayUs, msToUs, realClock } from '../../src/util/clock.js';

const skip = labUnavailable() ?? false;
const LATE_SRC = '192.0.2.250';

test(
  'unicast_src_ip not on the host: FAULT with the reason and no VIP; the address appears and it recovers (item 1)',
  { skip, timeout: 60_000 },
  async () => {
    const s = new SeedLab({
      transform: (h, text) => (h === 'lb1' ? text.replace(/unicast_src_ip \S+/, `unicast_src_ip ${LATE_SRC}`) : text),
    });
    try {
      s.startFloatd('lb1');
      await s.waitFor('lb1 reports the socket failure', () => /E_SOCKET_OPEN_FAILED/.test(s.log('lb1')), 10_000);
      await s.waitFor('lb1 enters FAULT', () => /Entering FAULT STATE/.test(s.log('lb1')), 5_000);
      await delayUs(realClock, msToUs(4000)); // longer than a down interval: it must not have gone MASTER
      assert.ok(!s.holds('lb1'), 'no VIP while the socket cannot open');
      assert.doesNotMatch(s.log('lb1'), /Entering MASTER STATE/);
      s.lab.exec('lb1', ['ip', 'addr', 'add', `${LATE_SRC}/24`, 'dev', 'eth1']);
      await s.waitFor('lb1 recovers and holds the VIP', () => s.holds('lb1'), 40_000);
    } finally {
      s.destroy();
    }
  },
);

test(
  'an interface that does not exist: FAULT, no VIP, no notify_master (item 2)',
  { skip, timeout: 60_000 },
  async () => {
    const s = new SeedLab({
      transform: (h, text) => (h === 'lb1' ? text.replace(/interface eth1/, 'interface eth9') : text),
    });
    try {
      s.startFloatd('lb1');
      await s.waitFor('lb1 reports the missing interface', () => /E_INTERFACE_MISSING/.test(s.log('lb1')), 10_000);
      await s.waitFor('lb1 enters FAULT', () => /Entering FAULT STATE/.test(s.log('lb1')), 5_000);
      await delayUs(realClock, msToUs(5000));
      assert.ok(!s.holds('lb1'));
      assert.doesNotMatch(s.log('lb1'), /Entering MASTER STATE/);
      assert.doesNotMatch(s.notifyLog('lb1'), /notify_master ran/);
    } finally {
      s.destroy();
    }
  },
);

test(
  'a reload while notify_master still runs: the MASTER keeps advertising, the BACKUP never takes over (item 7)',
  { skip, timeout: 90_000 },
  async () => {
    // lb1's notify_master records, then sleeps 8 s (a slow mail or API call in a real script).
    const s = new SeedLab({
      transform: (h, text, dir) =>
        h === 'lb1'
          ? text.replace(
              /notify_master (\S+)/,
              `notify_master "/bin/sh -c '$1; sleep 8'"`.replace('$1', `${dir}/master.sh`),
            )
          : text,
    });
    try {
      s.startFloatd('lb1');
      await s.waitFor('lb1 holds the VIP', () => s.holds('lb1'), 15_000);
      s.startFloatd('lb2');
      await s.waitFor('lb2 is up as BACKUP', () => /Entering BACKUP STATE/.test(s.log('lb2')), 15_000);
      // A fresh MASTER transition so notify_master runs now: hand lb1 nothing, just restart its script via reload of a
      // changed file while the first run may still sleep; then reload again at once.
      const conf = `${s.dir('lb1')}/keepalived.conf`;
      const { readFileSync, writeFileSync } = await import('node:fs');
      writeFileSync(conf, readFileSync(conf, 'utf8').replace('priority 200', 'priority 199'));
      s.signalFloatd('lb1', 'HUP');
      await s.waitFor('lb1 reloaded', () => /configuration reloaded|reload/.test(s.log('lb1')), 10_000);
      const t0 = realClock.wallMs();
      while (realClock.wallMs() - t0 < 8000) {
        assert.ok(!s.holds('lb2'), 'lb2 took the VIP during the reload: the MASTER stopped advertising');
        await delayUs(realClock, msToUs(100));
      }
      assert.ok(s.holds('lb1'));
    } finally {
      s.destroy();
    }
  },
);
