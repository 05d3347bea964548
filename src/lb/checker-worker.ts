/**
 * The checker pool's thread (worker side of worker-pool.ts): the same CheckerPool, its probes and
 * timers, on its own event loop, so a thousand checks a second never delay a VRRP advert on the
 * main one. It posts verdict changes at once (coalesced per turn of its loop) and every check's
 * state once a second, for status.
 */
import { parentPort } from 'node:worker_threads';
import { CheckerPool, verdictSig, type CheckState } from './checker-pool.js';
import type { LvsCheckConfig } from '../config/lvs-model.js';
import type { Target } from './probes.js';
import { afterUs, realClock, US_PER_S, type TimerHandle } from '../util/clock.js';

export type ToWorker =
  | { t: 'sync'; wanted: [string, { ch: LvsCheckConfig; target: Target }][] }
  | { t: 'suspend'; keys: string[] }
  | { t: 'stop' };
export type FromWorker = { t: 'states'; states: [string, CheckState][] } | { t: 'warn'; msg: string };

const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);
// The worker thread's own realClock: the same module (and source) as the main thread's.
const clock = realClock;
const sentSig = new Map<string, string>();
const sentRuns = new Map<string, number>();
let flushing = false;
let snapshot: TimerHandle | undefined;

/** Posts the states that changed: all verdict changes, or (`all`) every check that ran. */
function flush(all: boolean): void {
  const out: [string, CheckState][] = [];
  for (const [k, st] of pool.states()) {
    const sig = verdictSig(st);
    if (sentSig.get(k) === sig && (!all || sentRuns.get(k) === st.runs)) continue;
    sentSig.set(k, sig);
    sentRuns.set(k, st.runs);
    out.push([k, st]);
  }
  if (out.length) post({ t: 'states', states: out });
}

const pool = new CheckerPool({
  clock,
  onChange: () => {
    if (flushing) return;
    flushing = true;
    queueMicrotask(() => {
      flushing = false;
      flush(false);
    });
  },
  onWarn: (msg) => post({ t: 'warn', msg }),
});

function every(): void {
  flush(true);
  snapshot = afterUs(clock, US_PER_S, every, { weak: true });
}

port.on('message', (m: ToWorker) => {
  if (m.t === 'stop') {
    pool.stop();
    if (snapshot !== undefined) clock.cancel(snapshot);
    port.close();
    return;
  }
  if (m.t === 'suspend') {
    pool.suspend(new Set(m.keys));
    return;
  }
  pool.sync(new Map(m.wanted));
  for (const k of [...sentSig.keys()])
    if (!pool.state(k)) {
      sentSig.delete(k);
      sentRuns.delete(k);
    }
  if (snapshot === undefined) every();
});
