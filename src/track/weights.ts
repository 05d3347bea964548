/**
 * keepalived's tracking arithmetic that is not the rise/fall counter, pure: which weights an
 * instance may use at all (owner / sync group rules), track_file's value × weight, and
 * track_process's quorum.
 */
import type { InstanceTrackingSpec, TrackRef } from './types.js';

/** Contribution at or below this makes a track_file a fault (keepalived's -254). */
export const FILE_FAULT = -254;

export interface NormalisedTracks {
  tracks: TrackRef[];
  warnings: string[];
}

/**
 * Applies keepalived's vrrp_complete_instance() rules. An address owner (priority 255) cannot
 * move, so weighted trackers are dropped (a weighted interface stops being tracked). A sync-group
 * member without sync_group_tracking_weight keeps tracking but without weights: a weighted
 * interface becomes a fault trigger, weighted scripts and processes are dropped, a track_file
 * with the default weight 1 becomes a fault trigger and one with any other weight is dropped.
 */
export function normaliseTracks(spec: InstanceTrackingSpec): NormalisedTracks {
  const owner = spec.basePriority === 255;
  const syncNoWeight = !!spec.inSyncGroup && !spec.syncGroupTrackingWeight;
  if (!owner && !syncNoWeight) return { tracks: dedupe(spec.tracks), warnings: [] };
  const why = syncNoWeight
    ? 'sync group (set sync_group_tracking_weight to keep weights)'
    : 'priority 255 (address owner)';
  const tracks: TrackRef[] = [];
  const warnings: string[] = [];
  for (const t of dedupe(spec.tracks)) {
    if (t.weight === 0) {
      tracks.push(t);
      continue;
    }
    if (t.kind === 'interface' && syncNoWeight) {
      tracks.push({ ...t, weight: 0 });
      warnings.push(
        `(${spec.name}) ignoring weight of tracked interface ${t.name} due to ${why}: it now puts the instance in ` +
          'FAULT when down',
      );
    } else if (t.kind === 'file' && t.weight === 1) {
      tracks.push({ ...t, weight: 0 });
      warnings.push(
        `(${spec.name}) ignoring weight of tracked file ${t.name} due to ${why}: a non-zero value now means FAULT ` +
          '(specify weight 0 to silence this)',
      );
    } else {
      warnings.push(`(${spec.name}) ignoring tracked ${t.kind} ${t.name} with weight ${t.weight} due to ${why}`);
    }
  }
  return { tracks, warnings };
}

/** keepalived ignores a second tracking line for the same object. */
function dedupe(tracks: readonly TrackRef[]): TrackRef[] {
  const seen = new Set<string>();
  return tracks.filter((t) => {
    const k = `${t.kind}\0${t.name}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * track_file: weight 0 ⇒ a non-zero value is a fault (zero is, when reversed). Otherwise the
 * value × weight (× -1 reversed) clamped to [-254, 253]; reaching -254 is a fault and then
 * contributes nothing.
 */
export function fileContribution(value: number, weight: number, reverse: boolean): { delta: number; fault: boolean } {
  if (weight === 0) return { delta: 0, fault: (value !== 0) !== reverse };
  const raw = value * weight * (reverse ? -1 : 1);
  const v = Math.max(FILE_FAULT, Math.min(253, raw));
  return v === FILE_FAULT ? { delta: 0, fault: true } : { delta: v, fault: false };
}

/** track_process: quorum holds while quorum ≤ count ≤ quorumMax. */
export function hasQuorum(count: number, quorum = 1, quorumMax = Infinity): boolean {
  return count >= quorum && count <= quorumMax;
}

/** keepalived's effective priority: owners stay at 255, others are clamped to [1, 254]. */
export function effectivePriority(base: number, delta: number): number {
  if (base === 255) return 255;
  return Math.max(1, Math.min(254, base + delta));
}
