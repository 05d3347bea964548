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
import type { FloatdConfig, FloatingIpConfig, GlobalDefs, InstanceConfig, NotifyConfig, NotifyScript, Pos, SyncGroupConfig, TrackEntry, TrackFileConfig, TrackProcessConfig, VipConfig, VrrpScript } from './model.js';
import { splitLine } from './lexer.js';

/** Keywords floatd reads but does not act on yet: said once, with position. */
const NOT_YET = new Set(['use_vmac', 'vmac_xmit_base', 'virtual_rules', 'track_bfd', 'track_src_ip', 'notify_deleted', 'smtp_alert', 'promote_secondaries', 'mcast_src_ip', 'debug', 'strict_mode', 'skip_check_adv_addr', 'timer_expired_backup', 'v3_checksum_as_v2', 'old_unicast_checksum', 'unicast_fault_no_peer', 'kernel_rx_buf_size', 'notify_priority_changes']);
const TOP_NOT_YET = new Set(['virtual_server', 'virtual_server_group', 'bfd_instance', 'static_ipaddress', 'static_routes', 'static_rules', 'linkbeat_interfaces', 'garp_group', 'SSL', 'quorum']);

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
  /** Seconds, fractions allowed (floatd); returns milliseconds. */
  secs(n: Node, min: number, max: number): number | undefined {
    const a = this.arg(n, 0, 'a number of seconds');
    if (!a) return undefined;
    const v = Number(a.text);
    if (!/^\d+(\.\d+)?$/.test(a.text) || v < min || v > max) { this.err(a, n.key.text, `expected seconds ${min}..${max}, got "${a.text}"`); return undefined; }
    return Math.round(v * 1000);
  }
  ip(n: Node, i = 0, family?: 4 | 6): string | undefined {
    const a = this.arg(n, i, 'an IP address');
    if (!a) return undefined;
    const f = isIP(a.text);
    if (!f || (family && f !== family)) { this.err(a, n.key.text, `expected an IPv${family ?? '4 or IPv6'} address, got "${a.text}"`); return undefined; }
    return a.text;
  }
  unknown(n: Node, where: string, known: string[]): void {
    const k = n.key.text;
    if (NOT_YET.has(k)) { this.info(n.key, k, 'parsed but not yet supported by floatd'); return; }
    const near = known.find((x) => distance(x, k) <= 2);
    this.warn(n.key, k, `unknown keyword in ${where}, ignored`, near ? `did you mean '${near}'?` : undefined);
  }
}

/** `notify_master "/path/x.sh arg" [user [group]]`: slot 1 is the command line, then user/group. */
function notifyScript(c: Ctx, n: Node): NotifyScript | undefined {
  const a = c.arg(n, 0, 'a script');
  if (!a) return undefined;
  const argv = a.quoted ? splitLine(a.text).map((w) => w.text) : [a.text];
  if (n.args.length > 3) c.warn(n.args[3]!, n.key.text, 'extra words after user and group are ignored', 'quote the whole command line: notify_master "/path/script arg"');
  return { argv, ...(n.args[1] ? { user: n.args[1].text } : {}), ...(n.args[2] ? { group: n.args[2].text } : {}) };
}

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

