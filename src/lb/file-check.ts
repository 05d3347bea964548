/**
 * FILE_CHECK's verdict (pure), keepalived 2.2.7's arithmetic (trackers/track_file.c,
 * check/check_file.c): with weight 0 a non-zero value is down (with reverse, zero is); with a
 * weight, value × weight (negated by reverse) is added to the real server's weight, and a product
 * at or below −2^31 (IPVS_WEIGHT_FAULT) is down. The server's weight is then clamped to 0..65535
 * by membership.ts (keepalived's real_weight clamps at 0: listed, no new connections).
 */
import type { FileCheckConfig } from '../config/lvs-model.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export interface FileVerdict {
  up: boolean;
  /** Added to the server's weight while up (0 with weight 0). */
  delta: number;
  detail: string;
}

export function fileVerdict(ch: Pick<FileCheckConfig, 'weight' | 'reverse' | 'path'>, value: number): FileVerdict {
  const detail = `${ch.path} reads ${value}`;
  if (ch.weight === 0) return { up: ch.reverse ? value !== 0 : value === 0, delta: 0, detail };
  const s = value * ch.weight * (ch.reverse ? -1 : 1);
  if (s <= INT32_MIN) return { up: false, delta: 0, detail: `${detail} (× weight ${ch.weight}: fault)` };
  return { up: true, delta: Math.min(s, INT32_MAX), detail };
}
