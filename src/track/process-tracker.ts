/**
 * track_process by polling /proc instead of keepalived's proc connector (netlink), which needs
 * CAP_NET_ADMIN in the initial namespaces and sees nothing inside containers or PID namespaces.
 * One scan per interval serves every tracked process. Matching follows keepalived: the name
 * against /proc/PID/comm, or with full_command argv[0] exactly plus the parameters (exact, the
 * configured ones as a prefix of whole arguments with `partial`, the last one a string prefix
 * with `initial`). Zombies don't count.
 */
import { readdir, readFile } from 'node:fs/promises';
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
  try { names = await readdir(procRoot); } catch { return []; }
  const out: ProcEntry[] = [];
  await Promise.all(names.filter((n) => /^\d+$/.test(n)).map(async (n) => {
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
    } catch { /* exited while we looked */ }
  }));
  return out;
}

