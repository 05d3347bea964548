/**
 * A vrrp_instance's keepalived defaults (from global_defs) before its block is read, and
 * keepalived's rules that depend on several keywords, applied once it is read: the owner's
 * priority, nopreempt, VRRPv2's whole-second adverts, authentication by version.
 */
import type { Ctx } from './ctx.js';
import type { Node, Token } from './lexer.js';
import type { GlobalDefs, InstanceConfig } from './model.js';
import type { Trackables } from './track-blocks.js';

/** What an instance block reads into: the model and what the finishing rules need to know. */
export interface InstanceTarget {
  ic: InstanceConfig;
  t: Trackables;
  state?: Token;
  prioSet: boolean;
  versionSet: boolean;
  nopreempt?: Token;
  advertMs: number;
  advertTok?: Token;
  /** The address family, fixed by the first address written (keepalived: source, peer, VIP or group). */
  family?: 4 | 6;
}

export function newInstance(c: Ctx, n: Node, name: string, g: GlobalDefs): InstanceConfig {
  return {
    name,
    interface: '',
    vrid: 0,
    version: g.vrrpVersion,
    family: 4,
    priority: 100,
    initialState: 'BACKUP',
    advertIntervalCs: 100,
    preempt: true,
    preemptDelayMs: 0,
    downTimerAdverts: g.downTimerAdverts ?? 3,
    auth: { type: 'NONE', pass: '' },
    unicastPeers: [],
    checkUnicastSrc: true,
    vips: [],
    excludedVips: [],
    routes: [],
    trackScripts: [],
    trackInterfaces: [],
    trackFiles: [],
    trackProcesses: [],
    notify: {},
    garp: {
      masterDelayMs: g.garpMasterDelayMs,
      masterRepeat: g.garpMasterRepeat,
      masterRefreshMs: g.garpMasterRefreshMs,
      masterRefreshRepeat: g.garpMasterRefreshRepeat,
      lowerPrioDelayMs: g.garpLowerPrioDelayMs ?? g.garpMasterDelayMs,
      lowerPrioRepeat: g.garpLowerPrioRepeat ?? g.garpMasterRepeat,
    },
    accept: true,
    lowerPrioNoAdvert: g.lowerPrioNoAdvert ?? false,
    higherPrioSendAdvert: g.higherPrioSendAdvert ?? false,
    dontTrackPrimary: false,
    floatingIps: [],
    pos: c.at(n.key),
    ...(g.garpExtraIf ? { garpExtraIf: g.garpExtraIf } : {}),
  };
}

/** keepalived's rules that depend on several keywords, applied once the block is read. */
export function finishInstance(c: Ctx, n: Node, t: InstanceTarget, g: GlobalDefs): InstanceConfig | undefined {
  const { ic, state } = t;
  const name = ic.name;
  if (!ic.interface)
    c.err(
      n.key,
      'vrrp_instance',
      `vrrp_instance ${name} has no interface`,
      'add: interface eth0',
      'CONFIG_MISSING_VALUE',
    );
  if (!ic.vrid) {
    c.err(
      n.key,
      'vrrp_instance',
      `vrrp_instance ${name} has no virtual_router_id`,
      'add: virtual_router_id 1..255 (the same on every node of the pair)',
      'CONFIG_MISSING_VALUE',
    );
    return undefined;
  }
  ic.family = t.family ?? 4;
  // global_defs vrrp_mcast_group4/6: the group of every multicast instance without mcast_dst_ip.
  const group = ic.family === 4 ? g.mcastGroup4 : g.mcastGroup6;
  if (!ic.mcastGroup && ic.unicastPeers.length === 0 && group !== (ic.family === 4 ? '224.0.0.18' : 'ff02::12'))
    ic.mcastGroup = group;
  if (ic.family === 6 && !t.versionSet) ic.version = 3;
  if (!t.prioSet && state?.text === 'MASTER') {
    ic.priority = 255;
    c.warn(
      state,
      'state',
      'state MASTER without priority makes this node the address owner (priority 255), as in keepalived',
      'set priority explicitly',
      'CONFIG_RISKY',
    );
  }
  if (!state && ic.priority === 255) ic.initialState = 'MASTER';
  if (t.nopreempt) {
    if (ic.initialState === 'MASTER')
      c.warn(t.nopreempt, 'nopreempt', 'nopreempt needs state BACKUP; ignored (keepalived clears it too)');
    else if (ic.priority === 255)
      c.warn(t.nopreempt, 'nopreempt', 'nopreempt cannot apply to the address owner (priority 255); ignored');
    else ic.preempt = false;
  }
  if (ic.version === 2) {
    const whole = Math.max(1, Math.round(t.advertMs / 1000));
    if (whole * 1000 !== t.advertMs && t.advertTok)
      c.warn(
        t.advertTok,
        'advert_int',
        `VRRPv2 carries whole seconds: ${t.advertMs / 1000} rounded to ${whole}`,
        'use version 3 for sub-second adverts',
        'CONFIG_ADJUSTED',
      );
    ic.advertIntervalCs = whole * 100;
  } else {
    ic.advertIntervalCs = Math.min(4095, Math.max(1, Math.round(t.advertMs / 10)));
  }
  if (ic.version === 3 && ic.auth.type !== 'NONE') {
    c.warn(n.key, 'authentication', 'VRRP version 3 does not support authentication; ignored (as keepalived)');
    ic.auth = { type: 'NONE', pass: '' };
  }
  if (ic.auth.type === 'PASS' && !ic.auth.pass)
    c.err(n.key, 'authentication', 'auth_type PASS without auth_pass', undefined, 'CONFIG_MISSING_VALUE');
  return ic;
}
