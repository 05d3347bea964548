/**
 * The checker pool in a worker thread (shell, main side). The main thread keeps a mirror of
 * every check's state, fed by the worker's messages (verdict changes at once, all states once a
 * second), so `verdict` and `state` stay synchronous for the membership step and status. If the
 * worker fails, the checks move back onto this thread (an in-process CheckerPool, states
 * starting afresh) and the log says so.
 */
import { Worker } from 'node:worker_threads';
import type { LvsCheckConfig } from '../config/lvs-model.js';
import {
  CheckerPool,
  initialCheck,
  verdictOf,
  verdictSig,
  type CheckState,
  type Checkers,
  type PoolOptions,
} from './checker-pool.js';
import type { FromWorker, ToWorker } from './checker-worker.js';
import type { CheckVerdict } from './membership.js';
import type { Target } from './probes.js';

export class WorkerCheckerPool implements Checkers {
  private readonly mirror = new Map<string, CheckState>();
  private worker: Worker | undefined;
  private fallback: CheckerPool | undefined;
  private wanted = new Map<string, { ch: LvsCheckConfig; target: Target }>();
  private stopping = false;
  private suspended = new Set<string>();

  constructor(private readonly o: PoolOptions & { onFailure(msg: string): void }) {}

  get size(): number {
    return this.fallback?.size ?? this.mirror.size;
  }

  sync(wanted: Map<string, { ch: LvsCheckConfig; target: Target }>): void {
    this.wanted = new Map(wanted);
    if (this.fallback) return this.fallback.sync(wanted);
    for (const k of [...this.mirror.keys()]) if (!wanted.has(k)) this.mirror.delete(k);
    for (const k of [...this.suspended]) if (!wanted.has(k)) this.suspended.delete(k);
    for (const [k, w] of wanted) if (!this.mirror.has(k)) this.mirror.set(k, initialCheck(w.ch));
    this.send({ t: 'sync', wanted: [...wanted] });
  }

  verdict(key: string): CheckVerdict | undefined {
    if (this.fallback) return this.fallback.verdict(key);
    const st = this.mirror.get(key);
    return st ? verdictOf(st) : undefined;
  }

  state(key: string): CheckState | undefined {
    return this.fallback ? this.fallback.state(key) : this.mirror.get(key);
  }

  suspend(keys: ReadonlySet<string>): { suspended: string[]; resumed: string[] } {
    if (this.fallback) return this.fallback.suspend(keys);
    const now = new Set([...keys].filter((k) => this.mirror.has(k)));
    const out = {
      suspended: [...now].filter((k) => !this.suspended.has(k)),
      resumed: [...this.suspended].filter((k) => !now.has(k) && this.mirror.has(k)),
    };
    this.suspended = now;
    if (out.suspended.length || out.resumed.length) this.send({ t: 'suspend', keys: [...now] });
    return out;
  }

  isSuspended(key: string): boolean {
    return this.fallback ? this.fallback.isSuspended(key) : this.suspended.has(key);
  }

  stop(): void {
    this.stopping = true;
    this.fallback?.stop();
    if (this.worker) {
      this.worker.postMessage({ t: 'stop' } satisfies ToWorker);
      void this.worker.terminate();
      this.worker = undefined;
    }
  }

  private send(m: ToWorker): void {
    if (!this.worker) this.worker = this.start();
    this.worker.postMessage(m);
  }

  private start(): Worker {
    const w = new Worker(new URL('./checker-worker.js', import.meta.url));
    w.unref();
    w.on('message', (m: FromWorker) => this.receive(m));
    w.once('error', (e) => this.failed(`the checker thread failed: ${e.message}`));
    w.once('exit', (code) => this.failed(`the checker thread stopped (exit ${code})`));
    return w;
  }

  private receive(m: FromWorker): void {
    if (m.t === 'warn') return this.o.onWarn?.(m.msg);
    let changed = false;
    for (const [k, st] of m.states) {
      const was = this.mirror.get(k);
      if (!was || !this.wanted.has(k)) continue; // a check removed meanwhile
      if (verdictSig(was) !== verdictSig(st)) changed = true;
      this.mirror.set(k, st);
    }
    if (changed) this.o.onChange('');
  }

  private failed(msg: string): void {
    if (this.stopping || this.fallback) return;
    this.worker = undefined;
    this.o.onFailure(`${msg}; checks continue on the main thread`);
    this.fallback = new CheckerPool(this.o);
    this.mirror.clear();
    this.fallback.sync(this.wanted);
    this.fallback.suspend(this.suspended);
    this.o.onChange('');
  }
}
