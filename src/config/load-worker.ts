/** The worker side of loadConfigBounded: parse the file, post the result, exit. */
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig, type ParseOptions } from './index.js';

const { path, opts } = workerData as { path: string; opts: ParseOptions };
parentPort!.postMessage(await loadConfig(path, opts));
