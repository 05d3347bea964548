/**
 * `vrrp_track_file` / `track_file` and `vrrp_track_process` definitions, and the `track_*`
 * reference lists of instances and sync groups (names must be defined somewhere in the file).
 */
import type { Ctx, WeightKind } from './ctx.js';
import type { Node, Token } from './lexer.js';
import type { TrackEntry, TrackFileConfig, TrackProcessConfig, VrrpScript } from './model.js';
import { readBlock, type Schema } from './schema.js';

export interface Trackables {
  scripts: Map<string, VrrpScript>;
  files: Map<string, TrackFileConfig>;
  procs: Map<string, TrackProcessConfig>;
}

/** `weight N [reverse|noreverse]` as the arguments of a definition's `weight` statement. */
function weightStmt(c: Ctx, e: Node, t: { weight: number; reverse: boolean }): void {
  const v = c.weightTok(e.args[0], e.key, 'weight', 'file');
  if (v !== undefined) t.weight = v;
  const r = e.args[1];
  if (r?.text === 'reverse') t.reverse = true;
  else if (r && r.text !== 'noreverse' && r.text !== 'no_reverse')
    c.warn(r, 'weight', `unexpected "${r.text}"`, 'expected weight N [reverse]');
}

export const TRACK_FILE_SCHEMA: Schema<TrackFileConfig> = {
  file: {
    read: (c, e, f) => {
      f.path = c.arg(e, 0, 'a file path')?.text ?? '';
    },
  },
  weight: { read: weightStmt },
  init_file: {
    // init_file [VALUE] [overwrite]: VALUE is an integer, default 0.
    read: (c, e, f) => {
      let value = 0;
      let overwrite = false;
      for (const a of e.args) {
        if (a.text === 'overwrite') overwrite = true;
        else if (/^-?\d+$/.test(a.text) && Math.abs(Number(a.text)) <= 2 ** 31) value = Number(a.text);
        else c.err(a, 'init_file', `expected [VALUE] [overwrite] with an integer VALUE, got "${a.text}"`);
      }
      f.initFile = { value, overwrite };
    },
  },
};

export function readTrackFile(c: Ctx, n: Node, name: string): TrackFileConfig {
  const f: TrackFileConfig = { name, path: '', weight: 1, reverse: false, pos: c.at(n.key) };
  readBlock(c, 'track_file', n, TRACK_FILE_SCHEMA, f);
  if (!f.path)
    c.err(n.key, n.key.text, `track file ${name} has no file`, 'add: file "/path/to/file"', 'CONFIG_MISSING_VALUE');
  return f;
}

interface ProcTarget {
  p: TrackProcessConfig;
  quorumTok?: Token;
}

export const TRACK_PROCESS_SCHEMA: Schema<ProcTarget> = {
  process: {
    read: (c, e, { p }) => {
      const a = c.arg(e, 0, 'a process name');
      if (a) {
        p.process = a.text;
        if (e.args.length > 1) p.params = e.args.slice(1).map((x) => x.text);
      }
    },
  },
  param_match: {
    // Bare param_match: the parameters must match exactly (keepalived).
    read: (c, e, { p }) => {
      const v = e.args[0]?.text ?? 'exact';
      if (v === 'initial' || v === 'partial' || v === 'exact') p.paramMatch = v;
      else c.err(e.args[0]!, 'param_match', `expected initial or partial (or nothing, meaning exact), got "${v}"`);
    },
  },
  full_command: {
    read: (_c, _e, { p }) => {
      p.fullCommand = true;
    },
  },
  weight: { read: (c, e, { p }) => weightStmt(c, e, p) },
  quorum: {
    read: (c, e, t) => {
      const v = c.int(e, 1, 65535);
      if (v) {
        t.p.quorum = v;
        t.quorumTok = e.args[0];
      }
    },
  },
  // quorum_max 0: healthy only while no such process runs (keepalived then sets quorum 0).
  quorum_max: {
    read: (c, e, t) => {
      const v = c.int(e, 0, 65535);
      if (v !== undefined) {
        t.p.quorumMax = v;
        t.quorumTok = e.args[0];
      }
    },
  },
  delay: {
    read: (c, e, { p }) => {
      const v = c.secs(e, 0, 3600);
      if (v !== undefined) {
        p.forkDelayMs = v;
        p.terminateDelayMs = v;
      }
    },
  },
  fork_delay: {
    read: (c, e, { p }) => {
      const v = c.secs(e, 0, 3600);
      if (v !== undefined) p.forkDelayMs = v;
    },
  },
  terminate_delay: {
    read: (c, e, { p }) => {
      const v = c.secs(e, 0, 3600);
      if (v !== undefined) p.terminateDelayMs = v;
    },
  },
};

