/**
 * `FILE_CHECK { track_file NAME; weight N [reverse] }` inside a `real_server` (keepalived 2.2.7,
 * check/check_file.c): NAME is a top-level `track_file` / `vrrp_track_file` block, whose file's
 * integer floatd watches (src/track/file-tracker.ts). Without its own weight the check takes the
 * track_file's. It has none of the other checkers' options; those are reported and ignored.
 */
import type { Node } from './lexer.js';
import type { CheckDefaults, LvsCtx } from './lvs-check-block.js';
import type { FileCheckConfig } from './lvs-model.js';

/** keepalived's range for a FILE_CHECK weight (IPVS_WEIGHT_LIMIT = INT32_MAX). */
const LIMIT = 2 ** 31 - 1;

export function fileCheck(c: LvsCtx, n: Node, d: CheckDefaults): FileCheckConfig | undefined {
  let name: string | undefined;
  let weight: number | undefined;
  let reverse = false;
  for (const e of n.children ?? []) {
    const k = e.key.text;
    if (k === 'track_file') {
      const a = c.arg(e, 0, 'a track_file name');
      if (!a) continue;
      if (!d.trackFiles?.has(a.text)) {
        c.err(
          a,
          k,
          `track_file ${a.text} not found`,
          'define it at the top level: track_file NAME { file PATH }',
          'CONFIG_REFERENCE',
        );
        return undefined;
      }
      name = a.text;
    } else if (k === 'weight') {
      const v = c.int(e, -LIMIT, LIMIT);
      if (v === undefined) return undefined;
      weight = v;
      const r = e.args[1]?.text;
      if (r === 'reverse') reverse = true;
      else if (r !== undefined && r !== 'noreverse') {
        c.err(e.args[1]!, k, `unknown weight option "${r}"`, 'expected weight N [reverse]');
        return undefined;
      }
    } else c.warn(e.key, k, `FILE_CHECK takes only track_file and weight; ${k} ignored`);
  }
  const tf = name === undefined ? undefined : d.trackFiles?.get(name);
  if (!tf) {
    c.err(n.key, 'FILE_CHECK', 'FILE_CHECK has no track_file', 'add: track_file NAME', 'CONFIG_MISSING_VALUE');
    return undefined;
  }
  return {
    kind: 'FILE_CHECK',
    trackFile: tf.name,
    path: tf.path,
    weight: weight ?? tf.weight,
    reverse: weight === undefined ? tf.reverse : reverse,
    ...(tf.initFile ? { initFile: tf.initFile } : {}),
    // Not used by a watched file; kept so every checker has one shape. Never alpha (keepalived
    // clears it: the file's state is known at once).
    connectTimeoutMs: d.connectTimeoutMs,
    retry: 0,
    delayBeforeRetryMs: 0,
    delayLoopMs: d.delayLoopMs,
    warmupMs: 0,
    alpha: false,
    pos: c.at(n.key),
  };
}
