/** A realistic DaemonStatus (the seed's two-node pair after one failover), for API, CLI and browser tests. */
import type { DaemonStatus, TransitionRecord } from '../../../src/model/status-types.js';

export function sampleStatus(now = new Date()): DaemonStatus {
  const at = (s: number): string => new Date(now.getTime() - s * 1000).toISOString();
  return {
    version: '0.1.0', hostname: 'lb2', routerId: 'lb2', pid: 4242, startedAt: at(600), configFile: '/etc/keepalived/keepalived.conf', configLoadedAt: at(600),
    instances: [{
      name: 'VI_1', interface: 'eth1', vrid: 33, version: 2, family: 4, state: 'MASTER', since: at(30),
      lastReason: '(VI_1) Backup received priority 0 advertisement', basePriority: 100, effectivePriority: 100, advertIntervalCs: 100, unicast: true,
      master: { address: '192.0.2.12', priority: 100 },
      vips: [{ address: '192.0.2.100/24', dev: 'eth1', present: true }],
      peers: [{ address: '192.0.2.11', lastHeard: at(31), priority: 0, advertIntervalCs: 100 }],
      trackers: [
        { name: 'chk_nginx', type: 'script', status: 'up', weight: 0, reverse: false, lastResult: 'exit 0', lastDurationMs: 3.2, lastRun: at(1) },
        { name: 'eth1', type: 'interface', status: 'up', weight: 0 },
      ],
      floatingIps: ['web'],
      counters: { advertsSent: 30, advertsReceived: 570, becameMaster: 1, releasedMaster: 0, priorityZeroSent: 0, priorityZeroReceived: 1, garpsSent: 5, dropped: { ip_ttl_err: 2, auth_failure: 1, truncated: 1 } },
    }, {
      name: 'VI_6', interface: 'eth1', vrid: 34, version: 3, family: 6, state: 'FAULT', since: at(120),
      lastReason: '(VI_6) Entering FAULT STATE (chk_api)', basePriority: 100, effectivePriority: 90, advertIntervalCs: 100, unicast: false,
      vips: [{ address: '2001:db8::100/64', dev: 'eth1', present: false }],
      peers: [],
      trackers: [{ name: 'chk_api', type: 'http', status: 'down', weight: -10, lastResult: 'HTTP 503', lastDurationMs: 12, lastRun: at(2) }],
      floatingIps: [],
      counters: { advertsSent: 0, advertsReceived: 0, becameMaster: 0, releasedMaster: 0, priorityZeroSent: 0, priorityZeroReceived: 0, garpsSent: 0, dropped: {} },
    }],
    syncGroups: [],
    floatingIps: [{ name: 'web', provider: 'digitalocean', address: '203.0.113.10', self: '1001', holder: '1001', desired: 'hold', phase: 'held', lastResult: 'assigned and verified', lastChange: at(28), calls: 4, callsThisFailover: 4, lastConvergeMs: 1830, errors: 1, lastLatencyMs: 210 }],
    transitions: [
      transition(at(600), 'VI_1', 'INIT', 'BACKUP', 'init', '(VI_1) Entering BACKUP STATE (init)', 100),
      transition(at(120), 'VI_6', 'BACKUP', 'FAULT', 'fault', '(VI_6) Entering FAULT STATE (chk_api)', 90),
      transition(at(30), 'VI_1', 'BACKUP', 'MASTER', 'priority_zero', '(VI_1) Backup received priority 0 advertisement', 100),
    ],
    notify: { runs: 3, failures: 1 },
  };
}

export function transition(time: string, instance: string, from: TransitionRecord['from'], to: TransitionRecord['to'], reasonKind: string, reason: string, priority: number): TransitionRecord {
  return { time, instance, kind: 'INSTANCE', from, to, reasonKind, reason, priority };
}
