/**
 * `vrrp_instance NAME { … }`: one VRRP router's keywords (the schema table). Its keepalived defaults and
 * the rules across keywords are in instance-rules.ts.
 */
import { isIP } from 'node:net';
import type { Ctx } from './ctx.js';
import { garpExtraIf } from './global-block.js';
import type { Node, Token } from './lexer.js';
import type { GlobalDefs, InstanceConfig } from './model.js';
import { finishInstance, newInstance, type InstanceTarget } from './instance-rules.js';
import { NOTIFY_KEYS, notifyEntries } from './notify.js';
import { notYet, readBlock, type Keyword, type Schema } from './schema.js';
import {
  checkIfName,
  mergeTracks,
  TRACK_FIELDS,
  trackRefs,
  type TrackKeyword,
  type Trackables,
} from './track-blocks.js';
import { readVip } from './vip.js';
import { quorumRef } from './quorum-block.js';

type K = Keyword<InstanceTarget>;

const int = (min: number, max: number, put: (t: InstanceTarget, v: number) => void): K => ({
  read: (c, e, t) => {
    const v = c.int(e, min, max);
    if (v !== undefined) put(t, v);
  },
});
const secs = (min: number, max: number, put: (t: InstanceTarget, v: number) => void): K => ({
  read: (c, e, t) => {
    const v = c.secs(e, min, max);
    if (v !== undefined) put(t, v);
  },
});
const bool = (put: (t: InstanceTarget, v: boolean) => void): K => ({
  read: (c, e, t) => {
    const v = c.bool(e);
    if (v !== undefined) put(t, v);
  },
});

/** An address of the instance's family (the first one fixes it); another family is an error. */
function familyOk(c: Ctx, t: InstanceTarget, at: Token, keyword: string, fam: 4 | 6): boolean {
  t.family ??= fam;
  if (fam === t.family) return true;
  c.err(
    at,
    keyword,
    `an IPv${fam} address in an IPv${t.family} instance (${t.ic.name}); VRRP carries one family per instance`,
    'put the other family in its own vrrp_instance (or in virtual_ipaddress_excluded)',
    'CONFIG_CONFLICT',
  );
  return false;
}

/** unicast_src_ip and mcast_src_ip set the one source address (keepalived: both are `saddr`; the later wins). */
function srcIp(c: Ctx, e: Node, t: InstanceTarget): void {
  const v = c.ip(e);
  if (!v || !familyOk(c, t, e.args[0]!, e.key.text, isIP(v) as 4 | 6)) return;
  if (t.ic.unicastSrcIp && t.ic.unicastSrcIp !== v) {
    c.warn(
      e.args[0]!,
      e.key.text,
      `the source address was already ${t.ic.unicastSrcIp}; ${v} replaces it (unicast_src_ip and mcast_src_ip are ` +
        'one setting)',
      undefined,
      'CONFIG_CONFLICT',
    );
  }
  t.ic.unicastSrcIp = v;
}

function unicastPeers(c: Ctx, e: Node, t: InstanceTarget): void {
  for (const p of e.children ?? []) {
    const fam = isIP(p.key.text);
    if (!fam) {
      c.err(p.key, 'unicast_peer', `expected an IP address, got "${p.key.text}"`);
      continue;
    }
    if (!familyOk(c, t, p.key, 'unicast_peer', fam as 4 | 6)) continue;
    const peer: { address: string; minTtl?: number; maxTtl?: number } = { address: p.key.text };
    for (let i = 0; i < p.args.length; i += 2) {
      const w = p.args[i]!.text;
      if (w !== 'min_ttl' && w !== 'max_ttl') {
        c.warn(p.args[i]!, 'unicast_peer', `unexpected "${w}"`, 'expected min_ttl N / max_ttl N');
        continue;
      }
      const val = p.args[i + 1];
      const v = Number(val?.text);
      if (!val || !/^\d+$/.test(val.text) || v > 255) {
        c.err(val ?? p.args[i]!, 'unicast_peer', `${w} must be an integer 0..255, got "${val?.text ?? ''}"`);
        continue;
      }
      if (w === 'min_ttl') peer.minTtl = v;
      else peer.maxTtl = v;
    }
    t.ic.unicastPeers.push(peer);
  }
}

function authentication(c: Ctx, e: Node, t: InstanceTarget): void {
  readBlock(c, 'authentication', e, AUTH_SCHEMA, t);
}

