/**
 * keepalived.conf statements → the typed model, with keepalived's defaults and checks
 * (digest §2.3, App. A). Every finding carries file:line:col; nothing here throws on bad input.
 */
import { isIP } from 'node:net';
import type { Diagnostic } from './diagnostics.js';
import type { Node, Token } from './lexer.js';
import { distance } from './distance.js';
import { floatingIpBlock } from './floating-ip-block.js';
import { webhookBlock } from './webhook-block.js';
import { apiBlock } from './api-block.js';
import { checkQuorumRefs, quorumBlock, quorumRef } from './quorum-block.js';
import type { FloatdConfig, FloatingIpConfig, GarpExtraIf, GlobalDefs, InstanceConfig, NotifyConfig, NotifyScript, Pos, SyncGroupConfig, TrackEntry, TrackFileConfig, TrackProcessConfig, VipConfig, VrrpScript } from './model.js';
import { splitCommand } from './lexer.js';

/**
 * Keywords floatd reads but does not act on yet: said once, with position, as info (never as
 * "unknown keyword"). The lists follow keepalived 2.2.7's keepalived.conf(5) and parsers.
 */
const NOT_YET_MSG = 'parsed but not yet supported by floatd';
/** vrrp_instance (and the default for blocks that pass no list of their own). */
const NOT_YET = new Set(['use_vmac', 'use_vmac_addr', 'vmac_xmit_base', 'use_ipvlan', 'vrf', 'native_ipv6', 'virtual_rules', 'track_bfd', 'track_src_ip',
  'notify_deleted', 'smtp_alert', 'promote_secondaries', 'mcast_src_ip', 'debug', 'strict_mode', 'skip_check_adv_addr', 'timer_expired_backup',
  'v3_checksum_as_v2', 'old_unicast_checksum', 'unicast_fault_no_peer', 'kernel_rx_buf_size', 'notify_priority_changes', 'linkbeat_use_polling',
  'lvs_sync_daemon_interface']);
/** Top-level keywords outside any block in keepalived.conf(5), before global_defs. */
const ROOT_SETTINGS = ['net_namespace', 'net_namespace_ipvs', 'namespace_with_ipsets', 'use_pid_dir', 'instance', 'child_wait_time', 'linkbeat_use_polling'];
const TOP_NOT_YET = new Set(['virtual_server', 'virtual_server_group', 'bfd_instance', 'static_ipaddress', 'static_routes', 'static_rules', 'linkbeat_interfaces',
  'garp_group', 'track_group', 'interface_up_down_delays', 'SSL', 'quorum', ...ROOT_SETTINGS]);
/** global_defs: process/daemon tuning, SMTP, SNMP, DBus, LVS, firewall and reload machinery. */
const GLOBAL_NOT_YET = new Set([...ROOT_SETTINGS,
  'tmp_config_directory', 'config_save_dir', 'process_names', 'process_name', 'vrrp_process_name', 'checker_process_name', 'bfd_process_name', 'lvs_process_name',
  'startup_script', 'startup_script_timeout', 'shutdown_script', 'shutdown_script_timeout',
  'notification_email', 'notification_email_from', 'smtp_server', 'smtp_helo_name', 'smtp_connect_timeout', 'smtp_alert', 'smtp_alert_vrrp', 'smtp_alert_checker',
  'checker_log_all_failures', 'no_email_faults', 'no_checker_emails', 'rs_init_notifies', 'default_interface', 'lvs_id',
  'lvs_sync_daemon', 'lvs_timeouts', 'lvs_flush', 'lvs_flush_on_stop', 'lvs_flush_onstop', 'lvs_notify_fifo', 'lvs_notify_fifo_script',
  'nftables', 'nftables_priority', 'nftables_counters', 'nftables_ifindex', 'nftables_ipvs', 'nftables_ipvs_priority', 'nftables_ipvs_start_fwmark',
  'vrrp_iptables', 'vrrp_ipsets', 'disable_local_igmp', 'vrrp_skip_check_adv_addr', 'vrrp_notify_priority_changes',
  'max_auto_priority', 'min_auto_priority_delay',
  'checker_priority', 'bfd_priority', 'vrrp_no_swap', 'checker_no_swap', 'bfd_no_swap',
  'vrrp_cpu_affinity', 'checker_cpu_affinity', 'bfd_cpu_affinity', 'checker_rt_priority', 'bfd_rt_priority',
  'vrrp_rlimit_rttime', 'checker_rlimit_rttime', 'bfd_rlimit_rttime', 'vrrp_rlimit_rtime', 'checker_rlimit_rtime', 'bfd_rlimit_rtime',
  'snmp_socket', 'enable_snmp_vrrp', 'enable_snmp_keepalived', 'enable_snmp_checker', 'enable_snmp_rfc', 'enable_snmp_rfcv2', 'enable_snmp_rfcv3', 'enable_traps',
  'enable_dbus', 'dbus_service_name', 'notify_fifo_script', 'vrrp_notify_fifo_script', 'fifo_write_vrrp_states_on_reload', 'dynamic_interfaces',
  'vrrp_netlink_cmd_rcv_bufs', 'vrrp_netlink_cmd_rcv_bufs_force', 'vrrp_netlink_monitor_rcv_bufs', 'vrrp_netlink_monitor_rcv_bufs_force',
  'lvs_netlink_cmd_rcv_bufs', 'lvs_netlink_cmd_rcv_bufs_force', 'lvs_netlink_monitor_rcv_bufs', 'lvs_netlink_monitor_rcv_bufs_force',
  'process_monitor_rcv_bufs', 'process_monitor_rcv_bufs_force', 'vrrp_rx_bufs_policy', 'vrrp_rx_bufs_multiplier',
  'umask', 'log_unknown_vrids', 'vmac_prefix', 'vmac_addr_prefix', 'random_seed',
  'reload_check_config', 'reload_time_file', 'reload_repeat', 'reload_file', 'include_check', 'data_use_instance']);
