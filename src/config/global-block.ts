/** `global_defs { … }`: daemon-wide settings and the instances' defaults (keepalived.conf(5)). */
import { isMulticast } from '../util/ip.js';
import type { Ctx } from './ctx.js';
import type { Node } from './lexer.js';
import type { GarpExtraIf, GlobalDefs } from './model.js';
import { notYet, readBlock, type Schema } from './schema.js';

/** Top-level keywords outside any block in keepalived.conf(5); keepalived also takes them in global_defs. */
export const ROOT_SETTINGS = [
  'net_namespace',
  'net_namespace_ipvs',
  'namespace_with_ipsets',
  'use_pid_dir',
  'instance',
  'child_wait_time',
  'linkbeat_use_polling',
];

export function defaultGlobals(): GlobalDefs {
  return {
    vrrpVersion: 2,
    enableScriptSecurity: false,
    vrrpStrict: false,
    checkUnicastSrc: false,
    vrrpStartupDelayMs: 0,
    garpMasterDelayMs: 5000,
    garpMasterRepeat: 5,
    garpMasterRefreshMs: 0,
    garpMasterRefreshRepeat: 1,
    mcastGroup4: '224.0.0.18',
    mcastGroup6: 'ff02::12',
  };
}

/** `[all] SECS`, in either order (vrrp_garp_extra_if / garp_extra_if). */
export function garpExtraIf(c: Ctx, e: Node, min: number): GarpExtraIf | undefined {
  let allIf = false;
  let intervalS: number | undefined;
  for (const a of e.args) {
    if (a.text === 'all') {
      allIf = true;
      continue;
    }
    const v = Number(a.text);
    if (!/^\d+$/.test(a.text) || v < min || v > 86400) {
      c.err(a, e.key.text, `expected [all] and whole seconds ${min}..86400, got "${a.text}"`);
      return undefined;
    }
    intervalS = v;
  }
  if (intervalS === undefined) {
    c.err(e.key, e.key.text, `expected [all] and whole seconds ${min}..86400`, undefined, 'CONFIG_MISSING_VALUE');
    return undefined;
  }
  return { intervalS, allIf };
}

/** What global_defs reads into: the values, and the keywords written (vrrp_min_garp leaves explicit values alone). */
export interface GlobalTarget {
  g: GlobalDefs;
  set: Set<string>;
}
type K = Schema<GlobalTarget>;

const num = (min: number, max: number, put: (g: GlobalDefs, v: number) => void): K[string] => ({
  read: (c, e, t) => {
    const v = c.int(e, min, max);
    if (v !== undefined) put(t.g, v);
  },
});
const secs = (
  min: number,
  max: number,
  put: (g: GlobalDefs, v: number) => void,
  status?: 'unsupported',
): K[string] => ({
  read: (c, e, t) => {
    const v = c.secs(e, min, max);
    if (v !== undefined) put(t.g, v);
  },
  ...(status
    ? {
        status,
      }
    : {}),
});
const bool = (put: (g: GlobalDefs, v: boolean) => void): K[string] => ({
  read: (c, e, t) => {
    const v = c.bool(e);
    if (v !== undefined) put(t.g, v);
  },
});

/**
 * keepalived: decimal seconds, microsecond resolution, at least 1 µs. 0 (in keepalived's own stock
 * keepalived.conf) is refused by keepalived with a logged error, keeping the default (no pause), and it runs on.
 */
const garpInterval = (put: (g: GlobalDefs, us: number) => void): K[string] => ({
  status: 'unsupported',
  read: (c, e, t) => {
    const v = c.secs(e, 0, 4294, 1_000_000);
    if (v === 0)
      c.warn(
        e.args[0]!,
        e.key.text,
        `${e.key.text} must be at least 0.000001 s; 0 keeps the default (no pause), as keepalived does`,
        undefined,
        'CONFIG_ADJUSTED',
      );
    else if (v !== undefined) put(t.g, v);
  },
});
const mcastGroup = (fam: 4 | 6): K[string] => ({
  read: (c, e, t) => {
    const v = c.ip(e, 0, fam);
    if (v && !isMulticast(v)) c.err(e.args[0]!, e.key.text, `expected an IPv${fam} multicast address, got "${v}"`);
    else if (v) {
      if (fam === 4) t.g.mcastGroup4 = v;
      else t.g.mcastGroup6 = v;
    }
  },
});
const extraIf: K[string] = {
  status: 'unsupported',
  read: (c, e, t) => {
    const v = garpExtraIf(c, e, 1);
    if (v) t.g.garpExtraIf = v;
  },
};
const fifo: K[string] = {
  read: (c, e, t) => {
    t.g.notifyFifo = c.arg(e)?.text;
  },
};

