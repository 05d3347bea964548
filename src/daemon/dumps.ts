/**
 * keepalived's SIGUSR2 statistics file format (`keepalived.stats`), so scripts written for
 * keepalived's dump keep working, built from the status snapshot.
 */
import type { DaemonStatus } from './status-types.js';

/** Sum of drop counters whose names fall in one of keepalived's stats lines. */
function sum(dropped: Record<string, number>, ...names: string[]): number {
  return names.reduce((n, k) => n + (dropped[k] ?? 0), 0);
}

export function formatStats(status: DaemonStatus): string {
  const out: string[] = [];
  for (const i of status.instances) {
    const c = i.counters;
    const d = c.dropped;
    out.push(
      `VRRP Instance: ${i.name}`,
      '  Advertisements:',
      `    Received: ${c.advertsReceived}`,
      `    Sent: ${c.advertsSent}`,
      `  Became master: ${c.becameMaster}`,
      `  Released master: ${c.releasedMaster}`,
      '  Packet Errors:',
      `    Length: ${sum(d, 'packet_len_err', 'truncated')}`,
      `    TTL: ${sum(d, 'ip_ttl_err')}`,
      `    Invalid Type: ${sum(d, 'invalid_type')}`,
      `    Advertisement Interval: ${sum(d, 'interval_mismatch')}`,
      `    Address List: ${sum(d, 'addr_list_err')}`,
      '  Authentication Errors:',
      `    Invalid Type: ${sum(d, 'invalid_authtype')}`,
      `    Type Mismatch: ${sum(d, 'authtype_mismatch')}`,
      `    Failure: ${sum(d, 'auth_failure')}`,
      '  Priority Zero:',
      `    Received: ${c.priorityZeroReceived}`,
      `    Sent: ${c.priorityZeroSent}`,
    );
  }
  return out.join('\n') + '\n';
}
