/**
 * Turns the current state of an instance's trackers into what the VRRP state machine consumes:
 * a priority delta (Σ of weighted contributions), the names of failing fault triggers (weight-0
 * trackers), and whether a fault trigger still awaits its first result (keepalived holds the
 * instance in INIT until then). Pure.
 */
import { contribution, type CheckStatus } from './rise-fall.js';
import { fileContribution } from './weights.js';
import type { TrackKind, TrackRef } from './types.js';

/** The observable state of one tracker. */
export type TrackerValue = { kind: Exclude<TrackKind, 'file'>; status: CheckStatus } | { kind: 'file'; value: number };

export interface InstanceAggregate {
  /** Σ weighted contributions; the state machine adds it to the base priority and clamps. */
  priorityDelta: number;
  /** Names of weight-0 trackers currently failing, in tracking order. */
  faults: string[];
  /** A weight-0 tracker has not reported yet. */
  pendingInit: boolean;
}

export interface TrackContribution {
  ref: TrackRef;
  delta: number;
  fault: boolean;
  pending: boolean;
}

/** Each tracking line's share; lines whose tracker is unknown are skipped (keepalived ignores them). */
export function contributions(
  tracks: readonly TrackRef[],
  lookup: (t: TrackRef) => TrackerValue | undefined,
): TrackContribution[] {
  const out: TrackContribution[] = [];
  for (const ref of tracks) {
    const v = lookup(ref);
    if (!v) continue;
    if (v.kind === 'file') {
      out.push({ ref, ...fileContribution(v.value, ref.weight, ref.reverse), pending: false });
    } else {
      const c = contribution(v.status, ref.weight, ref.reverse);
      out.push({ ref, ...c, pending: ref.weight === 0 && v.status === 'init' });
    }
  }
  return out;
}

export function aggregate(
  tracks: readonly TrackRef[],
  lookup: (t: TrackRef) => TrackerValue | undefined,
): InstanceAggregate {
  let priorityDelta = 0;
  const faults: string[] = [];
  let pendingInit = false;
  for (const c of contributions(tracks, lookup)) {
    priorityDelta += c.delta;
    if (c.fault) faults.push(c.ref.name);
    if (c.pending) pendingInit = true;
  }
  return { priorityDelta, faults, pendingInit };
}

export function sameAggregate(a: InstanceAggregate, b: InstanceAggregate): boolean {
  return (
    a.priorityDelta === b.priorityDelta &&
    a.pendingInit === b.pendingInit &&
    a.faults.length === b.faults.length &&
    a.faults.every((f, i) => f === b.faults[i])
  );
}
