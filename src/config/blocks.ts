/**
 * The top level as a table: every top-level keyword, the phase it is read in, and how. To add
 * a block (e.g. `virtual_server`, `floatd_quorum`), write its reader in its own file and add
 * one entry here; add a check over the whole model to FINISH if it refers to other blocks.
 * docs/config.md, "Adding a keyword or a block", says how.
 */
import { apiBlock } from './api-block.js';
import type { Ctx } from './ctx.js';
import { floatingIpBlock } from './floating-ip-block.js';
import { ROOT_SETTINGS, readGlobalDefs, type GlobalTarget } from './global-block.js';
import { readInstance } from './instance-block.js';
import type { Node } from './lexer.js';
import type { FloatdConfig } from './model.js';
import type { Shape, Status } from './schema.js';
import { readScript } from './script-block.js';
import { readSyncGroup } from './sync-group-block.js';
import { readTrackFile, readTrackProcess, type Trackables } from './track-blocks.js';
import { webhookBlock } from './webhook-block.js';
import { crossChecks } from './cross-checks.js';
import { checkQuorumRefs, quorumBlock } from './quorum-block.js';
import { readVirtualServer } from './lvs-block.js';
import { readVsGroup } from './lvs-group.js';

/** What top-level readers build: the model, the global_defs state and the named trackers. */
export interface Build {
  cfg: FloatdConfig;
  global: GlobalTarget;
  trackables: Trackables;
}

/**
 * - phase 0: global_defs (defaults every later block uses);
 * - phase 1: definitions other blocks refer to by name, whatever the order in the file;
 * - phase 2: everything else.
 */
export interface TopBlock {
  phase: 0 | 1 | 2;
  /** Absent: recognised, not acted on (reported as unsupported). */
  read?: (c: Ctx, n: Node, b: Build) => void;
  /** Default: `block` with a `read`, `any` without. */
  shape?: Shape;
  status?: Status;
  /** Needs a name (`vrrp_instance NAME { … }`): what it is called in the message when missing. */
  named?: string;
}

/** Reads `NAME` of a named block, or says what is missing. */
function nameOf(c: Ctx, n: Node, what: string): string | undefined {
  return c.arg(n, 0, what)?.text;
}

function named(what: string, read: (c: Ctx, n: Node, name: string, b: Build) => void, phase: 1 | 2 = 2): TopBlock {
  return {
    phase,
    named: what,
    read: (c, n, b) => {
      const name = nameOf(c, n, what);
      if (name !== undefined) read(c, n, name, b);
    },
  };
}

const trackFile = named(
  'a name',
  (c, n, name, b) => {
    b.trackables.files.set(name, readTrackFile(c, n, name));
  },
  1,
);

export const TOP: Readonly<Record<string, TopBlock>> = {
  global_defs: { phase: 0, read: (c, n, b) => readGlobalDefs(c, n, b.global) },
  vrrp_script: named(
    'a script name',
    (c, n, name, b) => {
      b.trackables.scripts.set(name, readScript(c, n, name));
    },
    1,
  ),
  track_file: trackFile,
  vrrp_track_file: trackFile,
  vrrp_track_process: named(
    'a name',
    (c, n, name, b) => {
      b.trackables.procs.set(name, readTrackProcess(c, n, name));
    },
    1,
  ),
  vrrp_instance: named('an instance name', (c, n, name, b) => {
    if (b.cfg.instances.some((i) => i.name === name)) {
      c.err(n.args[0]!, 'vrrp_instance', `duplicate vrrp_instance ${name}`, undefined, 'CONFIG_CONFLICT');
      return;
    }
    const ic = readInstance(c, n, name, b.global.g, b.trackables);
    if (ic) b.cfg.instances.push(ic);
  }),
  vrrp_sync_group: named('a group name', (c, n, name, b) => {
    b.cfg.syncGroups.push(readSyncGroup(c, n, name, b.trackables));
  }),
  notify_webhook: {
    phase: 2,
    status: 'floatd',
    named: 'a webhook name',
    read: (c, n, b) => {
      const w = webhookBlock(c, n);
      if (w) b.cfg.webhooks.push(w);
    },
  },
  floating_ip: {
    phase: 2,
    status: 'floatd',
    named: 'a floating_ip name',
    read: (c, n, b) => {
      const f = floatingIpBlock(c, n);
      if (!f) return;
      if (b.cfg.floatingIps.some((x) => x.name === f.name))
        c.err(n.key, 'floating_ip', `duplicate floating_ip ${f.name}`, undefined, 'CONFIG_CONFLICT');
      else b.cfg.floatingIps.push(f);
    },
  },
  floatd_api: {
    phase: 2,
    status: 'floatd',
    read: (c, n, b) => {
      if (b.cfg.api)
        c.err(n.key, 'floatd_api', 'a second floatd_api block', 'merge the two blocks into one', 'CONFIG_CONFLICT');
      else b.cfg.api = apiBlock(c, n);
    },
  },
  floatd_quorum: {
    phase: 2,
    status: 'floatd',
    named: 'a floatd_quorum name',
    read: (c, n, b) => {
      const q = quorumBlock(c, n);
      if (q && b.cfg.quorums.some((x) => x.name === q.name))
        c.err(n.key, 'floatd_quorum', `duplicate floatd_quorum ${q.name}`, undefined, 'CONFIG_CONFLICT');
      else if (q) b.cfg.quorums.push(q);
    },
  },
  // keepalived's LVS half, run on nftables (src/lb, docs/lb.md).
  virtual_server_group: { phase: 1, shape: 'any', read: (c, n, b) => readVsGroup(c, n, b) },
  virtual_server: {
    phase: 2,
    shape: 'any',
    read: (c, n, b) => readVirtualServer(c, n, b, (b.cfg.virtualServers ??= [])),
  },
  ...Object.fromEntries(
    [
      'bfd_instance',
      'static_ipaddress',
      'static_routes',
      'static_rules',
      'linkbeat_interfaces',
      'garp_group',
      'track_group',
      'interface_up_down_delays',
      'SSL',
      'quorum',
      ...ROOT_SETTINGS,
    ].map((k): [string, TopBlock] => [k, { phase: 2 }]),
  ),
};

/** Checks over the whole model once every block is read (references between blocks, clashes). */
export const FINISH: ((c: Ctx, b: Build) => void)[] = [crossChecks, (c, b) => checkQuorumRefs(b.cfg, c.diags)];
