/**
 * A lab of hosts on one Linux machine: each host is its own network namespace (veth into a
 * shared bridge, `eth1` inside like the seed) and its own PID + mount namespace, so the seed's
 * `pidof nginx` sees only that host's nginx. Names carry a per-run suffix; destroy() runs on
 * every exit path (normal end, exception, SIGINT/SIGTERM).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface LabHost {
  name: string;
  ns: string;
  ip: string;
  /** pid (in the root pid namespace) of the host's init, for nsenter. */
  initPid: number;
  dir: string;
}

export interface LabOptions {
  hosts: string[];
  /** /24 prefix from TEST-NET, e.g. "192.0.2". */
  net?: string;
}

function sh(argv: string[], allowFail = false): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0 && !allowFail)
    throw new Error(`${argv.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout ?? '';
}

const live = new Set<Lab>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const all = (): void => {
    for (const l of live) l.destroy();
  };
  process.on('exit', all);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      all();
      process.exit(130);
    });
  }
}

export class Lab {
  readonly id = randomBytes(3).toString('hex');
  readonly dir = mkdtempSync(join(tmpdir(), 'floatd-lab-'));
  readonly bridge = `fdbr${this.id}`;
  readonly switchNs = `fd${this.id}switch`;
  readonly hosts = new Map<string, LabHost>();
  readonly net: string;
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  constructor(opts: LabOptions) {
    this.net = opts.net ?? '192.0.2';
    live.add(this);
    hookExit();
    try {
      // The switch lives in a namespace of its own: the machine's firewall (br_netfilter,
      // a FORWARD drop policy) never sees the lab's frames, and nothing leaks to the host.
      sh(['ip', 'netns', 'add', this.switchNs]);
      sh(['ip', '-n', this.switchNs, 'link', 'add', this.bridge, 'type', 'bridge']);
      sh(['ip', '-n', this.switchNs, 'link', 'set', this.bridge, 'up']);
      opts.hosts.forEach((h, i) => this.addHost(h, `${this.net}.${i + 1}`, i));
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  private addHost(name: string, ip: string, idx: number): void {
    const ns = `fd${this.id}${name}`.slice(0, 30);
    const outer = `fd${this.id}v${idx}`;
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', this.switchNs, 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', ns]);
    sh(['ip', '-n', this.switchNs, 'link', 'set', outer, 'master', this.bridge, 'up']);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth1']);
    sh(['ip', '-n', ns, 'link', 'set', 'eth1', 'up']);
    const dir = join(this.dir, name);
    sh(['mkdir', '-p', dir]);
    // The host's init: PID 1 of a new pid namespace with its own /proc. Like a real init it
    // reaps orphans (a daemonised nginx, keepalived's children after a SIGKILL), which would
    // otherwise stay zombies that `kill -0` and pid files take for live processes.
    const reaper = '$SIG{CHLD} = sub { 1 while waitpid(-1, 1) > 0 }; sleep 3600 while 1';
    const keeper = spawn(
      'ip',
      ['netns', 'exec', ns, 'unshare', '--pid', '--fork', '--mount-proc', 'perl', '-e', reaper],
      { stdio: 'ignore', detached: true },
    );
    this.children.add(keeper);
    const host: LabHost = { name, ns, ip, initPid: 0, dir };
    this.hosts.set(name, host); // before waiting, so destroy() cleans a half-made host too
    // `ip netns exec` execs unshare (same pid); unshare --fork's child is the host's PID 1.
    for (let i = 0; i < 250 && !host.initPid; i++) {
      host.initPid =
        Number(
          sh(['pgrep', '-P', String(keeper.pid)], true)
            .trim()
            .split('\n')[0],
        ) || 0;
      if (!host.initPid) spawnSync('sleep', ['0.02']);
    }
    if (!host.initPid) throw new Error(`lab: host ${name} did not start`);
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`lab: no host ${name}`);
    return h;
  }

  private enter(h: LabHost, argv: string[]): string[] {
    return ['nsenter', '-t', String(h.initPid), '-n', '-p', '-m', '--', ...argv];
  }

  /** Runs a command inside the host and waits for it. */
  exec(host: string, argv: string[], allowFail = false): string {
    return sh(this.enter(this.host(host), argv), allowFail);
  }

  /** Runs a command inside the host and returns its exit status and output (no throwing). */
  run(
    host: string,
    argv: string[],
    env: NodeJS.ProcessEnv = process.env,
    timeoutMs = 60_000,
  ): { status: number | null; stdout: string; stderr: string } {
    const [cmd, ...args] = this.enter(this.host(host), argv);
    const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: timeoutMs, env });
    return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  }

  /** Starts a long-running process inside the host; output goes to `logFile` (in the lab dir). */
  spawn(host: string, argv: string[], logFile: string, opts: SpawnOptions = {}): ChildProcess {
    const fd = openSync(join(this.dir, logFile), 'a');
    const [cmd, ...args] = this.enter(this.host(host), argv);
    const child = spawn(cmd!, args, { stdio: ['ignore', fd, fd], ...opts });
    closeSync(fd);
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Cuts (or restores) a host's cable at the switch: a partition for that host. */
  setLink(host: string, up: boolean): void {
    const idx = [...this.hosts.keys()].indexOf(host);
    sh(['ip', '-n', this.switchNs, 'link', 'set', `fd${this.id}v${idx}`, up ? 'up' : 'down']);
  }

  /** Addresses on eth1 in a host (e.g. to see who holds the VIP). */
  addresses(host: string): string[] {
    const out = sh(['ip', '-n', this.host(host).ns, '-j', 'addr', 'show', 'dev', 'eth1'], true);
    try {
      const j = JSON.parse(out) as { addr_info?: { local: string }[] }[];
      return j.flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
    } catch {
      return [];
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const h of this.hosts.values()) {
      // Killing a pid namespace's init kills everything inside it.
      if (h.initPid) {
        try {
          process.kill(h.initPid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      for (const pid of sh(['ip', 'netns', 'pids', h.ns], true).split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    for (const c of this.children) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const h of this.hosts.values()) sh(['ip', 'netns', 'del', h.ns], true);
    sh(['ip', 'netns', 'del', this.switchNs], true);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** nginx serving the seed's load.html from the host's lab dir. */
export function nginxConf(h: LabHost): string {
  return `daemon on;
user root;
pid ${h.dir}/nginx.pid;
error_log ${h.dir}/nginx-error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${h.dir}/tmp; proxy_temp_path ${h.dir}/tmp; fastcgi_temp_path ${h.dir}/tmp;
  uwsgi_temp_path ${h.dir}/tmp; scgi_temp_path ${h.dir}/tmp;
  server { listen 80; root ${h.dir}/www; }
}
`;
}