function globalDefs(c: Ctx, n: Node, g: GlobalDefs): void {
  for (const e of n.children ?? []) {
    const k = e.key.text;
    switch (k) {
      case 'router_id': g.routerId = c.arg(e)?.text; break;
      case 'vrrp_version': { const v = c.int(e, 2, 3); if (v) g.vrrpVersion = v as 2 | 3; break; }
      case 'script_user': g.scriptUser = c.arg(e)?.text; if (e.args[1]) g.scriptGroup = e.args[1].text; break;
      case 'enable_script_security': g.enableScriptSecurity = true; break;
      case 'vrrp_strict': g.vrrpStrict = true; c.info(e.key, k, 'parsed; floatd applies strict mode\'s checks but installs no firewall rules'); break;
      case 'vrrp_check_unicast_src': g.checkUnicastSrc = true; break;
      case 'notify_fifo': case 'vrrp_notify_fifo': g.notifyFifo = c.arg(e)?.text; break;
      case 'vrrp_startup_delay': { const v = c.secs(e, 0, 3600); if (v !== undefined) g.vrrpStartupDelayMs = v; break; }
      case 'vrrp_garp_master_delay': { const v = c.secs(e, 0, 255); if (v !== undefined) g.garpMasterDelayMs = v; break; }
      case 'vrrp_garp_master_repeat': { const v = c.int(e, 1, 255); if (v !== undefined) g.garpMasterRepeat = v; break; }
      case 'vrrp_garp_master_refresh': { const v = c.secs(e, 0, 86400); if (v !== undefined) g.garpMasterRefreshMs = v; break; }
      case 'vrrp_garp_master_refresh_repeat': { const v = c.int(e, 1, 255); if (v !== undefined) g.garpMasterRefreshRepeat = v; break; }
      case 'vrrp_mcast_group4': { const v = c.ip(e, 0, 4); if (v) g.mcastGroup4 = v; break; }
      case 'vrrp_mcast_group6': { const v = c.ip(e, 0, 6); if (v) g.mcastGroup6 = v; break; }
      case 'notification_email': case 'notification_email_from': case 'smtp_server': case 'smtp_connect_timeout': case 'enable_traps': case 'lvs_id':
        c.info(e.key, k, 'parsed but not yet supported by floatd'); break;
      default: c.unknown(e, 'global_defs', ['router_id', 'vrrp_version', 'script_user', 'enable_script_security', 'vrrp_strict', 'notify_fifo']);
    }
  }
}

function vrrpScript(c: Ctx, n: Node, name: string): VrrpScript {
  const s: VrrpScript = { name, kind: 'script', intervalMs: 1000, timeoutMs: 0, weight: 0, reverse: false, rise: 1, fall: 1, initFail: false, pos: c.at(n.key) };
  const kinds: Token[] = [];
  for (const e of n.children ?? []) {
    const k = e.key.text;
    switch (k) {
      case 'script': { const a = c.arg(e, 0, 'a command'); if (a) { s.argv = a.quoted ? splitLine(a.text).map((w) => w.text) : [a.text]; kinds.push(e.key); } break; }
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
      default: c.unknown(e, 'vrrp_script', ['script', 'interval', 'timeout', 'weight', 'rise', 'fall', 'user', 'init_fail', 'http_get', 'tcp_connect']);
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
      case 'init_file': f.initFile = { value: Number(e.args[0]?.text ?? 0) || 0, overwrite: e.args.some((a) => a.text === 'overwrite') }; break;
      default: c.unknown(e, 'vrrp_track_file', ['file', 'weight', 'init_file']);
    }
  }
  if (!f.path) c.err(n.key, n.key.text, `track file ${name} has no file`, 'add: file "/path/to/file"');
  return f;
}

function trackProcess(c: Ctx, n: Node, name: string): TrackProcessConfig {
  const p: TrackProcessConfig = { name, process: '', fullCommand: false, weight: 1, reverse: false, quorum: 1, pos: c.at(n.key) };
  for (const e of n.children ?? []) {
    const k = e.key.text;
    switch (k) {
      case 'process': { const a = c.arg(e, 0, 'a process name'); if (a) { p.process = a.text; if (e.args.length > 1) p.params = e.args.slice(1).map((x) => x.text); } break; }
      case 'param_match': { const v = c.arg(e)?.text; if (v === 'initial' || v === 'partial' || v === 'exact') p.paramMatch = v; else if (v) c.err(e.args[0]!, k, `expected initial or partial, got "${v}"`); break; }
      case 'full_command': p.fullCommand = true; break;
      case 'weight': Object.assign(p, weightOf(c, e, -1)); break;
      case 'quorum': { const v = c.int(e, 1, 65535); if (v) p.quorum = v; break; }
      case 'quorum_max': { const v = c.int(e, 1, 65535); if (v) p.quorumMax = v; break; }
      case 'delay': { const v = c.secs(e, 0, 3600); if (v !== undefined) { p.forkDelayMs = v; p.terminateDelayMs = v; } break; }
      case 'fork_delay': { const v = c.secs(e, 0, 3600); if (v !== undefined) p.forkDelayMs = v; break; }
      case 'terminate_delay': { const v = c.secs(e, 0, 3600); if (v !== undefined) p.terminateDelayMs = v; break; }
      default: c.unknown(e, 'vrrp_track_process', ['process', 'param_match', 'full_command', 'weight', 'quorum', 'quorum_max', 'delay']);
    }
  }
  if (!p.process) c.err(n.key, n.key.text, `track process ${name} has no process`, 'add: process nginx');
  return p;
}

