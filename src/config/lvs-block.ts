/**
 * keepalived's `virtual_server` / `virtual_server_group` / `real_server` blocks → the LVS model
 * (src/config/lvs-model.ts), for floatd's nftables load balancer (docs/lb.md). What the backend
 * cannot do is a positioned error with what to use instead; what is read but not acted on is a
 * positioned warning (never "configuration OK" in silence).
 */
import { isIP } from 'node:net';
import type { Node } from './lexer.js';
import { ALL_CHECKS, timing, type CheckDefaults, type LvsCtx } from './lvs-check-block.js';
import { groupsFor, head, port, type Group } from './lvs-group.js';
import type { LvsMethod, LvsSched, VirtualServerConfig } from './lvs-model.js';
import type { TrackFileConfig } from './model.js';
import { realServer, script } from './lvs-rs-block.js';

const SCHEDS: readonly string[] = ['rr', 'wrr', 'sh', 'dh', 'mh', 'fo'];
const REFUSED_SCHEDS: Record<string, string> = {
  lc: 'wrr (or mh for consistent hashing)',
  wlc: 'wrr with the same weights',
  lblc: 'dh',
  lblcr: 'dh',
  sed: 'wrr',
  nq: 'wrr',
  ovf: 'fo',
  twos: 'wrr',
};
const NOT_HONOURED = 'parsed but not honoured by floatd';
function sched(c: LvsCtx, e: Node): LvsSched | undefined {
  const a = c.arg(e, 0, 'a scheduler');
  if (!a) return undefined;
  if (SCHEDS.includes(a.text)) return a.text as LvsSched;
  const alt = REFUSED_SCHEDS[a.text];
  if (alt)
    c.err(
      a,
      e.key.text,
      `scheduler ${a.text} is not supported: floatd balances in nftables, which keeps no per-server connection counts`,
      `use ${alt}`,
      'CONFIG_UNSUPPORTED',
    );
  else c.err(a, e.key.text, `unknown scheduler "${a.text}"`, `supported: ${SCHEDS.join(', ')}`);
  return undefined;
}

function method(c: LvsCtx, e: Node): LvsMethod | undefined {
  const a = c.arg(e, 0, 'NAT or DR');
  if (!a) return undefined;
  if (a.text === 'NAT') return 'NAT';
  if (a.text === 'DR') return 'DR';
  if (a.text === 'TUN')
    c.err(a, e.key.text, 'TUN (IP-in-IP) is not supported by floatd', 'use NAT', 'CONFIG_UNSUPPORTED');
  else c.err(a, e.key.text, `expected NAT, DR or TUN, got "${a.text}"`);
  return undefined;
}

/** What nftables' DR (per packet, before conntrack) can do: warnings only. */
function drWarnings(c: LvsCtx, n: Node, vs: VirtualServerConfig): void {
  if (vs.persistenceTimeoutS)
    c.warn(
      n.key,
      'persistence_timeout',
      'not honoured with DR (no connection state at ingress): use lvs_sched sh, which keeps a client on one server',
      undefined,
      'CONFIG_NOT_HONOURED',
    );
  if (vs.sched === 'rr' || vs.sched === 'wrr')
    c.warn(
      n.key,
      'lvs_sched',
      `with DR, ${vs.sched} picks by a hash of the client address and port (no connection state at ingress): the ` +
        'spread is statistical, not in turn',
      undefined,
      'CONFIG_RISKY',
    );
}

