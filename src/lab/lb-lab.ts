/**
 * The classic keepalived LVS-NAT layout on a lab: one or two load balancers (lb1, lb2) running
 * floatd, three real servers (rs1..rs3) running nginx, a client. One bridge carries two
 * subnets: clients and the virtual address on 192.0.2.0/24, real servers on 203.0.113.0/24
 * with their default route through an internal VIP (203.0.113.254) that the VRRP instance moves
 * with the public one, so replies return through whichever balancer is MASTER.
 * Used by test/lab/lb-*.test.ts and bench/lb.ts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from './netns-lab.js';
import { signalFloatd, spawnFloatd } from './daemons.js';
import { delayUs, msToUs, realClock, US_PER_MS } from '../util/clock.js';

export const LB_VIP = '192.0.2.100';
export const LB_INTERNAL_VIP = '203.0.113.254';
export const RS_IPS = ['203.0.113.11', '203.0.113.12', '203.0.113.13'];

/** nginx answering its host name on :80 (and "sorry" on :8080), one worker, no logs. */
function rsNginx(dir: string, name: string): string {
  return `daemon on;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server { listen 80; location / { return 200 "${name}"; } }
  server { listen 8080; location / { return 200 "sorry"; } }
}
`;
}

/** A vrrp_instance holding both VIPs, for lb1 (priority 150) or lb2 (100). */
export function lbVrrp(lab: Lab, h: 'lb1' | 'lb2', pair: boolean): string {
  const peer = h === 'lb1' ? 'lb2' : 'lb1';
  return `vrrp_instance LB {
  interface eth1
  state ${h === 'lb1' ? 'MASTER' : 'BACKUP'}
  virtual_router_id 60
  priority ${h === 'lb1' ? 150 : 100}
  advert_int 1
  unicast_src_ip ${lab.host(h).ip}
  unicast_peer {
    ${pair ? lab.host(peer).ip : '192.0.2.250'}
  }
  virtual_ipaddress {
    ${LB_VIP}/24 dev eth1
    ${LB_INTERNAL_VIP}/24 dev eth1
  }
}
`;
}

export class LbLab {
  readonly lab: Lab;
  readonly lbs: ('lb1' | 'lb2')[];

  /**
   * `dr`: the LVS-DR layout instead: each real server also holds the VIP on its loopback (ARP
   * for it suppressed: arp_ignore 1, arp_announce 2) and an address on the client network
   * (192.0.2.2x), so it answers the client directly.
   */
  constructor(opts: { pair?: boolean; dr?: boolean } = {}) {
    this.lbs = opts.pair ? ['lb1', 'lb2'] : ['lb1'];
    this.lab = new Lab({ hosts: [...this.lbs, 'rs1', 'rs2', 'rs3', 'client'] });
    try {
      this.lbs.forEach((h, i) => {
        this.lab.exec(h, ['ip', 'addr', 'add', `203.0.113.${i + 1}/24`, 'dev', 'eth1']);
        for (const k of [
          'net.ipv4.ip_forward=1',
          'net.ipv4.conf.all.send_redirects=0',
          'net.ipv4.conf.eth1.send_redirects=0',
        ])
          this.lab.exec(h, ['sysctl', '-qw', k]);
      });
      ['rs1', 'rs2', 'rs3'].forEach((h, i) => {
        const host = this.lab.host(h);
        this.lab.exec(h, ['ip', 'addr', 'flush', 'dev', 'eth1']);
        this.lab.exec(h, ['ip', 'addr', 'add', `${RS_IPS[i]}/24`, 'dev', 'eth1']);
        this.lab.exec(h, ['ip', 'route', 'add', 'default', 'via', LB_INTERNAL_VIP]);
        if (opts.dr) {
          for (const k of [
            'net.ipv4.conf.all.arp_ignore=1',
            'net.ipv4.conf.all.arp_announce=2',
            'net.ipv4.conf.eth1.arp_ignore=1',
            'net.ipv4.conf.eth1.arp_announce=2',
          ])
            this.lab.exec(h, ['sysctl', '-qw', k]);
          this.lab.exec(h, ['ip', 'addr', 'add', `${LB_VIP}/32`, 'dev', 'lo']);
          this.lab.exec(h, ['ip', 'addr', 'add', `192.0.2.2${i + 1}/24`, 'dev', 'eth1']);
        }
        mkdirSync(join(host.dir, 'tmp'), { recursive: true });
        writeFileSync(join(host.dir, 'nginx.conf'), rsNginx(host.dir, h));
        this.nginx(h, true);
      });
    } catch (e) {
      this.lab.destroy();
      throw e;
    }
  }

  dir(h: string): string {
    return this.lab.host(h).dir;
  }

  nginx(h: string, on: boolean): void {
    this.lab.exec(h, ['nginx', '-c', join(this.dir(h), 'nginx.conf'), ...(on ? [] : ['-s', 'stop'])]);
  }

  writeConfig(h: 'lb1' | 'lb2', lvs: string): void {
    writeFileSync(join(this.dir(h), 'keepalived.conf'), lbVrrp(this.lab, h, this.lbs.length > 1) + lvs);
  }

  startFloatd(h: 'lb1' | 'lb2'): void {
    spawnFloatd(this.lab, h);
  }

  signalFloatd(h: 'lb1' | 'lb2', sig: 'TERM' | 'KILL' | 'HUP'): void {
    signalFloatd(this.lab, h, sig);
  }

  log(h: 'lb1' | 'lb2'): string {
    const f = join(this.lab.dir, `floatd-${h}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  holdsVip(h: 'lb1' | 'lb2'): boolean {
    return this.lab.addresses(h).includes(LB_VIP);
  }

  /** n requests from the client, each on a new connection; the bodies ('' for a failure). */
  requests(n: number, timeoutS = 1): string[] {
    const urls = Array.from({ length: n }, () => `http://${LB_VIP}/`);
    const out = this.lab.exec(
      'client',
      ['curl', '-s', '-H', 'Connection: close', '--max-time', String(timeoutS), '-w', '|%{http_code}\\n', ...urls],
      true,
    );
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [body, code] = l.split('|');
        return code === '200' ? (body ?? '').trim() : '';
      });
  }

  /** The nft ruleset floatd installed on a balancer. */
  ruleset(h: 'lb1' | 'lb2'): string {
    return this.lab.exec(h, ['nft', 'list', 'table', 'ip', 'floatd_lb'], true);
  }

  async waitFor(what: string, cond: () => boolean, ms: number): Promise<number> {
    const t0 = realClock.nowUs();
    const limitUs = msToUs(ms);
    while (realClock.nowUs() - t0 < limitUs) {
      if (cond()) return (realClock.nowUs() - t0) / US_PER_MS;
      await delayUs(realClock, 50 * US_PER_MS);
    }
    throw new Error(
      `timed out after ${ms} ms waiting for: ${what}\n--- lb1\n${this.log('lb1').split('\n').slice(-30).join('\n')}`,
    );
  }

  destroy(): void {
    this.lab.destroy();
  }
}

export const tally = (bodies: string[]): Record<string, number> =>
  bodies.reduce<Record<string, number>>((m, b) => {
    m[b || 'failed'] = (m[b || 'failed'] ?? 0) + 1;
    return m;
  }, {});
