/**
 * The seed tutorial's keepalived.conf on the lab: only addresses, the notify_master script and
 * a virtual_ipaddress change (the tutorial moves its IP through the cloud API instead).
 */
export const SEED_MASTER_IP = '10.134.23.164';
export const SEED_BACKUP_IP = '10.134.4.220';

export function mapSeed(text: string, ips: Record<string, string>, notify: string, vip: string): string {
  let t = text;
  for (const [from, to] of Object.entries(ips)) t = t.split(from).join(to);
  t = t.replace('/etc/keepalived/master.sh', notify);
  const at = t.lastIndexOf('}');
  return `${t.slice(0, at)}    virtual_ipaddress {\n        ${vip}/24\n    }\n${t.slice(at)}`;
}