export function readTrackProcess(c: Ctx, n: Node, name: string): TrackProcessConfig {
  // Default weight 0 (quorum loss = FAULT), as keepalived 2.2.7 does: test/lab/track-process-parity.test.ts.
  const t: ProcTarget = {
    p: { name, process: '', fullCommand: false, weight: 0, reverse: false, quorum: 1, pos: c.at(n.key) },
  };
  readBlock(c, 'vrrp_track_process', n, TRACK_PROCESS_SCHEMA, t);
  const p = t.p;
  if (p.quorumMax === 0) p.quorum = 0;
  else if (p.quorumMax !== undefined && p.quorumMax < p.quorum)
    c.err(
      t.quorumTok!,
      'quorum_max',
      `quorum_max ${p.quorumMax} is less than quorum ${p.quorum}`,
      undefined,
      'CONFIG_CONFLICT',
    );
  if (!p.process)
    c.err(n.key, n.key.text, `track process ${name} has no process`, 'add: process nginx', 'CONFIG_MISSING_VALUE');
  return p;
}

/** The entries of one `track_*` block: `NAME [weight N] [reverse|noreverse]`. */
function trackList(c: Ctx, n: Node, kind: WeightKind, defWeight: (name: string) => number): TrackEntry[] {
  const out: TrackEntry[] = [];
  for (const e of n.children ?? []) {
    let weight = defWeight(e.key.text);
    let reverse = false;
    for (let i = 0; i < e.args.length; i++) {
      const w = e.args[i]!.text;
      if (w === 'weight') {
        const v = c.weightTok(e.args[i + 1], e.args[i]!, n.key.text, kind);
        if (v !== undefined) weight = v;
        i++;
      } else if (w === 'reverse') reverse = true;
      else if (w === 'noreverse' || w === 'no_reverse') reverse = false;
      else c.warn(e.args[i]!, n.key.text, `unexpected "${w}"`, 'expected weight N [reverse]');
    }
    if (e.children) c.warn(e.key, n.key.text, `a { } block after ${e.key.text} is ignored`);
    out.push({ name: e.key.text, weight, reverse });
  }
  return out;
}

export type TrackKeyword = 'track_script' | 'track_interface' | 'track_file' | 'track_process';
export const TRACK_FIELDS = {
  track_script: 'trackScripts',
  track_interface: 'trackInterfaces',
  track_file: 'trackFiles',
  track_process: 'trackProcesses',
} as const;

/** track_script / track_interface / track_file / track_process entries of an instance or a sync group. */
export function trackRefs(c: Ctx, e: Node, t: Trackables): TrackEntry[] {
  const k = e.key.text as TrackKeyword;
  if (k === 'track_interface') {
    const list = trackList(c, e, 'script', () => 0);
    for (const [i, x] of list.entries()) checkIfName(c, e.children![i]!.key, k, x.name);
    return list;
  }
  const known: Map<string, { weight: number }> =
    k === 'track_script' ? t.scripts : k === 'track_file' ? t.files : t.procs;
  const list = trackList(
    c,
    e,
    k === 'track_script' ? 'script' : 'file',
    (nm) => known.get(nm)?.weight ?? (k === 'track_script' ? 0 : 1),
  );
  const what = k === 'track_script' ? 'vrrp_script' : `vrrp_${k}`;
  for (const [i, x] of list.entries())
    if (!known.has(x.name))
      c.err(
        e.children![i]!.key,
        k,
        `no ${what} named "${x.name}"`,
        `define it with ${what} NAME { … } (anywhere in the file)`,
        'CONFIG_REFERENCE',
      );
  return list;
}

/** Linux interface names: 1..15 bytes (IFNAMSIZ 16 with the NUL), no '/', ':' or blanks. */
export function checkIfName(c: Ctx, at: Token, keyword: string, name: string): boolean {
  if (Buffer.byteLength(name) > 15) {
    c.err(at, keyword, `interface name "${name}" is longer than 15 characters (Linux allows at most 15)`);
    return false;
  }
  if (!name || /[/:\s]/.test(name) || name === '.' || name === '..') {
    c.err(at, keyword, `"${name}" is not a valid interface name`);
    return false;
  }
  return true;
}

/** Adds `more` to `list`, skipping names already there (keepalived ignores a duplicate). */
export function mergeTracks(
  c: Ctx,
  keyword: string,
  list: TrackEntry[],
  more: TrackEntry[],
  at: (i: number) => Token | undefined,
): void {
  for (const [i, x] of more.entries()) {
    if (list.some((y) => y.name === x.name)) {
      const tok = at(i);
      if (tok) c.warn(tok, keyword, `${x.name} is already tracked; this entry is ignored (as keepalived does)`);
      continue;
    }
    list.push(x);
  }
}