function instance(c: Ctx, n: Node, name: string, g: GlobalDefs, t: Trackables): InstanceConfig | undefined {
  const scripts = t.scripts;
  const ic: InstanceConfig = {
    name, interface: '', vrid: 0, version: g.vrrpVersion, family: 4, priority: 100, initialState: 'BACKUP', advertIntervalCs: 100,
    preempt: true, preemptDelayMs: 0, downTimerAdverts: 3, auth: { type: 'NONE', pass: '' }, unicastPeers: [], checkUnicastSrc: true,
    vips: [], excludedVips: [], routes: [], trackScripts: [], trackInterfaces: [], trackFiles: [], trackProcesses: [], notify: {},
    garp: { masterDelayMs: g.garpMasterDelayMs, masterRepeat: g.garpMasterRepeat, masterRefreshMs: g.garpMasterRefreshMs, masterRefreshRepeat: g.garpMasterRefreshRepeat, lowerPrioDelayMs: g.garpMasterDelayMs, lowerPrioRepeat: g.garpMasterRepeat },
    accept: true, lowerPrioNoAdvert: false, higherPrioSendAdvert: false, dontTrackPrimary: false, floatingIps: [], pos: c.at(n.key),
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
            const v = Number(p.args[i + 1]?.text);
            if (p.args[i]!.text === 'min_ttl') peer.minTtl = v; else if (p.args[i]!.text === 'max_ttl') peer.maxTtl = v;
            else c.warn(p.args[i]!, k, `unexpected "${p.args[i]!.text}"`, 'expected min_ttl N / max_ttl N');
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
          } else c.unknown(a, 'authentication', ['auth_type', 'auth_pass']);
        }
        break;
      case 'virtual_ipaddress': case 'virtual_ipaddress_excluded':
        for (const v of e.children ?? []) { const x = vip(c, v); if (x) (k === 'virtual_ipaddress' ? ic.vips : ic.excludedVips).push(x); }
        break;
      case 'virtual_routes': for (const r of e.children ?? []) ic.routes.push([r.key.text, ...r.args.map((a) => a.text)]); break;
      case 'track_script':
        ic.trackScripts = trackList(c, e, (nm) => scripts.get(nm)?.weight ?? 0);
        for (const [i, t] of ic.trackScripts.entries()) if (!scripts.has(t.name)) c.err(e.children![i]!.key, k, `no vrrp_script named "${t.name}"`, 'define it with vrrp_script NAME { … } before or after this instance');
        break;
      case 'track_interface': ic.trackInterfaces = trackList(c, e, () => 0); break;
      case 'track_file': case 'track_process': {
        const known = k === 'track_file' ? t.files : t.procs;
        const list = trackList(c, e, (nm) => known.get(nm)?.weight ?? 1);
        for (const [i, x] of list.entries()) if (!known.has(x.name)) c.err(e.children![i]!.key, k, `no vrrp_${k} named "${x.name}"`);
        if (k === 'track_file') ic.trackFiles = list; else ic.trackProcesses = list;
        break;
      }
      case 'garp_master_delay': { const v = c.secs(e, 0, 255); if (v !== undefined) ic.garp.masterDelayMs = v; break; }
      case 'garp_master_repeat': { const v = c.int(e, 1, 255); if (v) ic.garp.masterRepeat = v; break; }
      case 'garp_master_refresh': { const v = c.secs(e, 0, 86400); if (v !== undefined) ic.garp.masterRefreshMs = v; break; }
      case 'garp_master_refresh_repeat': { const v = c.int(e, 1, 255); if (v) ic.garp.masterRefreshRepeat = v; break; }
      case 'garp_lower_prio_delay': { const v = c.secs(e, 0, 255); if (v !== undefined) ic.garp.lowerPrioDelayMs = v; break; }
      case 'garp_lower_prio_repeat': { const v = c.int(e, 0, 255); if (v !== undefined) ic.garp.lowerPrioRepeat = v; break; }
      case 'accept': ic.accept = true; break;
      case 'no_accept': ic.accept = false; break;
      case 'lower_prio_no_advert': ic.lowerPrioNoAdvert = e.args[0]?.text !== 'false'; break;
      case 'higher_prio_send_advert': ic.higherPrioSendAdvert = e.args[0]?.text !== 'false'; break;
      case 'dont_track_primary': ic.dontTrackPrimary = true; break;
      case 'floating_ip': { const a = c.arg(e, 0, 'a floating_ip name'); if (a) ic.floatingIps.push(a.text); break; }
      default:
        if (k in NOTIFY_KEYS) { const s = notifyScript(c, e); if (s) ic.notify[NOTIFY_KEYS[k]!] = s; }
        else c.unknown(e, 'vrrp_instance', ['interface', 'state', 'priority', 'virtual_router_id', 'advert_int', 'nopreempt', 'unicast_peer', 'unicast_src_ip', 'authentication', 'virtual_ipaddress', 'track_script', 'track_interface', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify']);
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
  for (const n of nodes) if (n.key.text === 'global_defs') globalDefs(c, n, g);
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
  const cfg: FloatdConfig = { global: g, scripts: [...scripts.values()], trackFiles: [...files2.values()], trackProcesses: [...procs.values()], syncGroups: [], instances: [], floatingIps: [], webhooks: [], files };
  for (const n of nodes) {
    const k = n.key.text;
    if (k === 'global_defs' || k === 'vrrp_script' || k === 'vrrp_track_file' || k === 'track_file' || k === 'vrrp_track_process') continue;
    if (!n.children && ['vrrp_instance', 'vrrp_sync_group', 'floating_ip', 'notify_webhook'].includes(k)) { c.err(n.key, k, `expected a { } block after ${k}`); continue; }
    if (k === 'vrrp_instance') {
      const name = c.arg(n, 0, 'an instance name');
      if (!name) continue;
      if (cfg.instances.some((i) => i.name === name.text)) { c.err(name, k, `duplicate vrrp_instance ${name.text}`); continue; }
      const ic = instance(c, n, name.text, g, { scripts, files: files2, procs });
      if (ic) cfg.instances.push(ic);
    } else if (k === 'vrrp_sync_group') {
      const name = c.arg(n, 0, 'a group name');
      if (!name) continue;
      const sg: SyncGroupConfig = { name: name.text, members: [], pos: c.at(n.key) };
      for (const e of n.children ?? []) {
        if (e.key.text === 'group') sg.members = (e.children ?? []).map((m) => m.key.text);
        else if (e.key.text in NOTIFY_KEYS) { const s = notifyScript(c, e); if (s) (sg.notify ??= {})[NOTIFY_KEYS[e.key.text]!] = s; }
        else if (e.key.text === 'floating_ip') { const a = c.arg(e, 0, 'a floating_ip name'); if (a) (sg.floatingIps ??= []).push(a.text); }
        else c.unknown(e, 'vrrp_sync_group', ['group', 'notify_master', 'notify_backup', 'notify_fault', 'notify']);
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
    } else if (k === 'floatd_api') {
      if (!n.children) c.err(n.key, k, 'expected a { } block after floatd_api');
      else if (cfg.api) c.err(n.key, k, 'a second floatd_api block', 'merge the two blocks into one');
      else cfg.api = apiBlock(c, n);
    } else if (TOP_NOT_YET.has(k)) c.info(n.key, k, 'parsed but not yet supported by floatd');
    else c.unknown(n, 'the top level', ['global_defs', 'vrrp_script', 'vrrp_instance', 'vrrp_sync_group', 'floating_ip', 'notify_webhook']);
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
