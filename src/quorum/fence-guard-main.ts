/**
 * The fence guard process (docs/quorum.md, "Fence guard"): started by the daemon for quorum
 * instances with `fence_guard on`, it holds the holder's deadline and removes the VIPs itself when
 * the daemon cannot (frozen, stuck, killed). A thin adapter around GuardMachine: stdin lines in,
 * rtnetlink removals out (src/net: the addon, `ip` only if it cannot load), one stderr line each.
 * It runs nothing but its own event loop. SIGTERM/SIGINT/SIGHUP are ignored: it leaves when the
 * daemon does (stdin EOF or the daemon's pidfd), so systemd's stop of the cgroup never takes the
 * guard away before the daemon's own ordered hand-over; SIGKILL of the cgroup ends both.
 */
import { native, nativeAvailable } from '../native/addon.js';
import { removeAddress } from '../net/addresses.js';
import { openNetlink } from '../net/netlink.js';
import { MONOTONIC_ORIGIN_US, realClock, type TimerHandle } from '../util/clock.js';
import { GuardMachine, parseGuardLine, type GuardAction, type GuardVip } from './guard-machine.js';

const clock = realClock;
const m = new GuardMachine();
let timer: TimerHandle | undefined;
const daemonPid = Number(process.env.FLOATD_GUARD_DAEMON_PID ?? process.ppid);

/** `FLOATD_GUARD_SYSLOG=facility:socket` (set by `floatd run` when it logs to syslog): the same syslog, LOG_WARNING. */
const syslog = /^(\d+):(.*)$/.exec(process.env.FLOATD_GUARD_SYSLOG ?? '');

function say(text: string): void {
  process.stderr.write(`floatd fence guard[${process.pid}]: ${text}\n`);
  if (!syslog || !nativeAvailable()) return;
  const d = new Date(clock.wallMs());
  // RFC 3164's "Mmm dd hh:mm:ss", local time, as syslog(3) writes it
  const stamp = `${d.toString().slice(4, 7)} ${String(d.getDate()).padStart(2)} ${d.toTimeString().slice(0, 8)}`;
  try {
    const pri = Number(syslog[1]) * 8 + 4;
    native().unixDgramSend(
      syslog[2] || '/dev/log',
      Buffer.from(`<${pri}>${stamp} floatd-guard[${process.pid}]: ${text}`),
    );
  } catch {
    /* no syslog daemon: stderr has it */
  }
}

async function removeAll(vips: readonly GuardVip[]): Promise<string[]> {
  const gone: string[] = [];
  for (const v of vips) {
    try {
      if (
        await removeAddress({
          ifname: v.ifname,
          address: v.address,
          prefix: v.prefix,
          ...(v.peer ? { peer: v.peer } : {}),
        })
      )
        gone.push(`${v.address}/${v.prefix} dev ${v.ifname}`);
    } catch (e) {
      say(`could not remove ${v.address}/${v.prefix} dev ${v.ifname}: ${(e as Error).message}`);
    }
  }
  return gone;
}

/** Removals run one after another; an exit waits for those queued before it. */
let pending: Promise<void> = Promise.resolve();

function act(a: GuardAction): void {
  if (a.type === 'exit') {
    pending = pending.then(() => process.exit(0));
    return;
  }
  pending = pending.then(() =>
    removeAll(a.vips).then((gone) => {
      if (gone.length === 0) return; // the daemon had removed them itself (a fence or a release in time)
      const why =
        a.why === 'deadline'
          ? `no renewal from the daemon (pid ${daemonPid}) by its deadline (${(a.lateUs / 1000).toFixed(1)} ms late)`
          : `the daemon (pid ${daemonPid}) is gone`;
      say(`(${a.holder}) ${why}: removed ${gone.join(', ')}`);
      if (a.why === 'deadline') process.stdout.write(`removed ${JSON.stringify(a.holder)}\n`); // the daemon fences
    }),
  );
}

function step(ev: Parameters<GuardMachine['step']>[1]): void {
  for (const a of m.step(clock.nowUs(), ev)) act(a);
  if (timer) clock.cancel(timer);
  timer = undefined;
  const w = m.nextWake();
  if (w !== undefined) timer = clock.at(w, () => step({ type: 'timer' }));
}

function main(): void {
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, () => undefined);
  const nl = openNetlink(); // once, now: a removal at the deadline is one sendmsg, no addon load on the way
  if (nativeAvailable()) {
    try {
      native().pidWatch(daemonPid, () => step({ type: 'gone', why: 'pidfd' }));
    } catch {
      step({ type: 'gone', why: 'no such daemon' });
      return;
    }
  }
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const msg = parseGuardLine(line);
      if (!msg) {
        say(`ignored a malformed line (${line.length} bytes)`);
        continue;
      }
      if (msg.t === 'release') step({ type: 'release', holder: msg.h });
      else step({ type: 'hold', holder: msg.h, deadlineUs: msg.d - MONOTONIC_ORIGIN_US, vips: msg.v });
    }
  });
  process.stdout.on('error', () => undefined); // the daemon gone: stdin's EOF or the pidfd says so
  process.stdin.on('end', () => step({ type: 'gone', why: 'pipe closed' }));
  process.stdin.on('error', () => step({ type: 'gone', why: 'pipe error' }));
  process.stdout.write(`ready ${nl ? 'netlink' : 'ip'}\n`);
}

main();
