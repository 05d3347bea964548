/**
 * Schedulers as slot tables (pure). nftables picks a slot per new connection, with `numgen inc`
 * (rr, wrr, fo) or `jhash` of the source/destination (sh, dh, mh), and the slot names the real
 * server. A table holds only servers in rotation, with a weight above 0.
 *
 * - rr: every server once; wrr: IPVS's interleaved sequence (weights / gcd); fo: the heaviest.
 * - sh/dh: IPVS's 256 buckets, each server `weight / gcd` consecutive buckets in turn.
 * - mh: Maglev (IPVS's default table size, 4093): removing one server moves only its slots.
 */
import { createHash } from 'node:crypto';
import type { LvsSched } from '../config/lvs-model.js';

export interface SlotServer {
  address: string;
  port: number;
  weight: number;
}

export const SH_BUCKETS = 256;
export const MH_TABLE = 4093;

function gcd(a: number, b: number): number {
  return b ? gcd(b, a % b) : a;
}
const gcdOf = (ws: number[]): number => ws.reduce((g, w) => gcd(g, w), 0) || 1;

/** IPVS wrr: scan servers, lowering the current weight by gcd each round, taking those at or above it. */
export function wrrSequence<T extends SlotServer>(servers: T[]): T[] {
  const live = servers.filter((s) => s.weight > 0);
  if (!live.length) return [];
  const g = gcdOf(live.map((s) => s.weight));
  const max = Math.max(...live.map((s) => s.weight));
  const out: T[] = [];
  for (let cw = max; cw > 0; cw -= g) for (const s of live) if (s.weight >= cw) out.push(s);
  return out;
}

function buckets<T extends SlotServer>(servers: T[], size: number): T[] {
  const live = servers.filter((s) => s.weight > 0);
  if (!live.length) return [];
  const g = gcdOf(live.map((s) => s.weight));
  const out: T[] = [];
  let p = 0;
  let n = 0;
  for (let i = 0; i < size; i++) {
    const s = live[p]!;
    out.push(s);
    if (++n >= s.weight / g) {
      p = (p + 1) % live.length;
      n = 0;
    }
  }
  return out;
}

function hash32(text: string, seed: string): number {
  return createHash('sha1').update(seed).update(text).digest().readUInt32BE(0);
}

/** Maglev's population: each server walks its own permutation, `weight / gcd` turns per round. */
export function maglev<T extends SlotServer>(servers: T[], size = MH_TABLE): T[] {
  const live = servers.filter((s) => s.weight > 0);
  if (!live.length) return [];
  const g = gcdOf(live.map((s) => s.weight));
  const perm = live.map((s) => {
    const name = `${s.address}:${s.port}`;
    return {
      offset: hash32(name, 'o') % size,
      skip: (hash32(name, 's') % (size - 1)) + 1,
      next: 0,
      turns: s.weight / g,
    };
  });
  const table: (T | undefined)[] = new Array(size).fill(undefined);
  let filled = 0;
  while (filled < size) {
    for (let i = 0; i < live.length && filled < size; i++) {
      const p = perm[i]!;
      for (let t = 0; t < p.turns && filled < size; t++) {
        let c = (p.offset + p.next * p.skip) % size;
        while (table[c] !== undefined) {
          p.next++;
          c = (p.offset + p.next * p.skip) % size;
        }
        table[c] = live[i];
        p.next++;
        filled++;
      }
    }
  }
  return table as T[];
}

/** The slot table for a scheduler; [] when no server has a weight above 0. */
export function slotTable<T extends SlotServer>(sched: LvsSched, servers: T[]): T[] {
  const live = servers.filter((s) => s.weight > 0);
  switch (sched) {
    case 'rr':
      return live;
    case 'wrr':
      return wrrSequence(live);
    case 'fo':
      return live.length ? [live.reduce((a, b) => (b.weight > a.weight ? b : a))] : [];
    case 'sh':
    case 'dh':
      return buckets(live, SH_BUCKETS);
    case 'mh':
      return maglev(live);
  }
}

/** How a slot is chosen: per connection in turn, or by hashing the client (or destination). */
export function selectorKind(sched: LvsSched): 'numgen' | 'saddr' | 'daddr' {
  return sched === 'sh' || sched === 'mh' ? 'saddr' : sched === 'dh' ? 'daddr' : 'numgen';
}