const NONE: ReadonlySet<string> = new Set();
/** vrrp_sync_group. */
const SYNC_NOT_YET = new Set(['track_bfd', 'notify_deleted', 'notify_priority_changes', 'smtp_alert', 'global_tracking', 'sync_group_tracking_weight']);

class Ctx {
  readonly diags: Diagnostic[] = [];
  at(t: Token): Pos { return { file: t.file, line: t.line, col: t.col }; }
  err(t: Token, keyword: string, message: string, hint?: string): void { this.diags.push({ severity: 'error', ...this.at(t), keyword, message, ...(hint ? { hint } : {}) }); }
  warn(t: Token, keyword: string, message: string, hint?: string): void { this.diags.push({ severity: 'warning', ...this.at(t), keyword, message, ...(hint ? { hint } : {}) }); }
  info(t: Token, keyword: string, message: string): void { this.diags.push({ severity: 'info', ...this.at(t), keyword, message }); }

  arg(n: Node, i = 0, what = 'a value'): Token | undefined {
    const a = n.args[i];
    if (!a) this.err(n.key, n.key.text, `expected ${what}`);
    return a;
  }
  int(n: Node, min: number, max: number, i = 0): number | undefined {
    const a = this.arg(n, i, `an integer ${min}..${max}`);
    if (!a) return undefined;
    const v = Number(a.text);
    if (!/^-?\d+$/.test(a.text) || v < min || v > max) { this.err(a, n.key.text, `expected an integer ${min}..${max}, got "${a.text}"`); return undefined; }
    return v;
  }
  /** Seconds, fractions allowed (floatd); returns milliseconds (or `perSecond` units). */
  secs(n: Node, min: number, max: number, perSecond = 1000): number | undefined {
    const a = this.arg(n, 0, 'a number of seconds');
    if (!a) return undefined;
    const v = Number(a.text);
    if (!/^\d+(\.\d+)?$/.test(a.text) || v < min || v > max) { this.err(a, n.key.text, `expected seconds ${min}..${max}, got "${a.text}"`); return undefined; }
    return Math.round(v * perSecond);
  }
  /** keepalived's optional <BOOL>: absent means true; on/true/yes or off/false/no. */
  bool(n: Node): boolean | undefined {
    const a = n.args[0];
    if (!a) return true;
    if (['on', 'true', 'yes'].includes(a.text)) return true;
    if (['off', 'false', 'no'].includes(a.text)) return false;
    this.err(a, n.key.text, `expected on|off|true|false|yes|no (or nothing, meaning on), got "${a.text}"`);
    return undefined;
  }
  notYet(n: Node): void { this.info(n.key, n.key.text, NOT_YET_MSG); }
  ip(n: Node, i = 0, family?: 4 | 6): string | undefined {
    const a = this.arg(n, i, 'an IP address');
    if (!a) return undefined;
    const f = isIP(a.text);
    if (!f || (family && f !== family)) { this.err(a, n.key.text, `expected an IPv${family ?? '4 or IPv6'} address, got "${a.text}"`); return undefined; }
    return a.text;
  }
  unknown(n: Node, where: string, known: string[], notYet: ReadonlySet<string> = NOT_YET): void {
    const k = n.key.text;
    if (notYet.has(k)) { this.notYet(n); return; }
    const near = [...known, ...notYet].find((x) => distance(x, k) <= 2);
    this.warn(n.key, k, `unknown keyword in ${where}, ignored`, near ? `did you mean '${near}'?` : undefined);
  }
}

/** `notify_master "/path/x.sh arg" [user [group]]`: slot 1 is the command line, then user/group. */
function notifyScript(c: Ctx, n: Node): NotifyScript | undefined {
  const a = c.arg(n, 0, 'a script');
  if (!a) return undefined;
  const argv = a.quoted ? splitCommand(a.text) : [a.text];
  if (n.args.length > 3) c.warn(n.args[3]!, n.key.text, 'extra words after user and group are ignored', 'quote the whole command line: notify_master "/path/script arg"');
  return { argv, ...(n.args[1] ? { user: n.args[1].text } : {}), ...(n.args[2] ? { group: n.args[2].text } : {}) };
}

const SYNC_TRACKS: Record<string, 'trackScripts' | 'trackInterfaces' | 'trackFiles' | 'trackProcesses'> = { track_script: 'trackScripts', track_interface: 'trackInterfaces', track_file: 'trackFiles', track_process: 'trackProcesses' };
const NOTIFY_KEYS: Record<string, keyof NotifyConfig> = { notify_master: 'master', notify_backup: 'backup', notify_fault: 'fault', notify_stop: 'stop', notify: 'generic', notify_master_rx_lower_pri: 'masterRxLowerPri' };

function trackList(c: Ctx, n: Node, defWeight: (name: string) => number): TrackEntry[] {
  const out: TrackEntry[] = [];
  for (const e of n.children ?? []) {
    let weight = defWeight(e.key.text);
    let reverse = false;
    for (let i = 0; i < e.args.length; i++) {
      const w = e.args[i]!.text;
      if (w === 'weight') {
        const v = Number(e.args[i + 1]?.text);
        if (!Number.isInteger(v) || v < -254 || v > 254) c.err(e.args[i + 1] ?? e.args[i]!, n.key.text, `weight must be an integer -253..253, got "${e.args[i + 1]?.text ?? ''}"`);
        else weight = Math.max(-253, Math.min(253, v));
        i++;
      } else if (w === 'reverse') reverse = true;
      else if (w === 'noreverse' || w === 'no_reverse') reverse = false;
      else c.warn(e.args[i]!, n.key.text, `unexpected "${w}"`, 'expected weight N [reverse]');
    }
    out.push({ name: e.key.text, weight, reverse });
  }
  return out;
}

