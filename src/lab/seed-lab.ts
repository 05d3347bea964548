/**
 * The seed tutorial's setup on a lab: two servers (lb1 MASTER, lb2 BACKUP) with nginx serving
 * load.html and the seed's keepalived.conf run by floatd, plus a client host. Used by
 * `floatd demo` and the end-to-end tests.
 */
import { readFileSync, writeFileSync, mkdirSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, nginxConf } from './netns-lab.js';
import { FLOATD_COMMAND, floatdRunning, REPO_ROOT, signalFloatd, spawnFloatd, spawnKeepalived } from './daemons.js';
import { mapSeed, SEED_BACKUP_IP, SEED_MASTER_IP } from './seed-config.js';
import { pollUntil } from './wait.js';
import { realClock } from '../util/clock.js';
import type { DaemonStatus } from '../model/status-types.js';

export const SEED_VIP = '192.0.2.100';
export { REPO_ROOT };

export type Server = 'lb1' | 'lb2';

export class SeedLab {
  readonly lab = new Lab({ hosts: ['lb1', 'lb2', 'client'] });
  /** The command that starts floatd: this checkout by default, or e.g. ['/usr/bin/floatd'] (an installed package). */
  readonly floatd: string[];

  /**
   * `configText` replaces the seed config; `transform` edits the mapped seed config (e.g. adds
   * a floating_ip block or notify lines) and gets the host directory for its own files.
   */
  constructor(
    opts: {
      configText?: (server: Server) => string;
      transform?: (server: Server, text: string, dir: string) => string;
      floatd?: string[];
    } = {},
  ) {
    this.floatd = opts.floatd ?? [...FLOATD_COMMAND];
    try {
      const ips = { [SEED_MASTER_IP]: this.lab.host('lb1').ip, [SEED_BACKUP_IP]: this.lab.host('lb2').ip };
      for (const [h, seed] of [
        ['lb1', 'seed-master.conf'],
        ['lb2', 'seed-backup.conf'],
      ] as const) {
        const host = this.lab.host(h);
        mkdirSync(join(host.dir, 'www'), { recursive: true });
        mkdirSync(join(host.dir, 'tmp'), { recursive: true });
        writeFileSync(join(host.dir, 'www/load.html'), `Droplet: ${h}, IP Address: ${host.ip}\n`);
        writeFileSync(join(host.dir, 'nginx.conf'), nginxConf(host));
        const rec = join(host.dir, 'master.sh');
        writeFileSync(rec, `#!/bin/sh\necho "notify_master ran on ${h} $*" >> ${host.dir}/notify.log\n`);
        chmodSync(rec, 0o755);
        let text =
          opts.configText?.(h) ?? mapSeed(readFileSync(join(REPO_ROOT, 'examples', seed), 'utf8'), ips, rec, SEED_VIP);
        if (opts.transform) text = opts.transform(h, text, host.dir);
        writeFileSync(join(host.dir, 'keepalived.conf'), text);
        this.startNginx(h);
      }
    } catch (e) {
      this.lab.destroy();
      throw e;
    }
  }

  dir(h: string): string {
    return this.lab.host(h).dir;
  }

  /**
   * `env` adds to the daemon's environment (e.g. NOTIFY_SOCKET for an sd_notify receiver);
   * `wrap` runs it through a command first (e.g. setpriv with a reduced capability set).
   */
  startFloatd(h: Server, env: NodeJS.ProcessEnv = {}, wrap: string[] = []): void {
    spawnFloatd(this.lab, h, { floatd: this.floatd, env, wrap });
  }

  /**
   * The real keepalived on the same host and config, for side-by-side runs. Debian's 2.2.7
   * resolves `pidof` to /sbin/killall5, so the seed's `script "pidof nginx"` always fails
   * there; the keepalived run gets a wrapper script that calls pidof the way the seed means.
   */
  startKeepalived(h: Server): void {
    const dir = this.dir(h);
    const wrapper = join(dir, 'chk_nginx.sh');
    writeFileSync(wrapper, '#!/bin/sh\nexec pidof nginx\n');
    chmodSync(wrapper, 0o755);
    const conf = readFileSync(join(dir, 'keepalived.conf'), 'utf8').replace(
      'script "pidof nginx"',
      `script "${wrapper}"`,
    );
    writeFileSync(join(dir, 'keepalived-ka.conf'), conf);
    spawnKeepalived(this.lab, h, join(dir, 'keepalived-ka.conf'));
  }

  /** Signals a server's floatd through its pid file (the pid lives in the host's PID namespace). */
  signalFloatd(h: Server, sig: 'TERM' | 'KILL' | 'HUP' | 'USR1' | 'USR2'): void {
    signalFloatd(this.lab, h, sig);
  }

  floatdRunning(h: Server): boolean {
    return floatdRunning(this.lab, h);
  }

  /** The daemon's status as its SIGUSR1 dump (floatd.data in the host's directory) shows it. */
  status(h: Server): DaemonStatus {
    const dump = join(this.dir(h), 'floatd.data');
    if (existsSync(dump)) writeFileSync(dump, '');
    this.signalFloatd(h, 'USR1');
    const t0 = realClock.nowUs();
    while (realClock.nowUs() - t0 < 3_000_000) {
      const text = existsSync(dump) ? readFileSync(dump, 'utf8') : '';
      if (text.trim()) return JSON.parse(text) as DaemonStatus;
    }
    throw new Error(`no SIGUSR1 dump from ${h}`);
  }
  startNginx(h: Server): void {
    this.lab.exec(h, ['nginx', '-c', join(this.dir(h), 'nginx.conf')]);
  }
  /** The seed's `service nginx stop`. */
  stopNginx(h: Server): void {
    this.lab.exec(h, ['nginx', '-c', join(this.dir(h), 'nginx.conf'), '-s', 'stop']);
  }
  holds(h: Server): boolean {
    return this.lab.addresses(h).includes(SEED_VIP);
  }
  /** One request of the seed's curl loop, from the client host. */
  served(timeoutS = 0.5): string {
    return this.lab
      .exec('client', ['curl', '-s', '--max-time', String(timeoutS), `http://${SEED_VIP}/load.html`], true)
      .trim();
  }
  log(h: Server): string {
    const f = join(this.lab.dir, `floatd-${h}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }
  keepalivedLog(h: Server): string {
    const f = join(this.lab.dir, `keepalived-${h}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }
  notifyLog(h: Server): string {
    const f = join(this.dir(h), 'notify.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }
  /** Polls `cond` every 50 ms; resolves with the ms it took, or throws with both daemons' last log lines. */
  async waitFor(what: string, cond: () => boolean, ms: number): Promise<number> {
    const tail = (h: Server): string => this.log(h).split('\n').slice(-25).join('\n');
    return pollUntil(what, cond, ms, () => `--- lb1\n${tail('lb1')}\n--- lb2\n${tail('lb2')}`);
  }

  destroy(): void {
    this.lab.destroy();
  }
}
