/**
 * Quorum mode on a lab (docs/quorum.md): a real 3-member etcd cluster (one member per namespace
 * host, data in the lab's temporary directory), two or three floatd hosts with nginx, a client
 * (optionally running the DigitalOcean emulator behind a `floating_ip` block). Faults
 * are real: nftables drops inside a host (host↔host partition, a host cut from etcd), signals
 * to floatd (SIGSTOP, SIGKILL, SIGTERM) and to etcd members. Used by test/lab/quorum*.test.ts
 * and bench/quorum.ts.
 */
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, nginxConf } from './netns-lab.js';
import { FLOATD_COMMAND, floatdRunning, signalFloatd, spawnFloatd, spawnKeepalived } from './daemons.js';
import { pollUntil } from './wait.js';
import { labUnavailable } from './prerequisites.js';
import { delayUs, msToUs, realClock } from '../util/clock.js';
import { DoEmulator, floatingIpBlock } from './do-emulator.js';

export const QUORUM_VIP = '192.0.2.100';
export type QServer = 'lb1' | 'lb2' | 'lb3';
const ETCD = ['e1', 'e2', 'e3'] as const;
const PRIORITY: Record<QServer, number> = { lb1: 150, lb2: 100, lb3: 50 };

export interface QuorumLabOptions {
  /** Without the floatd_quorum block: plain VRRP (the comparison runs). */
  quorum?: boolean;
  ttl?: number;
  advertInt?: number;
  /** floatd hosts (default 2: lb1, lb2; 3 adds lb3). */
  hosts?: 2 | 3;
  /** `on_quorum_loss failsafe` with a shared secret in each host's directory. */
  failsafe?: boolean;
  /** etcd with --heartbeat-interval 50 --election-timeout 500 (its minimum lease TTL is then 1 s). */
  tunedEtcd?: boolean;
}

/** Why the quorum lab cannot run here (undefined: it can). */
export const quorumLabUnavailable = (): string | undefined =>
  labUnavailable(['nginx', 'nsenter', 'unshare', 'curl', 'etcd', 'nft']);
export const labSleep = (ms: number): Promise<boolean> => delayUs(realClock, msToUs(ms));

export class QuorumLab {
  readonly servers: QServer[];
  readonly lab: Lab;
  /** The DigitalOcean emulator (after startCloud). */
  cloud: DoEmulator | undefined;
  readonly floatd = FLOATD_COMMAND;

  constructor(readonly opts: QuorumLabOptions = {}) {
    this.servers = opts.hosts === 3 ? ['lb1', 'lb2', 'lb3'] : ['lb1', 'lb2'];
    this.lab = new Lab({ hosts: [...this.servers, 'client', ...ETCD] });
    try {
      for (const e of ETCD) this.startEtcd(e);
      for (const h of this.servers) {
        const host = this.lab.host(h);
        mkdirSync(join(host.dir, 'www'), { recursive: true });
        writeFileSync(join(host.dir, 'www/load.html'), `Droplet: ${h}, IP Address: ${host.ip}\n`);
        writeFileSync(join(host.dir, 'nginx.conf'), nginxConf(host));
        writeFileSync(join(host.dir, 'keepalived.conf'), this.config(h));
        this.lab.exec(h, ['nginx', '-c', join(host.dir, 'nginx.conf')]);
      }
    } catch (e) {
      this.lab.destroy();
      throw e;
    }
  }

  endpoints(): string[] {
    return ETCD.map((e) => `http://${this.lab.host(e).ip}:2379`);
  }

  /** etcd healthy (and the emulator, with `cloud`), lb1 holding the VIP, then the other floatd hosts started. */
  async up(cloud = false): Promise<void> {
    await this.etcdReady();
    if (cloud) await this.startCloud();
    this.startFloatd('lb1');
    await this.waitFor('lb1 holds the VIP', () => this.holds('lb1'), 15_000);
    for (const h of this.servers.slice(1)) this.startFloatd(h);
  }

  /** Starts the DigitalOcean emulator and rewrites each host's config with the floating_ip block. */
  async startCloud(): Promise<DoEmulator> {
    this.cloud = await DoEmulator.start(this.lab, this.servers);
    for (const h of this.servers) writeFileSync(join(this.lab.host(h).dir, 'keepalived.conf'), this.config(h));
    return this.cloud;
  }