function vip(c: Ctx, e: Node): VipConfig | undefined {
  const [addr, pfx] = e.key.text.split('/');
  const fam = isIP(addr ?? '');
  if (!fam) { c.err(e.key, 'virtual_ipaddress', `expected ADDRESS[/PREFIX], got "${e.key.text}"`); return undefined; }
  const prefix = pfx === undefined ? (fam === 4 ? 32 : 128) : Number(pfx);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (fam === 4 ? 32 : 128)) { c.err(e.key, 'virtual_ipaddress', `bad prefix length "/${pfx}"`); return undefined; }
  const v: VipConfig = { address: addr!, prefix, noTrack: false };
  for (let i = 0; i < e.args.length; i++) {
    const k = e.args[i]!.text;
    const val = e.args[i + 1]?.text;
    if (k === 'no_track') v.noTrack = true;
    else if (['dev', 'label', 'scope', 'brd', 'broadcast'].includes(k) && val !== undefined) {
      if (k === 'dev') v.dev = val; else if (k === 'label') v.label = val; else if (k === 'scope') v.scope = val; else v.brd = val;
      i++;
    } else c.warn(e.args[i]!, 'virtual_ipaddress', `unsupported option "${k}" ignored`);
  }
  return v;
}

/** `[all] SECS`, in either order (vrrp_garp_extra_if / garp_extra_if). */
function garpExtraIf(c: Ctx, e: Node, min: number): GarpExtraIf | undefined {
  let allIf = false;
  let intervalS: number | undefined;
  for (const a of e.args) {
    if (a.text === 'all') { allIf = true; continue; }
    const v = Number(a.text);
    if (!/^\d+$/.test(a.text) || v < min || v > 86400) { c.err(a, e.key.text, `expected [all] and whole seconds ${min}..86400, got "${a.text}"`); return undefined; }
    intervalS = v;
  }
  if (intervalS === undefined) { c.err(e.key, e.key.text, `expected [all] and whole seconds ${min}..86400`); return undefined; }
  return { intervalS, allIf };
}

/** global_defs keywords floatd models (did-you-mean candidates, with GLOBAL_NOT_YET). */
const GLOBAL_KEYS = ['router_id', 'vrrp_version', 'script_user', 'enable_script_security', 'vrrp_strict', 'vrrp_check_unicast_src', 'notify_fifo', 'vrrp_notify_fifo',
  'vrrp_startup_delay', 'vrrp_garp_master_delay', 'vrrp_garp_master_repeat', 'vrrp_garp_master_refresh', 'vrrp_garp_master_refresh_repeat', 'vrrp_garp_lower_prio_delay',
  'vrrp_garp_lower_prio_repeat', 'vrrp_garp_interval', 'vrrp_gna_interval', 'vrrp_min_garp', 'vrrp_garp_extra_if', 'vrrp_down_timer_adverts',
  'vrrp_lower_prio_no_advert', 'vrrp_higher_prio_send_advert', 'vrrp_mcast_group4', 'vrrp_mcast_group6'];

/** `set` collects the keywords written, so vrrp_min_garp leaves explicit values alone (as keepalived). */
function globalDefs(c: Ctx, n: Node, g: GlobalDefs, set: Set<string>): void {
  for (const e of n.children ?? []) {
    const k = e.key.text;
    set.add(k);
    switch (k) {
      case 'router_id': g.routerId = c.arg(e)?.text; break;
      case 'vrrp_version': { const v = c.int(e, 2, 3); if (v) g.vrrpVersion = v as 2 | 3; break; }
      case 'vrrp_priority': { const v = c.int(e, -20, 19); if (v !== undefined) g.vrrpPriority = v; break; }
      case 'vrrp_rt_priority': { const v = c.int(e, 1, 99); if (v !== undefined) g.vrrpRtPriority = v; break; }
      case 'script_user': g.scriptUser = c.arg(e)?.text; if (e.args[1]) g.scriptGroup = e.args[1].text; break;
      case 'enable_script_security': g.enableScriptSecurity = true; break;
      // Modelled, but nothing in floatd applies strict mode's checks or firewall rules yet.
      case 'vrrp_strict': g.vrrpStrict = true; c.notYet(e); break;
      // floatd checks unicast sources by default; the keyword asks for what already happens.
      case 'vrrp_check_unicast_src': g.checkUnicastSrc = true; break;
      case 'notify_fifo': case 'vrrp_notify_fifo': g.notifyFifo = c.arg(e)?.text; break;
      case 'vrrp_startup_delay': { const v = c.secs(e, 0, 3600); if (v !== undefined) g.vrrpStartupDelayMs = v; c.notYet(e); break; }
      case 'vrrp_garp_master_delay': { const v = c.secs(e, 0, 255); if (v !== undefined) g.garpMasterDelayMs = v; break; }
      case 'vrrp_garp_master_repeat': { const v = c.int(e, 1, 255); if (v !== undefined) g.garpMasterRepeat = v; break; }
      case 'vrrp_garp_master_refresh': { const v = c.secs(e, 0, 86400); if (v !== undefined) g.garpMasterRefreshMs = v; break; }
      case 'vrrp_garp_master_refresh_repeat': { const v = c.int(e, 1, 255); if (v !== undefined) g.garpMasterRefreshRepeat = v; break; }
      case 'vrrp_garp_lower_prio_delay': { const v = c.secs(e, 0, 255); if (v !== undefined) g.garpLowerPrioDelayMs = v; break; }
      case 'vrrp_garp_lower_prio_repeat': { const v = c.int(e, 0, 255); if (v !== undefined) g.garpLowerPrioRepeat = v; break; }
      // keepalived: decimal seconds, microsecond resolution, at least 1 µs.
      case 'vrrp_garp_interval': case 'vrrp_gna_interval': {
        const v = c.secs(e, 0.000001, 4294, 1_000_000);
        if (v !== undefined) { if (k === 'vrrp_garp_interval') g.garpIntervalUs = v; else g.gnaIntervalUs = v; }
        c.notYet(e);
        break;
      }
      case 'vrrp_min_garp': { const v = c.bool(e); if (v !== undefined) g.minGarp = v; break; }
      case 'vrrp_garp_extra_if': case 'vrrp_vmac_garp_intvl': { const v = garpExtraIf(c, e, 1); if (v) g.garpExtraIf = v; c.notYet(e); break; }
      case 'vrrp_down_timer_adverts': { const v = c.int(e, 1, 100); if (v !== undefined) g.downTimerAdverts = v; break; }
      case 'vrrp_lower_prio_no_advert': { const v = c.bool(e); if (v !== undefined) g.lowerPrioNoAdvert = v; break; }
      case 'vrrp_higher_prio_send_advert': { const v = c.bool(e); if (v !== undefined) g.higherPrioSendAdvert = v; break; }
      case 'vrrp_mcast_group4': case 'vrrp_mcast_group6': {
        const fam = k === 'vrrp_mcast_group4' ? 4 : 6;
        const v = c.ip(e, 0, fam);
        if (v && !isMulticast(v)) c.err(e.args[0]!, k, `expected an IPv${fam} multicast address, got "${v}"`);
        else if (v) { if (fam === 4) g.mcastGroup4 = v; else g.mcastGroup6 = v; }
        // The runtime sends to 224.0.0.18 / ff02::12 whatever is configured here.
        c.notYet(e);
        break;
      }
      default: c.unknown(e, 'global_defs', GLOBAL_KEYS, GLOBAL_NOT_YET);
    }
  }
}