export const GLOBAL_SCHEMA: K = {
  router_id: {
    read: (c, e, t) => {
      t.g.routerId = c.arg(e)?.text;
    },
  },
  vrrp_version: num(2, 3, (g, v) => {
    g.vrrpVersion = v as 2 | 3;
  }),
  vrrp_priority: num(-20, 19, (g, v) => {
    g.vrrpPriority = v;
  }),
  vrrp_rt_priority: num(1, 99, (g, v) => {
    g.vrrpRtPriority = v;
  }),
  script_user: {
    read: (c, e, t) => {
      t.g.scriptUser = c.arg(e)?.text;
      if (e.args[1]) t.g.scriptGroup = e.args[1].text;
    },
  },
  enable_script_security: {
    read: (_c, _e, t) => {
      t.g.enableScriptSecurity = true;
    },
  },
  // Modelled, but nothing in floatd applies strict mode's checks or firewall rules yet.
  vrrp_strict: {
    status: 'unsupported',
    read: (_c, _e, t) => {
      t.g.vrrpStrict = true;
    },
  },
  // floatd checks unicast sources by default; the keyword asks for what already happens.
  vrrp_check_unicast_src: {
    read: (_c, _e, t) => {
      t.g.checkUnicastSrc = true;
    },
  },
  notify_fifo: fifo,
  vrrp_notify_fifo: fifo,
  vrrp_startup_delay: secs(
    0,
    3600,
    (g, v) => {
      g.vrrpStartupDelayMs = v;
    },
    'unsupported',
  ),
  // floatd additions: keepalived's notify scripts have no timeout and never wait (docs/tracking.md).
  notify_script_timeout: {
    ...secs(0.1, 3600, (g, v) => {
      g.notifyScriptTimeoutMs = v;
    }),
    status: 'floatd',
  },
  notify_supersede_delay: {
    ...secs(0, 60, (g, v) => {
      g.notifySupersedeMs = v;
    }),
    status: 'floatd',
  },
  vrrp_garp_master_delay: secs(0, 255, (g, v) => {
    g.garpMasterDelayMs = v;
  }),
  vrrp_garp_master_repeat: num(1, 255, (g, v) => {
    g.garpMasterRepeat = v;
  }),
  vrrp_garp_master_refresh: secs(0, 86400, (g, v) => {
    g.garpMasterRefreshMs = v;
  }),
  vrrp_garp_master_refresh_repeat: num(1, 255, (g, v) => {
    g.garpMasterRefreshRepeat = v;
  }),
  vrrp_garp_lower_prio_delay: secs(0, 255, (g, v) => {
    g.garpLowerPrioDelayMs = v;
  }),
  vrrp_garp_lower_prio_repeat: num(0, 255, (g, v) => {
    g.garpLowerPrioRepeat = v;
  }),
  vrrp_garp_interval: garpInterval((g, v) => {
    g.garpIntervalUs = v;
  }),
  vrrp_gna_interval: garpInterval((g, v) => {
    g.gnaIntervalUs = v;
  }),
  vrrp_min_garp: bool((g, v) => {
    g.minGarp = v;
  }),
  vrrp_garp_extra_if: extraIf,
  vrrp_vmac_garp_intvl: extraIf,
  vrrp_down_timer_adverts: num(1, 100, (g, v) => {
    g.downTimerAdverts = v;
  }),
  vrrp_lower_prio_no_advert: bool((g, v) => {
    g.lowerPrioNoAdvert = v;
  }),
  vrrp_higher_prio_send_advert: bool((g, v) => {
    g.higherPrioSendAdvert = v;
  }),
  vrrp_mcast_group4: mcastGroup(4),
  vrrp_mcast_group6: mcastGroup(6),
  // Process/daemon tuning, SMTP, SNMP, DBus, LVS, firewall and reload machinery.
  ...notYet([
    ...ROOT_SETTINGS,
    'tmp_config_directory',
    'config_save_dir',
    'process_names',
    'process_name',
    'vrrp_process_name',
    'checker_process_name',
    'bfd_process_name',
    'lvs_process_name',
    'startup_script',
    'startup_script_timeout',
    'shutdown_script',
    'shutdown_script_timeout',
    'notification_email',
    'notification_email_from',
    'smtp_server',
    'smtp_helo_name',
    'smtp_connect_timeout',
    'smtp_alert',
    'smtp_alert_vrrp',
    'smtp_alert_checker',
    'checker_log_all_failures',
    'no_email_faults',
    'no_checker_emails',
    'rs_init_notifies',
    'default_interface',
    'lvs_id',
    'lvs_sync_daemon',
    'lvs_timeouts',
    'lvs_flush',
    'lvs_flush_on_stop',
    'lvs_flush_onstop',
    'lvs_notify_fifo',
    'lvs_notify_fifo_script',
    'nftables',
    'nftables_priority',
    'nftables_counters',
    'nftables_ifindex',
    'nftables_ipvs',
    'nftables_ipvs_priority',
    'nftables_ipvs_start_fwmark',
    'vrrp_iptables',
    'vrrp_ipsets',
    'disable_local_igmp',
    'vrrp_skip_check_adv_addr',
    'vrrp_notify_priority_changes',
    'max_auto_priority',
    'min_auto_priority_delay',
    'checker_priority',
    'bfd_priority',
    'vrrp_no_swap',
    'checker_no_swap',
    'bfd_no_swap',
    'vrrp_cpu_affinity',
    'checker_cpu_affinity',
    'bfd_cpu_affinity',
    'checker_rt_priority',
    'bfd_rt_priority',
    'vrrp_rlimit_rttime',
    'checker_rlimit_rttime',
    'bfd_rlimit_rttime',
    'vrrp_rlimit_rtime',
    'checker_rlimit_rtime',
    'bfd_rlimit_rtime',
    'snmp_socket',
    'enable_snmp_vrrp',
    'enable_snmp_keepalived',
    'enable_snmp_checker',
    'enable_snmp_rfc',
    'enable_snmp_rfcv2',
    'enable_snmp_rfcv3',
    'enable_traps',
    'enable_dbus',
    'dbus_service_name',
    'notify_fifo_script',
    'vrrp_notify_fifo_script',
    'fifo_write_vrrp_states_on_reload',
    'dynamic_interfaces',
    'vrrp_netlink_cmd_rcv_bufs',
    'vrrp_netlink_cmd_rcv_bufs_force',
    'vrrp_netlink_monitor_rcv_bufs',
    'vrrp_netlink_monitor_rcv_bufs_force',
    'lvs_netlink_cmd_rcv_bufs',
    'lvs_netlink_cmd_rcv_bufs_force',
    'lvs_netlink_monitor_rcv_bufs',
    'lvs_netlink_monitor_rcv_bufs_force',
    'process_monitor_rcv_bufs',
    'process_monitor_rcv_bufs_force',
    'vrrp_rx_bufs_policy',
    'vrrp_rx_bufs_multiplier',
    'umask',
    'log_unknown_vrids',
    'vmac_prefix',
    'vmac_addr_prefix',
    'random_seed',
    'reload_check_config',
    'reload_time_file',
    'reload_repeat',
    'reload_file',
    'include_check',
    'data_use_instance',
  ]),
};

export function readGlobalDefs(c: Ctx, n: Node, t: GlobalTarget): void {
  for (const e of n.children ?? []) t.set.add(e.key.text);
  readBlock(c, 'global_defs', n, GLOBAL_SCHEMA, t);
}

/** Defaults that depend on other global_defs values, resolved once every global_defs block is read. */
export function resolveGlobals({ g, set }: GlobalTarget): void {
  if (g.minGarp) {
    if (!set.has('vrrp_garp_master_repeat')) g.garpMasterRepeat = 1;
    if (!set.has('vrrp_garp_master_delay')) g.garpMasterDelayMs = 0;
  }
  g.garpLowerPrioDelayMs ??= g.garpMasterDelayMs;
  g.garpLowerPrioRepeat ??= g.garpMasterRepeat;
  g.garpIntervalUs ??= 0;
  g.gnaIntervalUs ??= 0;
  g.minGarp ??= false;
  g.downTimerAdverts ??= 3;
  g.lowerPrioNoAdvert ??= false;
  g.higherPrioSendAdvert ??= false;
}
