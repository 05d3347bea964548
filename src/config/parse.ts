/**
 * keepalived.conf statements → the typed model, with keepalived's defaults and checks
 * (keepalived.conf(5), keepalived 2.2.7's parsers). The blocks are tables (blocks.ts, one file per block);
 * this runs them in phase order. Every finding carries file:line:col; nothing throws on bad input.
 */
import type { Diagnostic } from './diagnostics.js';
import { FINISH, TOP, type Build } from './blocks.js';
import { Ctx } from './ctx.js';
import { defaultGlobals, resolveGlobals } from './global-block.js';
import type { Node } from './lexer.js';
import type { FloatdConfig } from './model.js';
import { checkShape, entry } from './schema.js';
import type { TopBlock } from './blocks.js';

export function buildModel(nodes: Node[], diags: Diagnostic[], files: string[]): FloatdConfig {
  const c = new Ctx();
  const b: Build = {
    cfg: {
      global: defaultGlobals(),
      scripts: [],
      trackFiles: [],
      trackProcesses: [],
      syncGroups: [],
      instances: [],
      floatingIps: [],
      webhooks: [],
      quorums: [],
      files,
    },
    global: { g: undefined as never, set: new Set() },
    trackables: { scripts: new Map(), files: new Map(), procs: new Map() },
  };
  b.global.g = b.cfg.global;
  for (const phase of [0, 1, 2] as const) {
    for (const n of nodes) {
      const top = entry(TOP, n.key.text);
      if (!top) {
        if (phase === 2) c.unknown(n, 'the top level', Object.keys(TOP));
        continue;
      }
      if (top.phase !== phase) continue;
      if (!top.read) {
        c.notYet(n);
        continue;
      }
      if (!topShape(c, n, top)) continue;
      top.read(c, n, b);
    }
    if (phase === 0) resolveGlobals(b.global);
  }
  b.cfg.scripts = [...b.trackables.scripts.values()];
  b.cfg.trackFiles = [...b.trackables.files.values()];
  b.cfg.trackProcesses = [...b.trackables.procs.values()];
  for (const f of FINISH) f(c, b);
  for (const d of c.diags) diags.push(d);
  return b.cfg;
}

/** A named block takes its name and a `{ }` block; words after the name are reported. */
function topShape(c: Ctx, n: Node, top: TopBlock): boolean {
  if (!top.named) return checkShape(c, n, top.shape ?? 'block');
  const k = n.key.text;
  if (!n.children) {
    c.err(n.key, k, `expected a { } block after ${k}`, undefined, 'CONFIG_SYNTAX');
    return false;
  }
  if (n.args.length > 1) c.warn(n.args[1]!, k, `words after the name of ${k} ${n.args[0]!.text} are ignored`);
  return true;
}
