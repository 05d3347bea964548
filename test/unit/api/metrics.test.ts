import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../../src/api/metrics.js';
import { sampleStatus } from './status-fixture.js';

/** The value of one sample in Prometheus text, found by name and exact label set. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '')
      .split(/,(?=[a-z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

test('keepalived_exporter names and labels: state per VIP, counters per instance', async () => {
  const m = createMetrics(() => sampleStatus(), { processMetrics: false });
  const t = await m.render();
  const inst = { iname: 'VI_1', intf: 'eth1', vrid: '33' };
  assert.equal(sample(t, 'keepalived_up'), 1);
  assert.equal(sample(t, 'keepalived_vrrp_state', { ...inst, ip_address: '192.0.2.100' }), 2);
  assert.equal(
    sample(t, 'keepalived_vrrp_state', { iname: 'VI_6', intf: 'eth1', vrid: '34', ip_address: '2001:db8::100' }),
    3,
  );
  assert.equal(sample(t, 'keepalived_advertisements_received_total', inst), 570);
  assert.equal(sample(t, 'keepalived_advertisements_sent_total', inst), 30);
  assert.equal(sample(t, 'keepalived_become_master_total', inst), 1);
  assert.equal(sample(t, 'keepalived_priority_zero_received_total', inst), 1);
  assert.equal(sample(t, 'keepalived_ip_ttl_errors_total', inst), 2);
  assert.equal(sample(t, 'keepalived_authentication_failure_total', inst), 1);
  assert.equal(sample(t, 'keepalived_packet_length_errors_total', inst), 1);
  assert.equal(sample(t, 'keepalived_script_status', { name: 'chk_nginx' }), 1);
  assert.equal(sample(t, 'keepalived_script_status', { name: 'chk_api' }), 0);
  assert.match(t, /# TYPE keepalived_advertisements_received_total counter/);
  assert.match(t, /# TYPE keepalived_vrrp_state gauge/);
});

test('floatd metrics: drops by reason, transitions by reason, trackers, cloud, notify', async () => {
  const m = createMetrics(() => sampleStatus(), { processMetrics: false });
  const t = await m.render();
  assert.equal(
    sample(t, 'floatd_adverts_dropped_total', { iname: 'VI_1', intf: 'eth1', vrid: '33', reason: 'ip_ttl_err' }),
    2,
  );
  assert.equal(
    sample(t, 'floatd_transitions_total', { iname: 'VI_1', kind: 'INSTANCE', to: 'MASTER', reason: 'priority_zero' }),
    1,
  );
  assert.equal(sample(t, 'floatd_vrrp_instance_state', { iname: 'VI_6', state: 'FAULT' }), 1);
  assert.equal(sample(t, 'floatd_vrrp_instance_state', { iname: 'VI_6', state: 'MASTER' }), 0);
  assert.equal(sample(t, 'floatd_vrrp_priority', { iname: 'VI_6', intf: 'eth1', vrid: '34', kind: 'effective' }), 90);
  assert.equal(sample(t, 'floatd_tracker_up', { iname: 'VI_6', tracker: 'chk_api', type: 'http' }), 0);
  assert.equal(sample(t, 'floatd_check_last_duration_seconds', { tracker: 'chk_api', type: 'http' }), 0.012);
  assert.equal(sample(t, 'floatd_gratuitous_arps_sent_total', { iname: 'VI_1', intf: 'eth1', vrid: '33' }), 5);
  const fip = { name: 'web', provider: 'digitalocean', address: '203.0.113.10' };
  assert.equal(sample(t, 'floatd_cloud_api_calls_total', fip), 4);
  assert.equal(sample(t, 'floatd_cloud_api_errors_total', fip), 1);
  assert.equal(sample(t, 'floatd_cloud_converge_seconds', fip), 1.83);
  assert.equal(sample(t, 'floatd_cloud_ip_held', fip), 1);
  assert.equal(sample(t, 'floatd_cloud_contested', fip), 0);
  assert.equal(sample(t, 'floatd_notify_failures_total'), 1);
  const age = sample(t, 'floatd_peer_last_heard_seconds', { iname: 'VI_1', peer: '192.0.2.11' });
  assert.ok(age !== undefined && age > 0);
});

test("each scrape reads a fresh snapshot; vanished instances' samples go; process metrics on by default", async () => {
  let calls = 0;
  let st = sampleStatus();
  const m = createMetrics(() => {
    calls++;
    return st;
  });
  const first = await m.render();
  assert.equal(calls, 1);
  assert.match(first, /^process_cpu_user_seconds_total /m);
  st = {
    ...st,
    instances: st.instances.filter((i) => i.name === 'VI_1'),
    transitions: [],
    transitionCounts: [{ instance: 'VI_1', kind: 'INSTANCE', to: 'MASTER', reasonKind: 'priority_zero', count: 7 }],
  };
  const second = await m.render();
  assert.equal(calls, 2);
  assert.equal(
    sample(second, 'keepalived_vrrp_state', { iname: 'VI_6', intf: 'eth1', vrid: '34', ip_address: '2001:db8::100' }),
    undefined,
  );
  assert.equal(
    sample(second, 'floatd_transitions_total', {
      iname: 'VI_1',
      kind: 'INSTANCE',
      to: 'MASTER',
      reason: 'priority_zero',
    }),
    7,
  );
});

test('floatd_vrrp_state_reason: 1 for the reason kind of the current state (quorum_denied while denied)', async () => {
  const s = sampleStatus();
  Object.assign(s.instances[0]!, { state: 'BACKUP', reasonKind: 'quorum_denied' });
  const t = await createMetrics(() => s, { processMetrics: false }).render();
  const inst = { iname: 'VI_1', intf: 'eth1', vrid: '33' };
  assert.equal(sample(t, 'floatd_vrrp_state_reason', { ...inst, reason: 'quorum_denied' }), 1);
  assert.equal(sample(t, 'floatd_vrrp_state_reason', { ...inst, reason: 'priority_zero' }), undefined);
});
