/**
 * The linearizable key check beside each renewal (docs/quorum.md, "Key check"): the holder reads its
 * key with serializable=false every renewal period. Such a read is ordered after our create, so it
 * sees our key unless the key is gone. A keepalive that answers without renewing (etcd#14758/#20547)
 * or a missed watch event is caught here within one renewal period.
 */
import type { LeaseEvent } from './lease-types.js';

/** Lease ids are etcd int64s (decimal strings; compared as numbers in case the client formats them). */
export function sameLease(a: string, b: string): boolean {
  try {
    return BigInt(a) === BigInt(b);
  } catch {
    return a === b;
  }
}

/**
 * Why the answer fences the hold (`held`), or undefined: it does not (the key is ours, or the read
 * was sent under an earlier hold and says nothing about this one).
 */
export function keyCheckFails(
  key: string,
  held: { epoch: number; leaseId: string },
  ev: Extract<LeaseEvent, { type: 'keyChecked' }>,
): string | undefined {
  if (ev.epoch !== held.epoch) return undefined;
  const f = ev.found;
  if (f && f.epoch === held.epoch && sameLease(f.leaseId, held.leaseId)) return undefined;
  const what = f ? `epoch ${f.epoch} under lease ${f.leaseId}` : 'no such key';
  return `the key check of ${key} found ${what} (ours: epoch ${held.epoch}, lease ${held.leaseId})`;
}