function isMulticast(ip: string): boolean {
  if (isIP(ip) === 6) return /^ff/i.test(ip);
  const first = Number(ip.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** Defaults that depend on other global_defs values, resolved once every global_defs block is read. */
function resolveGlobals(g: GlobalDefs, set: Set<string>): void {
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

function vrrpScript(c: Ctx, n: Node, name: string): VrrpScript {
  const s: VrrpScript = { name, kind: 'script', intervalMs: 1000, timeoutMs: 0, weight: 0, reverse: false, rise: 1, fall: 1, initFail: false, pos: c.at(n.key) };
  const kinds: Token[] = [];
  for (const e of n.children ?? []) {
    const k = e.key.text;
    switch (k) {
      case 'script': { const a = c.arg(e, 0, 'a command'); if (a) { s.argv = a.quoted ? splitCommand(a.text) : [a.text]; kinds.push(e.key); } break; }
      case 'http_get': { const a = c.arg(e, 0, 'a URL'); if (a) { try { new URL(a.text); s.kind = 'http'; s.url = a.text; kinds.push(e.key); } catch { c.err(a, k, `expected an http:// or https:// URL, got "${a.text}"`); } } break; }
      case 'tcp_connect': {
        const a = c.arg(e, 0, 'HOST:PORT');
        const m = a && /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(a.text);
        if (a && !m) c.err(a, k, `expected HOST:PORT (IPv6 in brackets), got "${a.text}"`);
        if (m) { s.kind = 'tcp'; s.host = m[1] ?? m[2]; s.port = Number(m[3]); kinds.push(e.key); }
        break;
      }
      case 'expect_status': {
        const ranges: [number, number][] = [];
        for (const a of e.args) {
          const m = /^(\d{3})(?:-(\d{3}))?$/.exec(a.text);
          if (!m) { c.err(a, k, `expected a status or range like 200 or 200-299, got "${a.text}"`); continue; }
          ranges.push([Number(m[1]), Number(m[2] ?? m[1])]);
        }
        s.expectStatus = ranges;
        break;
      }
      case 'expect_body': s.expectBody = c.arg(e)?.text; break;
      case 'tls_verify': s.tlsVerify = !['off', 'false', 'no', '0'].includes(c.arg(e)?.text ?? 'on'); break;
      case 'http_host': s.host = c.arg(e)?.text; break;
      case 'interval': { const v = c.secs(e, 0.01, 86400); if (v !== undefined) s.intervalMs = v; break; }
      case 'timeout': { const v = c.secs(e, 0.01, 86400); if (v !== undefined) s.timeoutMs = v; break; }
      case 'weight': {
        const v = c.int(e, -254, 254);
        if (v !== undefined) s.weight = Math.max(-253, Math.min(253, v));
        if (e.args[1]?.text === 'reverse') s.reverse = true;
        break;
      }
      case 'rise': { const v = c.int(e, 1, 1000); if (v) s.rise = v; break; }
      case 'fall': { const v = c.int(e, 1, 1000); if (v) s.fall = v; break; }
      case 'init_fail': s.initFail = true; break;
      case 'user': s.user = c.arg(e)?.text; if (e.args[1]) s.group = e.args[1].text; break;
      default: c.unknown(e, 'vrrp_script', ['script', 'interval', 'timeout', 'weight', 'rise', 'fall', 'user', 'init_fail', 'http_get', 'tcp_connect'], NONE);
    }
  }
  if (kinds.length === 0) c.err(n.key, 'vrrp_script', `vrrp_script ${name} has nothing to run`, 'add script "CMD", http_get URL or tcp_connect HOST:PORT');
  if (kinds.length > 1) c.err(kinds[1]!, kinds[1]!.text, `vrrp_script ${name} has more than one of script/http_get/tcp_connect`);
  if (s.timeoutMs === 0) s.timeoutMs = s.intervalMs;
  return s;
}

interface Trackables { scripts: Map<string, VrrpScript>; files: Map<string, TrackFileConfig>; procs: Map<string, TrackProcessConfig> }

function weightOf(c: Ctx, e: Node, i: number): { weight: number; reverse: boolean } {
  const v = Number(e.args[i + 1]?.text);
  if (!Number.isInteger(v) || v < -254 || v > 254) { c.err(e.args[i + 1] ?? e.args[i]!, e.key.text, `weight must be an integer -254..254, got "${e.args[i + 1]?.text ?? ''}"`); return { weight: 1, reverse: false }; }
  return { weight: v, reverse: e.args[i + 2]?.text === 'reverse' };
}

function trackFile(c: Ctx, n: Node, name: string): TrackFileConfig {
  const f: TrackFileConfig = { name, path: '', weight: 1, reverse: false, pos: c.at(n.key) };
  for (const e of n.children ?? []) {
    switch (e.key.text) {
      case 'file': f.path = c.arg(e, 0, 'a file path')?.text ?? ''; break;
      case 'weight': Object.assign(f, weightOf(c, e, -1)); break;
      case 'init_file': {
        // init_file [VALUE] [overwrite]: VALUE is an integer, default 0.
        let value = 0;
        let overwrite = false;
        for (const a of e.args) {
          if (a.text === 'overwrite') overwrite = true;
          else if (/^-?\d+$/.test(a.text)) value = Number(a.text);
          else c.err(a, 'init_file', `expected [VALUE] [overwrite] with an integer VALUE, got "${a.text}"`);
        }
        f.initFile = { value, overwrite };
        break;
      }
      default: c.unknown(e, 'track_file', ['file', 'weight', 'init_file'], NONE);
    }
  }
  if (!f.path) c.err(n.key, n.key.text, `track file ${name} has no file`, 'add: file "/path/to/file"');
  return f;
}

function trackProcess(c: Ctx, n: Node, name: string): TrackProcessConfig {
  const p: TrackProcessConfig = { name, process: '', fullCommand: false, weight: 1, reverse: false, quorum: 1, pos: c.at(n.key) };
  let quorumTok: Token | undefined;
  for (const e of n.children ?? []) {
    const k = e.key.text;
    switch (k) {
      case 'process': { const a = c.arg(e, 0, 'a process name'); if (a) { p.process = a.text; if (e.args.length > 1) p.params = e.args.slice(1).map((x) => x.text); } break; }
      case 'param_match': {
        // Bare param_match: the parameters must match exactly (keepalived).
        const v = e.args[0]?.text ?? 'exact';
        if (v === 'initial' || v === 'partial' || v === 'exact') p.paramMatch = v; else c.err(e.args[0]!, k, `expected initial or partial (or nothing, meaning exact), got "${v}"`);
        break;
      }
      case 'full_command': p.fullCommand = true; break;
      case 'weight': Object.assign(p, weightOf(c, e, -1)); break;
      case 'quorum': { const v = c.int(e, 1, 65535); if (v) { p.quorum = v; quorumTok = e.args[0]; } break; }
      // quorum_max 0: healthy only while no such process runs (keepalived then sets quorum 0).
      case 'quorum_max': { const v = c.int(e, 0, 65535); if (v !== undefined) { p.quorumMax = v; quorumTok = e.args[0]; } break; }
      case 'delay': { const v = c.secs(e, 0, 3600); if (v !== undefined) { p.forkDelayMs = v; p.terminateDelayMs = v; } break; }
      case 'fork_delay': { const v = c.secs(e, 0, 3600); if (v !== undefined) p.forkDelayMs = v; break; }
      case 'terminate_delay': { const v = c.secs(e, 0, 3600); if (v !== undefined) p.terminateDelayMs = v; break; }
      default: c.unknown(e, 'vrrp_track_process', ['process', 'param_match', 'full_command', 'weight', 'quorum', 'quorum_max', 'delay', 'fork_delay', 'terminate_delay'], NONE);
    }
  }
  if (p.quorumMax === 0) p.quorum = 0;
  else if (p.quorumMax !== undefined && p.quorumMax < p.quorum) c.err(quorumTok!, 'quorum_max', `quorum_max ${p.quorumMax} is less than quorum ${p.quorum}`);
  if (!p.process) c.err(n.key, n.key.text, `track process ${name} has no process`, 'add: process nginx');
  return p;
}

/** track_script / track_interface / track_file / track_process entries; names must be defined somewhere in the file. */
function trackRefs(c: Ctx, e: Node, t: Trackables): TrackEntry[] {
  const k = e.key.text;
  if (k === 'track_interface') return trackList(c, e, () => 0);
  const known: Map<string, { weight: number }> = k === 'track_script' ? t.scripts : k === 'track_file' ? t.files : t.procs;
  const list = trackList(c, e, (nm) => known.get(nm)?.weight ?? (k === 'track_script' ? 0 : 1));
  const what = k === 'track_script' ? 'vrrp_script' : `vrrp_${k}`;
  for (const [i, x] of list.entries()) if (!known.has(x.name)) c.err(e.children![i]!.key, k, `no ${what} named "${x.name}"`, `define it with ${what} NAME { … } (anywhere in the file)`);
  return list;
}

const INSTANCE_KEYS = ['interface', 'state', 'priority', 'virtual_router_id', 'version', 'advert_int', 'nopreempt', 'preempt', 'preempt_delay', 'down_timer_adverts',
  'unicast_peer', 'unicast_src_ip', 'unicast_ttl', 'mcast_dst_ip', 'check_unicast_src', 'no_check_unicast_src', 'authentication', 'virtual_ipaddress',
  'virtual_ipaddress_excluded', 'virtual_routes', 'track_script', 'track_interface', 'track_file', 'track_process', 'garp_master_delay', 'garp_master_repeat',
  'garp_master_refresh', 'garp_master_refresh_repeat', 'garp_lower_prio_delay', 'garp_lower_prio_repeat', 'garp_extra_if', 'accept', 'no_accept',
  'lower_prio_no_advert', 'higher_prio_send_advert', 'dont_track_primary', 'floating_ip', 'quorum', ...Object.keys(NOTIFY_KEYS)];

function instance(c: Ctx, n: Node, name: string, g: GlobalDefs, t: Trackables): InstanceConfig | undefined {
  const ic: InstanceConfig = {
    name, interface: '', vrid: 0, version: g.vrrpVersion, family: 4, priority: 100, initialState: 'BACKUP', advertIntervalCs: 100,
    preempt: true, preemptDelayMs: 0, downTimerAdverts: g.downTimerAdverts ?? 3, auth: { type: 'NONE', pass: '' }, unicastPeers: [], checkUnicastSrc: true,
    vips: [], excludedVips: [], routes: [], trackScripts: [], trackInterfaces: [], trackFiles: [], trackProcesses: [], notify: {},
    garp: { masterDelayMs: g.garpMasterDelayMs, masterRepeat: g.garpMasterRepeat, masterRefreshMs: g.garpMasterRefreshMs, masterRefreshRepeat: g.garpMasterRefreshRepeat, lowerPrioDelayMs: g.garpLowerPrioDelayMs ?? g.garpMasterDelayMs, lowerPrioRepeat: g.garpLowerPrioRepeat ?? g.garpMasterRepeat },
    accept: true, lowerPrioNoAdvert: g.lowerPrioNoAdvert ?? false, higherPrioSendAdvert: g.higherPrioSendAdvert ?? false, dontTrackPrimary: false, floatingIps: [], pos: c.at(n.key),
    ...(g.garpExtraIf ? { garpExtraIf: g.garpExtraIf } : {}),
  };
  let state: Token | undefined;
  let prioSet = false;
  let versionSet = false;
  let nopreempt: Token | undefined;
  let advertMs = 1000;
  let advertTok: Token | undefined;
  for (const e of n.children ?? []) {
    const k = e.key.text;
    switch (k) {
      case 'interface': ic.interface = c.arg(e, 0, 'an interface name')?.text ?? ''; break;
      case 'state': {
        const a = c.arg(e, 0, 'MASTER or BACKUP');
        if (a && a.text !== 'MASTER' && a.text !== 'BACKUP') c.err(a, k, `expected MASTER or BACKUP, got "${a.text}"`);
        else if (a) { state = a; ic.initialState = a.text as 'MASTER' | 'BACKUP'; }
        break;
      }
      case 'priority': { const v = c.int(e, 1, 255); if (v) { ic.priority = v; prioSet = true; } break; }
      case 'virtual_router_id': { const v = c.int(e, 1, 255); if (v) ic.vrid = v; break; }
      case 'version': { const v = c.int(e, 2, 3); if (v) { ic.version = v as 2 | 3; versionSet = true; } break; }
      case 'advert_int': { const v = c.secs(e, 0.01, 255); if (v !== undefined) { advertMs = v; advertTok = e.args[0]; } break; }
      case 'nopreempt': nopreempt = e.key; break;
      case 'preempt': break;
      case 'preempt_delay': { const v = c.secs(e, 0, 1000); if (v !== undefined) ic.preemptDelayMs = v; break; }
      case 'down_timer_adverts': { const v = c.int(e, 1, 100); if (v) ic.downTimerAdverts = v; break; }
      case 'unicast_src_ip': ic.unicastSrcIp = c.ip(e); break;
      case 'unicast_ttl': { const v = c.int(e, 1, 255); if (v) ic.unicastTtl = v; break; }
      case 'mcast_dst_ip': ic.mcastGroup = c.ip(e); break;
      case 'check_unicast_src': ic.checkUnicastSrc = true; break;
      case 'no_check_unicast_src': ic.checkUnicastSrc = false; break;
      case 'unicast_peer':
        for (const p of e.children ?? []) {
          if (!isIP(p.key.text)) { c.err(p.key, k, `expected an IP address, got "${p.key.text}"`); continue; }
          const peer: { address: string; minTtl?: number; maxTtl?: number } = { address: p.key.text };
          for (let i = 0; i < p.args.length; i += 2) {
            const w = p.args[i]!.text;
            if (w !== 'min_ttl' && w !== 'max_ttl') { c.warn(p.args[i]!, k, `unexpected "${w}"`, 'expected min_ttl N / max_ttl N'); continue; }
            const val = p.args[i + 1];
            const v = Number(val?.text);
            if (!val || !/^\d+$/.test(val.text) || v > 255) { c.err(val ?? p.args[i]!, k, `${w} must be an integer 0..255, got "${val?.text ?? ''}"`); continue; }
            if (w === 'min_ttl') peer.minTtl = v; else peer.maxTtl = v;
          }
          ic.unicastPeers.push(peer);
        }
        break;
      case 'authentication':
        for (const a of e.children ?? []) {
          if (a.key.text === 'auth_type') {
            const t = c.arg(a, 0, 'PASS or AH');
            if (t && t.text !== 'PASS' && t.text !== 'AH') c.err(t, 'auth_type', `expected PASS or AH, got "${t.text}"`);
            else if (t) { ic.auth.type = t.text as 'PASS' | 'AH'; if (t.text === 'AH') c.info(t, 'auth_type', 'AH is parsed but not yet supported by floatd (adverts go out without AH)'); }
          } else if (a.key.text === 'auth_pass') {
            const p = c.arg(a, 0, 'a password');
            if (p) {
              ic.auth.pass = p.text.slice(0, 8);
              if (p.text.length > 8) c.warn(p, 'auth_pass', `Truncating auth_pass to 8 characters ("${p.text.slice(0, 8)}"), as keepalived does`);
            }
          } else c.unknown(a, 'authentication', ['auth_type', 'auth_pass'], NONE);
        }
        break;
      case 'virtual_ipaddress': case 'virtual_ipaddress_excluded':
        for (const v of e.children ?? []) { const x = vip(c, v); if (x) (k === 'virtual_ipaddress' ? ic.vips : ic.excludedVips).push(x); }
        break;
      case 'virtual_routes': for (const r of e.children ?? []) ic.routes.push([r.key.text, ...r.args.map((a) => a.text)]); break;
      case 'track_script': ic.trackScripts = trackRefs(c, e, t); break;
      case 'track_interface': ic.trackInterfaces = trackRefs(c, e, t); break;
      case 'track_file': ic.trackFiles = trackRefs(c, e, t); break;
      case 'track_process': ic.trackProcesses = trackRefs(c, e, t); break;
      case 'garp_master_delay': { const v = c.secs(e, 0, 255); if (v !== undefined) ic.garp.masterDelayMs = v; break; }
      case 'garp_master_repeat': { const v = c.int(e, 1, 255); if (v) ic.garp.masterRepeat = v; break; }
      case 'garp_master_refresh': { const v = c.secs(e, 0, 86400); if (v !== undefined) ic.garp.masterRefreshMs = v; break; }
      case 'garp_master_refresh_repeat': { const v = c.int(e, 1, 255); if (v) ic.garp.masterRefreshRepeat = v; break; }
      case 'garp_lower_prio_delay': { const v = c.secs(e, 0, 255); if (v !== undefined) ic.garp.lowerPrioDelayMs = v; break; }
      case 'garp_lower_prio_repeat': { const v = c.int(e, 0, 255); if (v !== undefined) ic.garp.lowerPrioRepeat = v; break; }
      // floatd installs no firewall rules: addresses are always reachable, as with accept.
      case 'accept': ic.accept = true; break;
      case 'no_accept': ic.accept = false; c.notYet(e); break;
      case 'lower_prio_no_advert': { const v = c.bool(e); if (v !== undefined) ic.lowerPrioNoAdvert = v; break; }
      case 'higher_prio_send_advert': { const v = c.bool(e); if (v !== undefined) ic.higherPrioSendAdvert = v; break; }
      // 0 turns it off for this instance (keepalived); the runtime sends no extra GARPs yet.
      case 'garp_extra_if': case 'vmac_garp_intvl': { const v = garpExtraIf(c, e, 0); if (v) ic.garpExtraIf = v; c.notYet(e); break; }
      case 'dont_track_primary': ic.dontTrackPrimary = true; break;
      case 'floating_ip': { const a = c.arg(e, 0, 'a floating_ip name'); if (a) ic.floatingIps.push(a.text); break; }
      case 'quorum': quorumRef(c, e, ic); break;
      default:
        if (k in NOTIFY_KEYS) { const s = notifyScript(c, e); if (s) ic.notify[NOTIFY_KEYS[k]!] = s; }
        else c.unknown(e, 'vrrp_instance', INSTANCE_KEYS);
    }
  }
  if (!ic.interface) c.err(n.key, 'vrrp_instance', `vrrp_instance ${name} has no interface`, 'add: interface eth0');
  if (!ic.vrid) { c.err(n.key, 'vrrp_instance', `vrrp_instance ${name} has no virtual_router_id`, 'add: virtual_router_id 1..255 (the same on every node of the pair)'); return undefined; }
  const first = ic.vips[0]?.address ?? ic.unicastSrcIp ?? ic.unicastPeers[0]?.address ?? ic.mcastGroup;
  ic.family = first && isIP(first) === 6 ? 6 : 4;
  if (ic.family === 6 && !versionSet) ic.version = 3;
  if (!prioSet && state?.text === 'MASTER') {
    ic.priority = 255;
    c.warn(state, 'state', 'state MASTER without priority makes this node the address owner (priority 255), as in keepalived', 'set priority explicitly');
  }
  if (!state && ic.priority === 255) ic.initialState = 'MASTER';
  if (nopreempt) {
    if (ic.initialState === 'MASTER') c.warn(nopreempt, 'nopreempt', 'nopreempt needs state BACKUP; ignored (keepalived clears it too)');
    else if (ic.priority === 255) c.warn(nopreempt, 'nopreempt', 'nopreempt cannot apply to the address owner (priority 255); ignored');
    else ic.preempt = false;
  }
  if (ic.version === 2) {
    const whole = Math.max(1, Math.round(advertMs / 1000));
    if (whole * 1000 !== advertMs && advertTok) c.warn(advertTok, 'advert_int', `VRRPv2 carries whole seconds: ${advertMs / 1000} rounded to ${whole}`, 'use version 3 for sub-second adverts');
    ic.advertIntervalCs = whole * 100;
  } else {
    ic.advertIntervalCs = Math.min(4095, Math.max(1, Math.round(advertMs / 10)));
  }
  if (ic.version === 3 && ic.auth.type !== 'NONE') {
    c.warn(n.key, 'authentication', 'VRRP version 3 does not support authentication; ignored (as keepalived)');
    ic.auth = { type: 'NONE', pass: '' };
  }
  if (ic.auth.type === 'PASS' && !ic.auth.pass) c.err(n.key, 'authentication', 'auth_type PASS without auth_pass');
  return ic;
}

export function buildModel(nodes: Node[], diags: Diagnostic[], files: string[]): FloatdConfig {
  const c = new Ctx();
  const g: GlobalDefs = { vrrpVersion: 2, enableScriptSecurity: false, vrrpStrict: false, checkUnicastSrc: false, vrrpStartupDelayMs: 0, garpMasterDelayMs: 5000, garpMasterRepeat: 5, garpMasterRefreshMs: 0, garpMasterRefreshRepeat: 1, mcastGroup4: '224.0.0.18', mcastGroup6: 'ff02::12' };
  // global_defs and scripts first: instances refer to them whatever the order in the file.
  const globalSet = new Set<string>();
  for (const n of nodes) if (n.key.text === 'global_defs') globalDefs(c, n, g, globalSet);
  resolveGlobals(g, globalSet);
  const scripts = new Map<string, VrrpScript>();
  for (const n of nodes) if (n.key.text === 'vrrp_script') {
    const name = c.arg(n, 0, 'a script name');
    if (name) scripts.set(name.text, vrrpScript(c, n, name.text));
  }
  const files2 = new Map<string, TrackFileConfig>();
  const procs = new Map<string, TrackProcessConfig>();
  for (const n of nodes) {
    const k = n.key.text;
    if ((k === 'vrrp_track_file' || k === 'track_file' || k === 'vrrp_track_process') && n.children) {
      const name = c.arg(n, 0, 'a name');
      if (!name) continue;
      if (k === 'vrrp_track_process') procs.set(name.text, trackProcess(c, n, name.text));
      else files2.set(name.text, trackFile(c, n, name.text));
    }
  }
  const trackables: Trackables = { scripts, files: files2, procs };
  const cfg: FloatdConfig = { global: g, scripts: [...scripts.values()], trackFiles: [...files2.values()], trackProcesses: [...procs.values()], syncGroups: [], instances: [], floatingIps: [], webhooks: [], quorums: [], files };
  for (const n of nodes) {
    const k = n.key.text;
    if (k === 'global_defs' || k === 'vrrp_script' || k === 'vrrp_track_file' || k === 'track_file' || k === 'vrrp_track_process') continue;
    if (!n.children && ['vrrp_instance', 'vrrp_sync_group', 'floating_ip', 'notify_webhook', 'floatd_quorum'].includes(k)) { c.err(n.key, k, `expected a { } block after ${k}`); continue; }
    if (k === 'vrrp_instance') {
      const name = c.arg(n, 0, 'an instance name');
      if (!name) continue;
      if (cfg.instances.some((i) => i.name === name.text)) { c.err(name, k, `duplicate vrrp_instance ${name.text}`); continue; }
      const ic = instance(c, n, name.text, g, trackables);
      if (ic) cfg.instances.push(ic);
    } else if (k === 'vrrp_sync_group') {
      const name = c.arg(n, 0, 'a group name');
      if (!name) continue;
      const sg: SyncGroupConfig = { name: name.text, members: [], pos: c.at(n.key) };
      for (const e of n.children ?? []) {
        if (e.key.text === 'group') sg.members = (e.children ?? []).map((m) => m.key.text);
        else if (e.key.text in NOTIFY_KEYS) { const s = notifyScript(c, e); if (s) (sg.notify ??= {})[NOTIFY_KEYS[e.key.text]!] = s; }
        else if (e.key.text === 'floating_ip') { const a = c.arg(e, 0, 'a floating_ip name'); if (a) (sg.floatingIps ??= []).push(a.text); }
        else if (e.key.text === 'quorum') quorumRef(c, e, sg);
        else if (e.key.text in SYNC_TRACKS) {
          // Modelled and checked like an instance's; the runtime tracks per instance only so far.
          sg[SYNC_TRACKS[e.key.text]!] = trackRefs(c, e, trackables);
          c.notYet(e);
        } else c.unknown(e, 'vrrp_sync_group', ['group', 'floating_ip', 'quorum', ...Object.keys(NOTIFY_KEYS), ...Object.keys(SYNC_TRACKS)], SYNC_NOT_YET);
      }
      cfg.syncGroups.push(sg);
    } else if (k === 'notify_webhook') {
      const w = webhookBlock(c, n);
      if (w) cfg.webhooks.push(w);
    } else if (k === 'floating_ip') {
      const f = floatingIpBlock(c, n);
      if (!f) continue;
      if (cfg.floatingIps.some((x) => x.name === f.name)) c.err(n.key, k, `duplicate floating_ip ${f.name}`);
      else cfg.floatingIps.push(f);
    } else if (k === 'floatd_quorum') {
      const q = quorumBlock(c, n);
      if (q && cfg.quorums.some((x) => x.name === q.name)) c.err(n.key, k, `duplicate floatd_quorum ${q.name}`);
      else if (q) cfg.quorums.push(q);
    } else if (k === 'floatd_api') {
      if (!n.children) c.err(n.key, k, 'expected a { } block after floatd_api');
      else if (cfg.api) c.err(n.key, k, 'a second floatd_api block', 'merge the two blocks into one');
      else cfg.api = apiBlock(c, n);
    } else if (TOP_NOT_YET.has(k)) c.info(n.key, k, 'parsed but not yet supported by floatd');
    else c.unknown(n, 'the top level', ['global_defs', 'vrrp_script', 'vrrp_instance', 'vrrp_sync_group', 'track_file', 'vrrp_track_file', 'vrrp_track_process', 'floating_ip', 'notify_webhook', 'floatd_api', 'floatd_quorum'], TOP_NOT_YET);
  }
  for (const ic of cfg.instances) for (const f of ic.floatingIps) {
    if (!cfg.floatingIps.some((x) => x.name === f)) c.diags.push({ severity: 'error', ...ic.pos, keyword: 'floating_ip', message: `vrrp_instance ${ic.name} refers to floating_ip ${f}, which is not defined` });
  }
  // A sync group's floating_ip follows the group: every member carries it (the group moves as one).
  for (const sg of cfg.syncGroups) for (const f of sg.floatingIps ?? []) {
    if (!cfg.floatingIps.some((x) => x.name === f)) c.diags.push({ severity: 'error', ...sg.pos, keyword: 'floating_ip', message: `vrrp_sync_group ${sg.name} refers to floating_ip ${f}, which is not defined` });
    for (const m of sg.members) { const ic = cfg.instances.find((i) => i.name === m); if (ic && !ic.floatingIps.includes(f)) ic.floatingIps.push(f); }
  }
  for (const f of cfg.floatingIps) {
    if (!cfg.instances.some((i) => i.floatingIps.includes(f.name))) c.diags.push({ severity: 'warning', ...f.pos, keyword: 'floating_ip', message: `floating_ip ${f.name} is not used by any vrrp_instance or vrrp_sync_group`, hint: `add "floating_ip ${f.name}" to the instance that should hold it` });
  }
  checkQuorumRefs(cfg, c.diags);
  const vrids = new Map<string, string>();
  for (const ic of cfg.instances) {
    const key = `${ic.interface}/${ic.family}/${ic.vrid}`;
    const other = vrids.get(key);
    if (other) c.diags.push({ severity: 'error', ...ic.pos, keyword: 'virtual_router_id', message: `VRID ${ic.vrid} on ${ic.interface} is already used by ${other}` });
    vrids.set(key, ic.name);
  }
  diags.push(...c.diags);
  return cfg;
}
