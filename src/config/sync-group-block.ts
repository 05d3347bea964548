/** `vrrp_sync_group NAME { group { … } … }`: instances that change state together. */
import type { Ctx } from './ctx.js';
import type { Node } from './lexer.js';
import type { SyncGroupConfig } from './model.js';
import { notifyEntries } from './notify.js';
import { quorumRef } from './quorum-block.js';
import { notYet, readBlock, type Keyword, type Schema } from './schema.js';
import { mergeTracks, TRACK_FIELDS, trackRefs, type TrackKeyword, type Trackables } from './track-blocks.js';

interface SyncTarget {
  sg: SyncGroupConfig;
  t: Trackables;
}

/**
 * Checked like an instance's; every member instance tracks them too (crossChecks adds them,
 * keepalived's semantics).
 */
function track(k: TrackKeyword): Keyword<SyncTarget> {
  return {
    shape: 'block',
    read: (c, e, { sg, t }) =>
      mergeTracks(c, k, (sg[TRACK_FIELDS[k]] ??= []), trackRefs(c, e, t), (i) => e.children?.[i]?.key),
  };
}

export const SYNC_GROUP_SCHEMA: Schema<SyncTarget> = {
  group: {
    shape: 'block',
    read: (_c, e, { sg }) => {
      sg.members = (e.children ?? []).map((m) => m.key.text);
    },
  },
  quorum: { status: 'floatd', read: (c, e, { sg }) => quorumRef(c, e, sg) },
  floating_ip: {
    status: 'floatd',
    read: (c, e, { sg }) => {
      const a = c.arg(e, 0, 'a floating_ip name');
      if (a) (sg.floatingIps ??= []).push(a.text);
    },
  },
  ...notifyEntries<SyncTarget>(
    (t) => (t.sg.notify ??= {}),
    ['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify'],
  ),
  track_script: track('track_script'),
  track_interface: track('track_interface'),
  track_file: track('track_file'),
  track_process: track('track_process'),
  ...notYet([
    'track_bfd',
    'notify_deleted',
    'notify_priority_changes',
    'smtp_alert',
    'global_tracking',
    'sync_group_tracking_weight',
  ]),
};

export function readSyncGroup(c: Ctx, n: Node, name: string, t: Trackables): SyncGroupConfig {
  const sg: SyncGroupConfig = { name, members: [], pos: c.at(n.key) };
  readBlock(c, 'vrrp_sync_group', n, SYNC_GROUP_SCHEMA, { sg, t });
  return sg;
}
