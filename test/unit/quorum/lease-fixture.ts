/**
 * The lease timing the quorum unit tests share (lease.test.ts, failsafe.test.ts): ttl 2 s, a renewal
 * every 0.4 s, a 0.5 s margin, kernel lifetimes of 1 s; and what the tests derive from it.
 */
import { CLOCK_RATE_BOUND, type LeaseAction, type LeaseTiming } from '../../../src/quorum/lease.js';

export const T: LeaseTiming = {
  ttlUs: 2_000_000,
  renewUs: 400_000,
  marginUs: 500_000,
  kernelLifetimeUs: 1_000_000,
  retryUs: 500_000,
};
/** The ttl as this node may count it: shortened by the clock-rate bound. */
export const ttlEff = Math.floor(T.ttlUs * (1 - CLOCK_RATE_BOUND));
/** The action types, in order. */
export const types = (a: LeaseAction[]): string[] => a.map((x) => x.type);
