/**
 * `floatd check -f FILE` (and keepalived's `-t`): parse and validate, print what was understood
 * and every diagnostic. Exit 0 when the configuration is usable, 1 when it is not.
 */
import { loadConfig, formatDiagnostic, type FloatdConfig } from '../config/index.js';
import { formatHint, migrationHints } from './migrate.js';
import { describeVirtualServers } from '../lb/status.js';

export interface CheckOptions {
  file: string;
  json?: boolean;
  configIds?: string[];
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

export function summarise(cfg: FloatdConfig): string {
  const lines: string[] = [];
  for (const i of cfg.instances) {
    const peers = i.unicastPeers.length
      ? `unicast ${i.unicastSrcIp ?? '(interface address)'} → ${i.unicastPeers.map((p) => p.address).join(', ')}`
      : `multicast ${i.mcastGroup ?? (i.family === 4 ? cfg.global.mcastGroup4 : cfg.global.mcastGroup6)}`;
    const preempt = i.preempt ? 'preempt' : 'nopreempt';
    const delay = i.preemptDelayMs ? ` (delay ${i.preemptDelayMs / 1000} s)` : '';
    lines.push(
      `vrrp_instance ${i.name}: ${i.initialState} priority ${i.priority}, VRID ${i.vrid} on ${i.interface}, ` +
        `VRRPv${i.version} IPv${i.family}, advert ${i.advertIntervalCs / 100} s, ${preempt}${delay}`,
    );
    lines.push(`  ${peers}; auth ${i.auth.type}`);
    lines.push(
      `  VIPs: ${i.vips.map((v) => `${v.address}/${v.prefix}${v.dev ? ` dev ${v.dev}` : ''}`).join(', ') || '(none)'}`,
    );
    const tracks = [
      ...i.trackScripts.map((t) => `script ${t.name}${t.weight ? ` weight ${t.weight}` : ' (fault)'}`),
      ...i.trackInterfaces.map((t) => `interface ${t.name}${t.weight ? ` weight ${t.weight}` : ' (fault)'}`),
    ];
    lines.push(`  tracking: ${tracks.join(', ') || '(interface only)'}`);
    const n = Object.entries(i.notify).map(([k, s]) => `${k}: ${s.argv.join(' ')}`);
    if (n.length) lines.push(`  notify: ${n.join('; ')}`);
    if (i.floatingIps.length) lines.push(`  floating IPs: ${i.floatingIps.join(', ')}`);
  }
  for (const s of cfg.scripts) {
    const what =
      s.kind === 'script'
        ? `runs ${JSON.stringify(s.argv?.join(' '))}`
        : s.kind === 'http'
          ? `GET ${s.url}`
          : `connects to ${s.host}:${s.port}`;
    lines.push(
      `vrrp_script ${s.name}: ${what} every ${s.intervalMs / 1000} s ` +
        `(timeout ${s.timeoutMs / 1000} s, rise ${s.rise}, fall ${s.fall}, weight ${s.weight})`,
    );
  }
  for (const g of cfg.syncGroups) lines.push(`vrrp_sync_group ${g.name}: ${g.members.join(', ')}`);
  for (const f of cfg.floatingIps) {
    const token = f.tokenFile
      ? `file ${f.tokenFile}`
      : f.tokenEnv
        ? `env ${f.tokenEnv}`
        : "the provider's default credential chain";
    const peers = f.peers ? `, peers ${f.peers.join(' ')}` : '';
    lines.push(`floating_ip ${f.name}: ${f.provider} ${f.address}, token from ${token}${peers}`);
  }
  for (const w of cfg.webhooks) {
    const only = w.instances ? ` for ${w.instances.join(', ')}` : '';
    lines.push(`notify_webhook ${w.name}: POST ${w.url.replace(/\?.*$/, '')}${only}`);
  }
  lines.push(...describeVirtualServers(cfg.virtualServers ?? []));
  return lines.join('\n');
}

export async function runCheck(o: CheckOptions): Promise<number> {
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  const r = await loadConfig(o.file, { configIds: o.configIds });
  if (o.json) {
    const migration = r.config
      ? migrationHints(r.config).map((h) => ({
          instance: h.instance.name,
          script: h.script,
          ...h.call,
          text: formatHint(h),
        }))
      : [];
    out.write(
      JSON.stringify({ usable: r.config !== null, config: r.config, diagnostics: r.diagnostics, migration }, null, 2) +
        '\n',
    );
    return r.config ? 0 : 1;
  }
  for (const d of r.diagnostics) err.write(formatDiagnostic(d) + '\n');
  if (!r.config) {
    err.write(`${o.file}: not usable (${r.diagnostics.filter((d) => d.severity === 'error').length} error(s))\n`);
    return 1;
  }
  out.write(summarise(r.config) + '\n');
  // Migration help: a notify script that moves a cloud floating IP, and the block that replaces it.
  for (const h of migrationHints(r.config)) out.write(formatHint(h) + '\n');
  out.write(`${o.file}: configuration OK\n`);
  return 0;
}
