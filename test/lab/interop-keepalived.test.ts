/**
 * Interop with Debian's keepalived 2.2.7 on the seed's config (VRRPv2, unicast, PASS auth):
 * a mixed pair fails over and back in both arrangements, and keepalived logs no complaint
 * about floatd's packets. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeedLab, SEED_VIP, type Server } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';

const skip = labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'keepalived']) ?? false;

async function waitFor(s: SeedLab, what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for: ${what}\n${s.log('lb1').slice(-1500)}\n${s.log('lb2').slice(-1500)}`);
}

/** keepalived's receive-check complaints (digest §1.6) that would mean floatd's packets are wrong. */
const COMPLAINT = /invalid|mismatch|wrong version|unexpected|not present|too (short|long)|checksum/i;

/** VRRPv3 over multicast at 0.5 s adverts: the other wire format keepalived users run. */
function v3Multicast(h: Server): string {
  return `vrrp_script chk_nginx {
    script "pidof nginx"
    interval 1
}
vrrp_instance VI_3 {
    interface eth1
    state ${h === 'lb1' ? 'MASTER' : 'BACKUP'}
    priority ${h === 'lb1' ? 200 : 100}
    virtual_router_id 34
    version 3
    advert_int 0.5
    track_script {
        chk_nginx
    }
    virtual_ipaddress {
        ${SEED_VIP}/24
    }
}
`;
}

const MODES = [
  ['seed config, VRRPv2 unicast + PASS', undefined],
  ['VRRPv3 multicast', v3Multicast],
] as const;

for (const [mode, configText] of MODES)
  for (const floatdOn of ['lb1', 'lb2'] as const) {
    const kaOn: Server = floatdOn === 'lb1' ? 'lb2' : 'lb1';
    test(
      `${mode}: floatd on ${floatdOn} and keepalived on ${kaOn} fail over and back`,
      { skip, timeout: 60_000 },
      async () => {
        const s = new SeedLab(configText ? { configText } : {});
        try {
          s.startFloatd(floatdOn);
          s.startKeepalived(kaOn);
          await waitFor(s, 'lb1 (priority 200) holds the VIP', () => s.holds('lb1') && !s.holds('lb2'), 15_000);
          s.stopNginx('lb1');
          await waitFor(s, 'lb2 takes over', () => s.holds('lb2') && !s.holds('lb1'), 10_000);
          await waitFor(s, 'the client is served by lb2', () => /lb2/.test(s.served()), 5_000);
          s.startNginx('lb1');
          await waitFor(s, 'lb1 preempts back', () => s.holds('lb1') && !s.holds('lb2'), 15_000);
          await waitFor(s, 'the client is served by lb1', () => /lb1/.test(s.served()), 5_000);
          const kaLog = s.keepalivedLog(kaOn);
          assert.match(kaLog, /Entering (MASTER|BACKUP) STATE/, 'keepalived ran');
          const complaints = kaLog.split('\n').filter((l) => COMPLAINT.test(l) && !/script|security/i.test(l));
          assert.deepEqual(complaints, [], "keepalived complained about floatd's adverts");
        } finally {
          s.destroy();
        }
      },
    );
  }