  config(h: QServer): string {
    const me = this.lab.host(h);
    const peers = this.servers.filter((x) => x !== h).map((x) => this.lab.host(x).ip);
    const q = this.opts.quorum ?? true;
    const dir = this.lab.host(h).dir;
    let fs = '';
    if (this.opts.failsafe) {
      writeFileSync(join(dir, 'failsafe.key'), `lab-${this.lab.id}-failsafe-secret-0123456789\n`, { mode: 0o600 });
      fs = `    on_quorum_loss failsafe\n    failsafe_secret_file ${join(dir, 'failsafe.key')}\n`;
    }
    // FLOATD_LAB_FENCE_GUARD=off: the comparison without the fence guard (docs/quorum.md)
    const guard = process.env.FLOATD_LAB_FENCE_GUARD === 'off' ? '    fence_guard off\n' : '';
    const block = q
      ? `floatd_quorum main {\n    backend etcd\n    endpoints ${this.endpoints().join(' ')}\n` +
        `    key /floatd/lab\n    ttl ${this.opts.ttl ?? 2}\n${fs}${guard}}\n`
      : '';
    const fip = this.cloud ? floatingIpBlock(this.cloud, h, dir, ['action_timeout 3']) : '';
    // The API's actions (`floatd switchover`) need a token: a per-run one in the host's directory.
    writeFileSync(join(dir, 'api.token'), `lab-${this.lab.id}-api-token-0123456789abcdef\n`, { mode: 0o600 });
    const api = `floatd_api {\n    socket ${join(dir, 'floatd.sock')}\n    token_file ${join(dir, 'api.token')}\n}\n`;
    return `global_defs {\n    router_id ${h}\n}\n${api}${block}${fip}vrrp_instance VI_1 {
    interface eth1
    state ${h === 'lb1' ? 'MASTER' : 'BACKUP'}
    virtual_router_id 51
    priority ${PRIORITY[h]}
    version 3
    advert_int ${this.opts.advertInt ?? 0.2}
    unicast_src_ip ${me.ip}
    unicast_peer {
        ${peers.join('\n        ')}
    }
    virtual_ipaddress {
        ${QUORUM_VIP}/24
    }
${q ? '    quorum main\n' : ''}${fip ? '    floating_ip web\n' : ''}}\n`;
  }

  startEtcd(e: string): void {
    const cluster = ETCD.map((x) => `${x}=http://${this.lab.host(x).ip}:2380`).join(',');
    const ip = this.lab.host(e).ip;
    this.lab.spawn(
      e,
      [
        'etcd',
        '--name',
        e,
        '--data-dir',
        join(this.lab.host(e).dir, 'etcd'),
        '--listen-client-urls',
        `http://${ip}:2379`,
        '--advertise-client-urls',
        `http://${ip}:2379`,
        '--listen-peer-urls',
        `http://${ip}:2380`,
        '--initial-advertise-peer-urls',
        `http://${ip}:2380`,
        '--initial-cluster',
        cluster,
        '--initial-cluster-state',
        existsSync(join(this.lab.host(e).dir, 'etcd')) ? 'existing' : 'new',
        '--initial-cluster-token',
        `floatd-${this.lab.id}`,
        '--log-level',
        'warn',
        ...(this.opts.tunedEtcd ? ['--heartbeat-interval', '50', '--election-timeout', '500'] : []),
      ],
      `etcd-${e}.log`,
    );
  }

  /** Resolves when every member answers /health true. */
  async etcdReady(ms = 20_000): Promise<void> {
    await this.waitFor(
      'etcd cluster healthy',
      () =>
        ETCD.every((e) =>
          /"health":\s*"true"/.test(
            this.lab.exec(
              'client',
              ['curl', '-s', '--max-time', '0.5', `http://${this.lab.host(e).ip}:2379/health`],
              true,
            ),
          ),
        ),
      ms,
    );
  }

  /** The member etcd reports as leader (each member's /v3/maintenance/status, asked from the client host). */
  etcdLeader(): string | undefined {
    for (const e of ETCD) {
      const out = this.lab.exec(
        'client',
        [
          'curl',
          '-s',
          '--max-time',
          '0.5',
          '-X',
          'POST',
          '-d',
          '{}',
          `http://${this.lab.host(e).ip}:2379/v3/maintenance/status`,
        ],
        true,
      );
      try {
        const j = JSON.parse(out) as { header?: { member_id?: string }; leader?: string };
        if (j.leader && j.header?.member_id === j.leader) return e;
      } catch {
        /* not answering */
      }
    }
    return undefined;
  }

  /** Signals the member's etcd process itself, inside its host (the spawned child is nsenter, which forks). */
  etcdMembers(): readonly string[] {
    return ETCD;
  }

  etcdSignal(e: string, sig: 'STOP' | 'CONT' | 'KILL'): void {
    const pid = this.lab.exec(e, ['pidof', 'etcd'], true).trim();
    if (!pid) throw new Error(`etcd is not running on ${e}`);
    this.lab.exec(e, ['kill', `-${sig}`, ...pid.split(/\s+/)]);
  }

  /** `floatd ARGS` on host h against its daemon's API (socket and token). */
  floatdCli(h: QServer, args: string[]): string {
    const dir = this.lab.host(h).dir;
    const api = ['--socket', join(dir, 'floatd.sock'), '--token-file', join(dir, 'api.token')];
    return this.lab.exec(h, [...this.floatd, ...args, ...api]);
  }