export const AUTH_SCHEMA: Schema<InstanceTarget> = {
  auth_type: {
    read: (c, a, { ic }) => {
      const v = c.arg(a, 0, 'PASS or AH');
      if (v && v.text !== 'PASS' && v.text !== 'AH') c.err(v, 'auth_type', `expected PASS or AH, got "${v.text}"`);
      else if (v?.text === 'AH') {
        c.err(
          v,
          'auth_type',
          'floatd does not implement AH: its adverts would go out unauthenticated and an AH peer would ignore ' +
            'them (two MASTERs)',
          'use auth_type PASS, or no authentication block, on every node of the pair',
          'CONFIG_UNSUPPORTED',
        );
      } else if (v) ic.auth.type = 'PASS';
    },
  },
  auth_pass: {
    read: (c, a, { ic }) => {
      const p = c.arg(a, 0, 'a password');
      if (!p) return;
      ic.auth.pass = p.text.slice(0, 8);
      if (p.text.length > 8)
        c.warn(
          p,
          'auth_pass',
          `Truncating auth_pass to 8 characters ("${p.text.slice(0, 8)}"), as keepalived does`,
          undefined,
          'CONFIG_ADJUSTED',
        );
    },
  },
};

function vips(excluded: boolean): K {
  const keyword = excluded ? 'virtual_ipaddress_excluded' : 'virtual_ipaddress';
  return {
    shape: 'block',
    read: (c, e, t) => {
      for (const v of e.children ?? []) {
        const x = readVip(c, v, keyword);
        if (!x) continue;
        const { family, ...vip } = x;
        // Excluded addresses are never advertised: any family (keepalived).
        if (!excluded && !familyOk(c, t, v.key, keyword, family)) continue;
        (excluded ? t.ic.excludedVips : t.ic.vips).push(vip);
      }
    },
  };
}

/** Several blocks of one kind add up (keepalived); a name listed twice counts once. */
function track(k: TrackKeyword): K {
  return {
    shape: 'block',
    read: (c, e, t) => mergeTracks(c, k, t.ic[TRACK_FIELDS[k]], trackRefs(c, e, t.t), (i) => e.children?.[i]?.key),
  };
}

