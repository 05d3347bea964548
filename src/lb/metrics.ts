/**
 * The load balancer's Prometheus metrics, registered beside the VRRP ones. keepalived_exporter's
 * LVS names and labels (`addr`, `proto`) where the meaning matches: packets and bytes towards a
 * real server (in) and back (out), and connections, all from nft counters read at scrape time
 * (one `nft -j list table` per scrape, nothing on a timer). A virtual server's figures are the
 * sums over its real servers (a server shared by two virtual servers counts in both).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { rsKey } from './membership.js';
import { canonAddr } from './nft-plan.js';
import { runningLb } from './hooks.js';
import type { RsCounters } from './backend.js';

const FIELDS: [string, keyof RsCounters][] = [
  ['in_packets', 'inPackets'],
  ['out_packets', 'outPackets'],
  ['in_bytes', 'inBytes'],
  ['out_bytes', 'outBytes'],
  ['conn', 'conns'],
];

export function registerLbMetrics(registers: Registry[]): void {
  let scrape: Promise<Map<string, RsCounters>> | undefined;
  // One nft read per scrape, shared by the ten families below.
  const counters = (): Promise<Map<string, RsCounters>> => {
    const lb = runningLb();
    if (!lb?.active) return Promise.resolve(new Map());
    scrape ??= lb
      .counters()
      .catch(() => new Map<string, RsCounters>())
      .finally(() => {
        queueMicrotask(() => {
          scrape = undefined;
        });
      });
    return scrape;
  };
  for (const [suffix, field] of FIELDS) {
    for (const level of ['vip', 'rs'] as const) {
      new Gauge<'addr' | 'proto'>({
        name: `keepalived_lvs_${level}_${suffix}`,
        help:
          `${level === 'vip' ? 'Virtual server' : 'Real server'} ${suffix.replace('_', ' ')} (nft counters; a ` +
          'counter that only grows)',
        labelNames: ['addr', 'proto'],
        registers,
        async collect() {
          this.reset();
          const lb = runningLb();
          if (!lb?.active) return;
          const c = await counters();
          for (const v of lb.status().virtualServers) {
            let sum = 0;
            for (const r of v.realServers) {
              // Keyed as the backend reports them: the server's family and nft's address text.
              const fam = r.address.includes(':') ? 'ip6' : 'ip';
              const x = c.get(`${fam} ${canonAddr(r.address)} ${r.port}`)?.[field] ?? 0;
              sum += x;
              if (level === 'rs') this.set({ addr: rsKey(r), proto: v.protocol }, x);
            }
            if (level === 'vip') this.set({ addr: v.key.replace(/\/\w+$/, ''), proto: v.protocol }, sum);
          }
        },
      });
    }
  }
  new Gauge<'vs' | 'addr'>({
    name: 'floatd_lb_real_server_up',
    help: 'Real server in rotation by its checks (1) or down (0); 0 on a server you expect up means its checks fail',
    labelNames: ['vs', 'addr'],
    registers,
    collect() {
      this.reset();
      for (const v of runningLb()?.status().virtualServers ?? [])
        for (const r of v.realServers) this.set({ vs: v.key, addr: rsKey(r) }, r.alive ? 1 : 0);
    },
  });
  new Counter({
    name: 'floatd_lb_repairs_total',
    help: "Times the kernel's load-balancer tables had been changed from outside and were put back",
    registers,
    collect() {
      this.reset();
      this.inc(runningLb()?.repairs ?? 0);
    },
  });
  new Gauge<'vs'>({
    name: 'floatd_lb_quorum_up',
    help: 'Virtual server quorum (1 held; 0 lost: the sorry server or the remaining servers serve)',
    labelNames: ['vs'],
    registers,
    collect() {
      this.reset();
      for (const v of runningLb()?.status().virtualServers ?? []) this.set({ vs: v.key }, v.quorumUp ? 1 : 0);
    },
  });
}