  startFloatd(h: QServer): void {
    spawnFloatd(this.lab, h, { floatd: this.floatd });
  }

  /** keepalived on the same host and config (no quorum block: keepalived has none), for the comparison runs. */
  startKeepalived(h: QServer): void {
    const dir = this.lab.host(h).dir;
    writeFileSync(
      join(dir, 'keepalived-ka.conf'),
      this.config(h)
        .replace(/floatd_quorum main \{[^}]*\}\n/, '')
        .replace(/floatd_api \{[^}]*\}\n/, '')
        .replace('    quorum main\n', ''),
    );
    spawnKeepalived(this.lab, h, join(dir, 'keepalived-ka.conf'));
  }

  signalFloatd(h: QServer, sig: 'TERM' | 'KILL' | 'STOP' | 'CONT'): void {
    signalFloatd(this.lab, h, sig);
  }

  floatdRunning(h: QServer): boolean {
    return floatdRunning(this.lab, h);
  }

  /** Drops, inside host `h`, every packet from/to `peers` (by address); [] removes the rule. */
  block(h: QServer, peers: string[]): void {
    const ips = peers.map((p) => this.lab.host(p).ip);
    const rules =
      ips.length === 0
        ? ''
        : `table inet floatdlab {
  chain in { type filter hook input priority 0; ip saddr { ${ips.join(', ')} } drop; }
  chain out { type filter hook output priority 0; ip daddr { ${ips.join(', ')} } drop; }
}\n`;
    this.lab.run(h, ['nft', 'delete', 'table', 'inet', 'floatdlab']);
    if (rules) {
      const f = join(this.lab.host(h).dir, 'block.nft');
      writeFileSync(f, rules);
      this.lab.exec(h, ['nft', '-f', f]);
    }
  }

  cutFromEtcd(h: QServer, cut: boolean): void {
    this.block(h, cut ? [...ETCD] : []);
  }

  holds(h: QServer): boolean {
    return this.lab.addresses(h).includes(QUORUM_VIP);
  }

  log(h: string): string {
    const f = join(this.lab.dir, h.startsWith('e') ? `etcd-${h}.log` : `floatd-${h}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** The hosts holding the VIP now. */
  holders(): QServer[] {
    return this.servers.filter((h) => this.holds(h));
  }

  async waitFor(what: string, cond: () => boolean, ms: number): Promise<number> {
    const tail = (h: string): string => this.log(h).split('\n').slice(-20).join('\n');
    return pollUntil(what, cond, ms, () => this.servers.map((h) => `--- ${h}\n${tail(h)}`).join('\n'));
  }

  destroy(): void {
    this.cloud?.stop();
    this.lab.destroy();
  }
}

/** Who holds the VIP every `everyMs`, until stopped: the samples the dual-holder count is made of. */
export class HolderSampler {
  readonly samples: { t: number; held: QServer[] }[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(q: QuorumLab, everyMs = 50) {
    this.done = (async () => {
      let flip = false;
      while (this.running) {
        const t = realClock.wallMs();
        // Alternate the order so a move is never seen only one way round.
        flip = !flip;
        const order = flip ? q.servers : [...q.servers].reverse();
        const held = order.filter((h) => q.holds(h)).sort();
        this.samples.push({ t, held });
        await delayUs(realClock, msToUs(Math.max(0, everyMs - (realClock.wallMs() - t))));
      }
    })();
  }

  async stop(): Promise<this> {
    this.running = false;
    await this.done;
    return this;
  }
  dual(): number {
    return this.samples.filter((s) => s.held.length > 1).length;
  }
  /** Samples since `sinceMs` (wall ms) in which `h` did not hold. */
  missing(h: QServer, sinceMs: number): number {
    return this.samples.filter((s) => s.t >= sinceMs && !s.held.includes(h)).length;
  }
  /** Seconds with two holders: each dual sample counts until the next sample (the real spacing). */
  dualSeconds(): number {
    let ms = 0;
    for (let i = 0; i + 1 < this.samples.length; i++) {
      const s = this.samples[i]!;
      if (s.held.length > 1) ms += this.samples[i + 1]!.t - s.t;
    }
    return Math.round(ms) / 1000;
  }
  /** Mean spacing of the samples (ms). */
  meanIntervalMs(): number {
    const n = this.samples.length;
    return n < 2 ? 0 : Math.round((this.samples[n - 1]!.t - this.samples[0]!.t) / (n - 1));
  }
  /** Holder changes (none → x counts when x differs from the last holder). */
  changes(): number {
    let last: string | undefined;
    let n = 0;
    for (const s of this.samples) {
      const who = s.held.length === 1 ? s.held[0] : undefined;
      if (who && who !== last) {
        if (last) n++;
        last = who;
      }
    }
    return n;
  }
}
