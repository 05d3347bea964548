/**
 * loadConfigBounded: the same parse as loadConfig, in a worker thread with a time and a heap
 * bound, so a running daemon's event loop (adverts, timers) never waits for a parse and a
 * hostile or broken file costs at most `timeoutMs` and `maxHeapMb` (issue 15 item 6).
 * On timeout or out-of-memory the worker is terminated and the result is a positioned error
 * with code `limit` and `config: null`: the caller keeps what it runs.
 */
import { Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import { afterUs, msToUs, realClock, type Clock } from '../util/clock.js';
import type { LoadResult, ParseOptions } from './index.js';

export interface BoundedOptions extends ParseOptions {
  /** Wall time for the whole parse, includes and all (default 10 s). */
  timeoutMs?: number;
  /** V8 old-generation heap of the worker (default 256 MB). */
  maxHeapMb?: number;
  clock?: Clock;
}

export const BOUNDED_DEFAULTS = { timeoutMs: 10_000, maxHeapMb: 256 } as const;

function failed(path: string, message: string): LoadResult {
  return {
    config: null,
    diagnostics: [{ severity: 'error', file: path, line: 0, col: 0, code: 'CONFIG_LIMIT', message }],
  };
}

export function loadConfigBounded(path: string, o: BoundedOptions = {}): Promise<LoadResult> {
  const timeoutMs = o.timeoutMs ?? BOUNDED_DEFAULTS.timeoutMs;
  const maxHeapMb = o.maxHeapMb ?? BOUNDED_DEFAULTS.maxHeapMb;
  const clock = o.clock ?? realClock;
  const opts: ParseOptions = {
    ...(o.configIds ? { configIds: o.configIds } : {}),
    ...(o.purpose
      ? {
          purpose: o.purpose,
        }
      : {}),
  };
  return new Promise((done) => {
    let settled = false;
    const w = new Worker(new URL('./load-worker.js', import.meta.url), {
      workerData: { path: resolve(path), opts },
      resourceLimits: {
        maxOldGenerationSizeMb: maxHeapMb,
        maxYoungGenerationSizeMb: Math.min(32, Math.max(4, maxHeapMb / 8)),
        stackSizeMb: 4,
      },
      stdout: false,
      stderr: false,
    });
    const finish = (r: LoadResult): void => {
      if (settled) return;
      settled = true;
      clock.cancel(timer);
      void w.terminate();
      done(r);
    };
    const timer = afterUs(clock, msToUs(timeoutMs), () =>
      finish(failed(path, `parsing took longer than ${timeoutMs} ms and was stopped; nothing was changed`)),
    );
    w.once('message', (r: LoadResult) => finish(r));
    w.once('error', (e: Error & { code?: string }) => {
      finish(
        failed(
          path,
          e.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `parsing needed more than ${maxHeapMb} MB and was stopped; nothing was changed`
            : `the parser failed: ${e.message}`,
        ),
      );
    });
    w.once('exit', (code) => finish(failed(path, `the parser stopped (exit ${code}) without a result`)));
  });
}
