/**
 * track_process by scanning /proc instead of keepalived's proc connector (netlink), which needs
 * CAP_NET_ADMIN in the initial namespaces and sees nothing inside containers or PID namespaces.
 * One scan per interval serves every tracked process and finds new ones. A death is learnt at
 * once: every matching process found by a scan is watched through a pidfd (pidfd_open + poll
 * in the addon, Linux ≥ 5.3, works in PID namespaces), and its exit recounts from the last
 * scan without it, in milliseconds instead of at the next scan. Without the addon (or
 * pidfd_open), only the scan. Matching follows keepalived: the name
 * against /proc/PID/comm, or with full_command argv[0] exactly plus the parameters (exact, the
 * configured ones as a prefix of whole arguments with `partial`, the last one a string prefix
 * with `initial`). Zombies don't count.
 */
import { readdir, readFile } from 'node:fs/promises';
import { native, nativeAvailable, type PidHandle } from '../native/addon.js';
import type { TrackProcessSpec } from './types.js';

export interface ProcEntry {
  pid: number;
  comm: string;
  /** Present when a full-command spec asked for it. */
  argv?: string[];
}

export function wantsFullCommand(spec: TrackProcessSpec): boolean {
  return !!spec.fullCommand || (spec.params !== undefined && spec.params.length > 0) || spec.paramMatch !== undefined;
}

/** Does this process count for the spec? Pure. */
export function matchesProcess(spec: TrackProcessSpec, p: ProcEntry): boolean {
  if (!wantsFullCommand(spec)) return p.comm === spec.process;
  const argv = p.argv;
  if (!argv || argv[0] !== spec.process) return false;
  const have = argv.slice(1);
  const want = spec.params ?? [];
  const mode = spec.paramMatch ?? 'exact';
  if (mode === 'exact') return have.length === want.length && want.every((w, i) => have[i] === w);
  if (have.length < want.length) return false;
  if (mode === 'partial') return want.every((w, i) => have[i] === w);
  // initial: all but the last must match whole, the last may be a prefix of the argument
  return want.every((w, i) => (i === want.length - 1 ? (have[i] ?? '').startsWith(w) : have[i] === w));
}

export function countMatches(spec: TrackProcessSpec, procs: readonly ProcEntry[]): number {
  let n = 0;
  for (const p of procs) if (matchesProcess(spec, p)) n++;
  return n;
}

/** `pid (comm) S …`: comm may hold spaces and parentheses, so split at the last ')'. */
export function parseStat(text: string): { comm: string; state: string } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  return { comm: text.slice(open + 1, close), state: text.slice(close + 2, close + 3) };
}

/** Reads every live process under procRoot; cmdline only when asked. Never throws. */
export async function scanProcesses(procRoot = '/proc', withArgv = false): Promise<ProcEntry[]> {
  let names: string[];
  try {
    names = await readdir(procRoot);
  } catch {
    return [];
  }
  const out: ProcEntry[] = [];
  await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n))
      .map(async (n) => {
        try {
          const st = parseStat(await readFile(`${procRoot}/${n}/stat`, 'utf8'));
          if (!st || st.state === 'Z') return;
          const e: ProcEntry = { pid: Number(n), comm: st.comm };
          if (withArgv) {
            const raw = await readFile(`${procRoot}/${n}/cmdline`, 'utf8');
            e.argv = raw.split('\0');
            if (e.argv.length > 1 && e.argv[e.argv.length - 1] === '') e.argv.pop();
          }
          out.push(e);
        } catch {
          /* exited while we looked */
        }
      }),
  );
  return out;
}

/** Starts watching one pid; the callback runs once when it exits. Throws ESRCH if it is gone. */
export type PidWatchFn = (pid: number, onExit: () => void) => { close(): void };

/** The addon's pidfd watch, or undefined when there is no addon or no pidfd_open (ENOSYS). */
export function nativePidWatch(): PidWatchFn | undefined {
  if (!nativeAvailable()) return undefined;
  const n = native();
  try {
    n.pidUnwatch(n.pidWatch(process.pid, () => undefined));
  } catch {
    return undefined;
  }
  return (pid, onExit) => {
    const h: PidHandle = n.pidWatch(pid, () => onExit());
    return { close: () => n.pidUnwatch(h) };
  };
}

/** Watching costs one descriptor per process: beyond this many, the scan alone notices. */
export const MAX_PID_WATCHES = 64;

/**
 * Keeps a pidfd on every process that counts for some tracker, as of the last scan; on an
 * exit, hands the last scan's list without that process to `onChange` (which recounts).
 */
export class ProcessExitWatch {
  private procs: ProcEntry[] = [];
  private readonly watches = new Map<number, { close(): void }>();

  constructor(
    private readonly onChange: (procs: ProcEntry[]) => void,
    private readonly watch: PidWatchFn | undefined,
  ) {}

  /** After each scan: remember it and watch its processes for which `counts` holds. */
  update(procs: ProcEntry[], counts: (p: ProcEntry) => boolean): void {
    this.procs = procs;
    if (!this.watch) return;
    const want = new Set(
      procs
        .filter(counts)
        .slice(0, MAX_PID_WATCHES)
        .map((p) => p.pid),
    );
    for (const [pid, w] of this.watches)
      if (!want.has(pid)) {
        w.close();
        this.watches.delete(pid);
      }
    for (const pid of want) {
      if (this.watches.has(pid)) continue;
      try {
        this.watches.set(
          pid,
          this.watch(pid, () => this.exited(pid)),
        );
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') {
          this.exited(pid);
          return;
        } // died since the scan
        // EMFILE and the like: the scan will notice instead
      }
    }
  }

  /** Pids watched now (tests, status). */
  watched(): number[] {
    return [...this.watches.keys()];
  }

  close(): void {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }

  private exited(pid: number): void {
    this.watches.get(pid)?.close();
    this.watches.delete(pid);
    const before = this.procs.length;
    this.procs = this.procs.filter((p) => p.pid !== pid);
    if (this.procs.length !== before) this.onChange(this.procs);
  }
}