function virtualServer(
  c: LvsCtx,
  n: Node,
  groups: Map<string, Group>,
  trackFiles: ReadonlyMap<string, TrackFileConfig>,
): VirtualServerConfig | undefined {
  const h = head(c, n, groups);
  if (!h) return undefined;
  const vs: VirtualServerConfig = {
    ...h,
    protocol: 'TCP',
    sched: 'wrr',
    hashPort: false,
    method: 'NAT',
    delayLoopMs: 60_000,
    quorum: 1,
    hysteresis: 0,
    alpha: false,
    omega: false,
    realServers: [],
    pos: c.at(n.key),
    ...(n.close && n.close.file === n.key.file ? { endLine: n.close.line } : {}),
  };
  const d: CheckDefaults = { delayLoopMs: 60_000, connectTimeoutMs: 5000, alpha: false, trackFiles };
  let schedSet = false;
  let inhibit = false;
  let ok = true;
  const rsNodes: Node[] = [];
  for (const e of n.children ?? []) {
    const k = e.key.text;
    if (k === 'real_server') {
      rsNodes.push(e);
      continue;
    }
    if (timing(c, e, d)) {
      if (k === 'alpha') vs.alpha = true;
      continue;
    }
    switch (k) {
      case 'lb_algo':
      case 'lvs_sched': {
        schedSet = true;
        const s = sched(c, e);
        if (s) vs.sched = s;
        else ok = false;
        break;
      }
      case 'lb_kind':
      case 'lvs_method': {
        const m = method(c, e);
        if (m) vs.method = m;
        else ok = false;
        break;
      }
      case 'protocol': {
        const a = c.arg(e, 0, 'TCP or UDP');
        if (a && (a.text === 'TCP' || a.text === 'UDP')) vs.protocol = a.text;
        else if (a) {
          c.err(a, k, `protocol ${a.text} is not supported by floatd`, 'use TCP or UDP', 'CONFIG_UNSUPPORTED');
          ok = false;
        }
        break;
      }
      case 'persistence_timeout':
        vs.persistenceTimeoutS = e.args[0] ? c.int(e, 1, 86400 * 31) : 360;
        break;
      case 'persistence_granularity': {
        const a = e.args[0];
        if (a && a.text !== '255.255.255.255' && a.text !== '128')
          c.warn(a, k, `${NOT_HONOURED}: persistence is per client address`, undefined, 'CONFIG_NOT_HONOURED');
        break;
      }
      case 'quorum': {
        const v = c.int(e, 1, 0xffffffff);
        if (v !== undefined) vs.quorum = v;
        break;
      }
      case 'hysteresis': {
        const v = c.int(e, 0, 0xffffffff);
        if (v !== undefined) vs.hysteresis = v;
        break;
      }
      case 'quorum_up':
        vs.quorumUp = script(c, e);
        break;
      case 'quorum_down':
        vs.quorumDown = script(c, e);
        break;
      case 'sorry_server': {
        const a = e.args[0];
        if (!a || !isIP(a.text)) {
          c.err(a ?? e.key, k, 'expected sorry_server ADDRESS PORT');
          break;
        }
        if (isIP(a.text) !== vs.family) {
          c.err(
            a,
            k,
            `sorry_server ${a.text} is not IPv${vs.family} like its virtual_server`,
            undefined,
            'CONFIG_CONFLICT',
          );
          break;
        }
        const p = port(c, e.args[1], e.key, `sorry_server ${a.text}`);
        if (p !== undefined) vs.sorry = { address: a.text, port: p, inhibit: vs.sorry?.inhibit ?? false };
        break;
      }
      case 'sorry_server_inhibit':
        if (vs.sorry) vs.sorry.inhibit = true;
        else vs.sorry = { address: '', port: 0, inhibit: true };
        break;
      case 'sorry_server_lvs_method': {
        const m = method(c, e);
        if (m && m !== vs.method)
          c.err(e.key, k, "the sorry server must use its virtual_server's method", undefined, 'CONFIG_CONFLICT');
        break;
      }
      case 'omega':
        vs.omega = true;
        break;
      case 'inhibit_on_failure':
        inhibit = true;
        break;
      case 'virtualhost':
        vs.virtualhost = c.arg(e, 0, 'a host name')?.text;
        d.virtualhost = vs.virtualhost;
        break;
      case 'sh-port':
      case 'mh-port':
        vs.hashPort = true;
        break;
      // floatd's slot tables hold only servers in rotation, so a hash always falls back.
      case 'sh-fallback':
      case 'mh-fallback':
      case 'hashed':
        break;
      case 'ip_family': {
        const a = c.arg(e, 0, 'inet or inet6');
        if (a?.text === 'inet6') vs.family = 6;
        else if (a && a.text !== 'inet') c.err(a, k, `expected inet or inet6, got "${a.text}"`);
        break;
      }
      case 'ha_suspend':
        // Checks pause while no address of the service is local (src/lb/suspend.ts).
        if (vs.fwmarks.length)
          c.warn(
            e.key,
            k,
            'a fwmark service has no address to follow: its checks keep running',
            undefined,
            'CONFIG_NOT_HONOURED',
          );
        else vs.haSuspend = true;
        break;
      case 'ops':
      case 'flag-1':
      case 'flag-2':
      case 'flag-3':
      case 'smtp_alert':
      case 'persistence_engine':
      case 'lvs_sync_daemon':
        c.warn(e.key, k, NOT_HONOURED, undefined, 'CONFIG_NOT_HONOURED');
        break;
      default:
        if (ALL_CHECKS.includes(k))
          c.err(e.key, k, `${k} belongs inside a real_server block`, undefined, 'CONFIG_UNKNOWN_KEYWORD');
        else c.warn(e.key, k, 'unknown keyword in virtual_server, ignored', undefined, 'CONFIG_UNKNOWN_KEYWORD');
    }
  }
  if (!schedSet)
    c.warn(
      n.key,
      'lvs_sched',
      "no lvs_sched: keepalived's default wlc needs connection counts nftables does not keep; using wrr",
      'write lvs_sched wrr (or rr)',
      'CONFIG_ADJUSTED',
    );
  if (vs.sorry && !vs.sorry.address) {
    c.err(
      n.key,
      'sorry_server_inhibit',
      'sorry_server_inhibit without sorry_server',
      undefined,
      'CONFIG_MISSING_VALUE',
    );
    vs.sorry = undefined;
  }
  if (vs.hysteresis >= vs.quorum && vs.hysteresis > 0)
    c.warn(
      n.key,
      'hysteresis',
      `hysteresis ${vs.hysteresis} ≥ quorum ${vs.quorum}: quorum is then never lost`,
      undefined,
      'CONFIG_RISKY',
    );
  vs.delayLoopMs = d.delayLoopMs;
  vs.key += `/${vs.protocol}`;
  if (vs.method === 'DR') drWarnings(c, n, vs);
  for (const e of rsNodes) {
    const rs = realServer(c, e, vs, d, inhibit);
    if (!rs) {
      ok = false;
      continue;
    }
    if (vs.method === 'DR' && rs.port !== 0 && vs.endpoints.some((x) => x.port !== rs.port)) {
      c.err(
        e.key,
        'real_server',
        `real_server ${rs.address} port ${rs.port}: DR cannot change the port`,
        `use the virtual server's port (${vs.endpoints[0]?.port ?? ''})`,
        'CONFIG_CONFLICT',
      );
      ok = false;
      continue;
    }
    if (vs.realServers.some((x) => x.address === rs.address && x.port === rs.port))
      c.err(e.key, 'real_server', `duplicate real_server ${rs.address} ${rs.port}`, undefined, 'CONFIG_CONFLICT');
    else vs.realServers.push(rs);
  }
  if (new Set(vs.realServers.map((r) => r.port === 0)).size > 1) {
    c.err(
      n.key,
      'real_server',
      `virtual_server ${vs.key} mixes real servers with and without a port`,
      undefined,
      'CONFIG_CONFLICT',
    );
    ok = false;
  }
  if (!vs.realServers.length && !vs.sorry)
    c.warn(
      n.key,
      'virtual_server',
      `virtual_server ${vs.key} has no real_server: connections to it are refused`,
      undefined,
      'CONFIG_RISKY',
    );
  return ok ? vs : undefined;
}

/** `virtual_server … { … }` (phase 2), added to `out` unless refused or clashing. */
export function readVirtualServer(
  c: LvsCtx,
  n: Node,
  build: { trackables: { files: ReadonlyMap<string, TrackFileConfig> } },
  out: VirtualServerConfig[],
): void {
  if (!n.children) {
    c.err(n.key, 'virtual_server', 'expected a { } block after virtual_server', undefined, 'CONFIG_SYNTAX');
    return;
  }
  const vs = virtualServer(c, n, groupsFor(build), build.trackables.files);
  if (!vs) return;
  if (out.some((x) => x.key === vs.key)) {
    c.err(n.key, 'virtual_server', `duplicate virtual_server ${vs.key}`, undefined, 'CONFIG_CONFLICT');
    return;
  }
  const clash = out.find(
    (x) =>
      x.protocol === vs.protocol &&
      x.endpoints.some((a) => vs.endpoints.some((b) => a.address === b.address && a.port === b.port)),
  );
  if (clash) {
    c.err(n.key, 'virtual_server', `virtual_server ${vs.key} overlaps ${clash.key}`, undefined, 'CONFIG_CONFLICT');
    return;
  }
  out.push(vs);
}
