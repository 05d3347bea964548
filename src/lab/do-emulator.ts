/**
 * The DigitalOcean emulator (test/emulators/digitalocean.ts, run by serve.js as its own process
 * on the lab's client host) behind a `floating_ip web` block on each floatd host: who holds the
 * reserved IP, sampled every 50 ms, its request log and fault control, and every assign floatd
 * made with the epoch it checked. Used by test/lab/quorum-etcd.test.ts (through quorum-lab.ts)
 * and the seed's cloud labs (test/lab/cloud-*.test.ts).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './netns-lab.js';
import { REPO_ROOT } from './daemons.js';
import type { SeedLab } from './seed-lab.js';
import { pollUntil } from './wait.js';
import { delayUs, msToUs, realClock } from '../util/clock.js';

/** The reserved IP the emulator serves. */
export const DO_FIP = '203.0.113.10';
const TOKEN = 'dop_v1_lab_quorum_0123456789abcdef';
const DROPLET: Record<string, string> = { lb1: '101', lb2: '102', lb3: '103' };

export interface EmuState {
  holders: Record<string, string | null>;
  /** Requests served so far (API and metadata). */
  requests: number;
  log: { method: string; path: string; status: number | 'hang' }[];
}

export class DoEmulator {
  /** Every holder change the state file showed: [wall ms, droplet or null]. */
  readonly seen: [number, string | null][] = [];
  private running = true;
  private readonly sampling: Promise<void>;

  private constructor(
    private readonly lab: Lab,
    private readonly child: ChildProcess,
    private readonly stateFile: string,
    readonly apiUrl: string,
    readonly controlUrl: string,
    readonly metadata: Record<string, string>,
    /** The API token the emulator accepts (written into each host's token file). */
    readonly token: string,
  ) {
    this.sampling = (async () => {
      while (this.running) {
        const h = this.holder();
        if (h !== undefined && this.seen.at(-1)?.[1] !== h) this.seen.push([realClock.wallMs(), h]);
        await delayUs(realClock, msToUs(50));
      }
    })();
  }

  static async start(lab: Lab, servers: readonly string[], token = TOKEN): Promise<DoEmulator> {
    const client = lab.host('client');
    const tokenFile = join(client.dir, 'do.token');
    writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
    const stateFile = join(client.dir, 'do-state.json');
    const nodes = servers.map((h) => DROPLET[h]!).join(',');
    const argv = [process.execPath, join(REPO_ROOT, 'dist/test/emulators/serve.js'), 'digitalocean'];
    argv.push('--host', client.ip, '--port', '0', '--token-file', tokenFile, '--nodes', nodes);
    argv.push('--ip', `${DO_FIP}=`, '--action-delay-ms', '300', '--state-file', stateFile);
    const child = lab.spawn('client', argv, 'do-emulator.log');
    const out = join(lab.dir, 'do-emulator.log');
    const ready = (): string | undefined =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .find((l) => l.includes('"apiUrl"'))
        : undefined;
    await pollUntil(
      'the DigitalOcean emulator is listening',
      () => ready() !== undefined,
      15_000,
      () => '',
    );
    const e = JSON.parse(ready()!) as { apiUrl: string; controlUrl: string; metadata: Record<string, string> };
    return new DoEmulator(lab, child, stateFile, e.apiUrl, e.controlUrl, e.metadata, token);
  }

  /** The droplet holding the reserved IP (null: none; undefined: no state yet). */
  holder(): string | null | undefined {
    return this.saved()?.holders[DO_FIP];
  }

  /** The state file (rewritten on holder changes only); undefined before the first. */
  saved(): EmuState | undefined {
    try {
      return JSON.parse(readFileSync(this.stateFile, 'utf8')) as EmuState;
    } catch {
      return undefined;
    }
  }

  /** The emulator's live state (request counter and log), from its control endpoint. */
  live(): EmuState {
    return JSON.parse(
      this.lab.exec('client', ['curl', '-sS', '--max-time', '2', `${this.controlUrl}/state`]),
    ) as EmuState;
  }

  /** Drives the control endpoint (`/holder`, `/faults`…) from inside the lab (it listens on the client host). */
  control(method: string, path: string, body?: unknown): void {
    const args = ['curl', '-sS', '--max-time', '2', '-X', method, `${this.controlUrl}${path}`];
    if (body !== undefined) args.push('-H', 'content-type: application/json', '-d', JSON.stringify(body));
    this.lab.exec('client', args);
  }

  /** Holder changes seen since `sinceMs` (the first value seen after it counts only if it differs). */
  changesSince(sinceMs: number): number {
    let n = 0;
    for (let i = 1; i < this.seen.length; i++) if (this.seen[i]![0] >= sinceMs) n++;
    return n;
  }

  /** Assign (POST action) requests the emulator received so far, from its live control endpoint. */
  assignPosts(): number {
    return this.live().log.filter((l) => l.method === 'POST' && /actions/.test(l.path)).length;
  }

  droplet(h: string): string {
    return DROPLET[h]!;
  }

  stop(): void {
    this.running = false;
    void this.sampling;
    this.child.kill('SIGTERM');
  }
}

/**
 * The `floating_ip web` block of host `h` (token file written into its directory), with the lab's
 * short timings; `extra` adds option lines (e.g. `action_timeout 3`, `peers 101 102`).
 */
export function floatingIpBlock(emu: DoEmulator, h: string, dir: string, extra: string[] = []): string {
  const token = join(dir, 'do.token');
  writeFileSync(token, emu.token + '\n');
  chmodSync(token, 0o600);
  return (
    `floating_ip web {\n    provider digitalocean\n    address ${DO_FIP}\n    token_file ${token}\n` +
    `    api_url ${emu.apiUrl}\n    metadata_url ${emu.metadata[emu.droplet(h)]}\n    timeout 1\n` +
    `    reconcile_interval 2\n    backoff_base 0.1\n    backoff_max 1\n    poll_interval 0.1\n` +
    extra.map((l) => `    ${l}\n`).join('') +
    '}\n'
  );
}

/** The seed's two servers get the `floating_ip web` block, tied to their VRRP instance (VRID 33). */
export function seedFloatingIp(s: SeedLab, emu: DoEmulator, extra: string[] = []): void {
  for (const h of ['lb1', 'lb2'] as const) {
    const conf = join(s.dir(h), 'keepalived.conf');
    const text = readFileSync(conf, 'utf8').replace(
      '    virtual_router_id 33\n',
      '    virtual_router_id 33\n    floating_ip web\n',
    );
    writeFileSync(conf, floatingIpBlock(emu, h, s.dir(h), extra) + text);
  }
}

/** Every "assigning … under epoch N" line of a floatd log, in order: the epoch each assign was checked under. */
export function assignEpochs(log: string): number[] {
  return [...log.matchAll(/under epoch (\d+)/g)].map((m) => Number(m[1]));
}
