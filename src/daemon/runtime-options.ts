/**
 * What a Runtime is built from: the configuration loader, the clock and logger, and the ports
 * (sockets, dataplane, link watch, trackers' hooks, cloud drivers, lease store) that tests and
 * the simulator replace.
 */
import type { FloatdConfig, QuorumConfig } from '../config/index.js';
import type { ProviderFactory } from '../cloud/types.js';
import type { LeaseBackend } from '../quorum/etcd.js';
import type { TrackerSetOptions } from '../track/tracker-set.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Executor, ExecutorDeps } from './executor.js';
import type { DataplanePort, LinkWatchPort, SocketOpener } from './ports.js';

export interface RuntimeOptions {
  configFile: string;
  /** Reads the configuration; 'reload' must not block the event loop (a worker parse, issue 15 item 6). */
  load(path: string, purpose?: 'start' | 'reload'): Promise<{ config: FloatdConfig | null; errors: string[] }>;
  clock: Clock;
  log: Logger;
  /** Test hook: replaces raw sockets (the simulator and unit tests use an in-memory network). */
  openSocket?: SocketOpener;
  /** Cloud drivers by provider name (tests may inject); default: every built-in driver. */
  cloudProviders?: Record<string, ProviderFactory>;
  /** The kernel side; default: `ip` + the addon (dataplane.ts). */
  dataplane?: DataplanePort;
  /** Link/address events; default: net/link-watch.ts. */
  linkWatch?: () => LinkWatchPort;
  /** Tracker hooks (script runner, process scan, probes); the clock is always the runtime's. */
  trackerHooks?: Pick<TrackerSetOptions, 'runner' | 'scan' | 'netProbe' | 'readTrackFile'>;
  /** Test hook: an executor variant (the simulator plants bugs with it). */
  makeExecutor?: (deps: ExecutorDeps) => Executor;
  /** Notify scripts and secret files; default: fs. */
  readFile?: (file: string) => string;
  /** Test hook: quorum mode's lease store (the simulator's in-memory etcd); default: etcd. */
  leaseBackend?: (q: QuorumConfig) => LeaseBackend;
  /** Instances held at the lowest priority with no end (maintenance, persisted by the caller). */
  holds?: () => ReadonlySet<string>;
}
