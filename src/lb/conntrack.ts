/**
 * The kernel's connection table, for drains: read here, parsed and counted by drain.ts. /proc/net is per
 * network namespace, so this is the table of the namespace floatd runs in. Unreadable (no
 * CONFIG_NF_CONNTRACK_PROCFS): undefined, and a drain ends by its timeout only.
 */
import { readFile } from 'node:fs/promises';
import type { VirtualServerConfig } from '../config/lvs-model.js';
import type { Logger } from '../util/log.js';
import { openConnections, parseConntrack } from './drain.js';

export const CONNTRACK_FILE = '/proc/net/nf_conntrack';

export async function readConntrack(): Promise<string | undefined> {
  try {
    return await readFile(CONNTRACK_FILE, 'utf8');
  } catch {
    return undefined;
  }
}

/** Open connections per `vsKey rsKey` from the table (undefined when it cannot be read: said once). */
export class ConntrackReader {
  private warned = false;
  constructor(
    private readonly log: Logger,
    private readonly read: () => Promise<string | undefined> = readConntrack,
  ) {}

  async open(vss: VirtualServerConfig[]): Promise<Map<string, number> | undefined> {
    const text = await this.read();
    if (text !== undefined) return openConnections(parseConntrack(text), vss);
    if (!this.warned)
      this.log.warn(
        { event: 'lb.conntrack_unreadable' },
        `${CONNTRACK_FILE} cannot be read: drains end by their timeout only`,
      );
    this.warned = true;
    return undefined;
  }
}