export const INSTANCE_SCHEMA: Schema<InstanceTarget> = {
  interface: {
    read: (c, e, { ic }) => {
      const a = c.arg(e, 0, 'an interface name');
      if (a && checkIfName(c, a, 'interface', a.text)) ic.interface = a.text;
    },
  },
  state: {
    read: (c, e, t) => {
      const a = c.arg(e, 0, 'MASTER or BACKUP');
      if (a && a.text !== 'MASTER' && a.text !== 'BACKUP')
        c.err(a, 'state', `expected MASTER or BACKUP, got "${a.text}"`);
      else if (a) {
        t.state = a;
        t.ic.initialState = a.text as 'MASTER' | 'BACKUP';
      }
    },
  },
  priority: int(1, 255, (t, v) => {
    t.ic.priority = v;
    t.prioSet = true;
  }),
  virtual_router_id: int(1, 255, (t, v) => {
    t.ic.vrid = v;
  }),
  version: int(2, 3, (t, v) => {
    t.ic.version = v as 2 | 3;
    t.versionSet = true;
  }),
  advert_int: {
    read: (c, e, t) => {
      const v = c.secs(e, 0.01, 255);
      if (v !== undefined) {
        t.advertMs = v;
        t.advertTok = e.args[0];
      }
    },
  },
  nopreempt: {
    read: (_c, e, t) => {
      t.nopreempt = e.key;
    },
  },
  preempt: { read: () => undefined },
  preempt_delay: secs(0, 1000, (t, v) => {
    t.ic.preemptDelayMs = v;
  }),
  down_timer_adverts: int(1, 100, (t, v) => {
    t.ic.downTimerAdverts = v;
  }),
  unicast_src_ip: { read: srcIp },
  mcast_src_ip: { read: srcIp },
  unicast_ttl: int(1, 255, (t, v) => {
    t.ic.unicastTtl = v;
  }),
  mcast_dst_ip: {
    read: (c, e, t) => {
      const v = c.ip(e);
      if (v && familyOk(c, t, e.args[0]!, 'mcast_dst_ip', isIP(v) as 4 | 6)) t.ic.mcastGroup = v;
    },
  },
  check_unicast_src: {
    read: (_c, _e, { ic }) => {
      ic.checkUnicastSrc = true;
    },
  },
  no_check_unicast_src: {
    status: 'floatd',
    read: (_c, _e, { ic }) => {
      ic.checkUnicastSrc = false;
    },
  },
  unicast_peer: { shape: 'block', read: unicastPeers },
  authentication: { shape: 'block', read: authentication },
  virtual_ipaddress: vips(false),
  virtual_ipaddress_excluded: vips(true),
  virtual_routes: {
    shape: 'block',
    read: (_c, e, { ic }) => {
      for (const r of e.children ?? []) ic.routes.push([r.key.text, ...r.args.map((a) => a.text)]);
    },
  },
  track_script: track('track_script'),
  track_interface: track('track_interface'),
  track_file: track('track_file'),
  track_process: track('track_process'),
  garp_master_delay: secs(0, 255, (t, v) => {
    t.ic.garp.masterDelayMs = v;
  }),
  garp_master_repeat: int(1, 255, (t, v) => {
    t.ic.garp.masterRepeat = v;
  }),
  garp_master_refresh: secs(0, 86400, (t, v) => {
    t.ic.garp.masterRefreshMs = v;
  }),
  garp_master_refresh_repeat: int(1, 255, (t, v) => {
    t.ic.garp.masterRefreshRepeat = v;
  }),
  garp_lower_prio_delay: secs(0, 255, (t, v) => {
    t.ic.garp.lowerPrioDelayMs = v;
  }),
  garp_lower_prio_repeat: int(0, 255, (t, v) => {
    t.ic.garp.lowerPrioRepeat = v;
  }),
  // floatd installs no firewall rules: addresses are always reachable, as with accept.
  accept: {
    read: (_c, _e, { ic }) => {
      ic.accept = true;
    },
  },
  no_accept: {
    status: 'unsupported',
    read: (_c, _e, { ic }) => {
      ic.accept = false;
    },
  },
  lower_prio_no_advert: bool((t, v) => {
    t.ic.lowerPrioNoAdvert = v;
  }),
  higher_prio_send_advert: bool((t, v) => {
    t.ic.higherPrioSendAdvert = v;
  }),
  // 0 turns it off for this instance (keepalived); the runtime sends no extra GARPs yet.
  garp_extra_if: {
    status: 'unsupported',
    read: (c, e, { ic }) => {
      const v = garpExtraIf(c, e, 0);
      if (v) ic.garpExtraIf = v;
    },
  },
  vmac_garp_intvl: {
    status: 'unsupported',
    read: (c, e, { ic }) => {
      const v = garpExtraIf(c, e, 0);
      if (v) ic.garpExtraIf = v;
    },
  },
  dont_track_primary: {
    read: (_c, _e, { ic }) => {
      ic.dontTrackPrimary = true;
    },
  },
  quorum: { status: 'floatd', read: (c, e, { ic }) => quorumRef(c, e, ic) },
  floating_ip: {
    status: 'floatd',
    read: (c, e, { ic }) => {
      const a = c.arg(e, 0, 'a floating_ip name');
      if (a) ic.floatingIps.push(a.text);
    },
  },
  ...notifyEntries<InstanceTarget>((t) => t.ic.notify, Object.keys(NOTIFY_KEYS) as (keyof typeof NOTIFY_KEYS)[]),
  ...notYet([
    'use_vmac',
    'use_vmac_addr',
    'vmac_xmit_base',
    'use_ipvlan',
    'vrf',
    'native_ipv6',
    'virtual_rules',
    'track_bfd',
    'track_src_ip',
    'notify_deleted',
    'smtp_alert',
    'promote_secondaries',
    'debug',
    'strict_mode',
    'skip_check_adv_addr',
    'timer_expired_backup',
    'v3_checksum_as_v2',
    'old_unicast_checksum',
    'unicast_fault_no_peer',
    'kernel_rx_buf_size',
    'notify_priority_changes',
    'linkbeat_use_polling',
    'lvs_sync_daemon_interface',
  ]),
};

export function readInstance(
  c: Ctx,
  n: Node,
  name: string,
  g: GlobalDefs,
  trackables: Trackables,
): InstanceConfig | undefined {
  const t: InstanceTarget = {
    ic: newInstance(c, n, name, g),
    t: trackables,
    prioSet: false,
    versionSet: false,
    advertMs: 1000,
  };
  readBlock(c, 'vrrp_instance', n, INSTANCE_SCHEMA, t);
  return finishInstance(c, n, t, g);
}
