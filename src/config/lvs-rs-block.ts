/**
 * `real_server ADDRESS PORT { weight; inhibit_on_failure; notify_up/down; checkers }` inside a
 * `virtual_server` (keepalived.conf(5), 2.2.7). Part of the LVS parser (src/config/lvs-block.ts).
 */
import { isIP } from 'node:net';
import type { Node } from './lexer.js';
import { splitCommand } from './lexer.js';
import { ALL_CHECKS, checkBlock, timing, type CheckDefaults, type LvsCtx } from './lvs-check-block.js';
import { port } from './lvs-group.js';
import type { RealServerConfig, VirtualServerConfig } from './lvs-model.js';
import type { NotifyScript } from './model.js';

const NOT_HONOURED = 'parsed but not honoured by floatd';

export function script(c: LvsCtx, n: Node): NotifyScript | undefined {
  const a = c.arg(n, 0, 'a script');
  if (!a) return undefined;
  return {
    argv: a.quoted ? splitCommand(a.text) : [a.text],
    ...(n.args[1] ? { user: n.args[1].text } : {}),
    ...(n.args[2] ? { group: n.args[2].text } : {}),
  };
}

export function realServer(
  c: LvsCtx,
  n: Node,
  vs: VirtualServerConfig,
  d: CheckDefaults,
  inhibit: boolean,
): RealServerConfig | undefined {
  const addr = n.args[0];
  if (!addr || !isIP(addr.text)) {
    c.err(addr ?? n.key, 'real_server', `expected real_server ADDRESS PORT, got "${addr?.text ?? ''}"`);
    return undefined;
  }
  // A fwmark service may leave the port out: the connection keeps its destination port (IPVS port 0).
  const p =
    !n.args[1] && vs.fwmarks.length && !vs.endpoints.length ? 0 : port(c, n.args[1], n.key, `real_server ${addr.text}`);
  if (p === undefined) return undefined;
  if (isIP(addr.text) !== vs.family) {
    c.err(
      addr,
      'real_server',
      `real_server ${addr.text} is IPv${isIP(addr.text)} but virtual_server ${vs.key} is IPv${vs.family}`,
      "the kernel cannot NAT between address families: use real servers of the virtual address's family",
      'CONFIG_CONFLICT',
    );
    return undefined;
  }
  const rs: RealServerConfig = {
    address: addr.text,
    port: p,
    weight: 1,
    inhibitOnFailure: inhibit,
    checks: [],
    pos: c.at(n.key),
  };
  const rd: CheckDefaults = { ...d };
  const checkNodes: Node[] = [];
  for (const e of n.children ?? []) {
    const k = e.key.text;
    if (timing(c, e, rd)) continue;
    if (ALL_CHECKS.includes(k)) {
      checkNodes.push(e);
      continue;
    }
    switch (k) {
      case 'weight': {
        const v = c.int(e, 0, 65535);
        if (v !== undefined) rs.weight = v;
        break;
      }
      case 'inhibit_on_failure':
        rs.inhibitOnFailure = true;
        break;
      case 'notify_up':
        rs.notifyUp = script(c, e);
        break;
      case 'notify_down':
        rs.notifyDown = script(c, e);
        break;
      case 'virtualhost':
        rd.virtualhost = c.arg(e, 0, 'a host name')?.text;
        break;
      case 'lvs_method':
      case 'lb_kind': {
        const a = c.arg(e, 0, 'NAT or DR');
        if (a && a.text !== vs.method)
          c.err(
            a,
            k,
            `real_server ${addr.text} uses ${a.text} but its virtual_server uses ${vs.method}`,
            'one forwarding method per virtual_server in floatd',
            'CONFIG_CONFLICT',
          );
        break;
      }
      case 'uthreshold':
      case 'lthreshold':
      case 'smtp_alert':
        c.warn(e.key, k, NOT_HONOURED, undefined, 'CONFIG_NOT_HONOURED');
        break;
      default:
        if (/_CHECK$|_GET$/.test(k))
          c.err(e.key, k, `unknown checker ${k}`, `checkers: ${ALL_CHECKS.join(', ')}`, 'CONFIG_UNKNOWN_KEYWORD');
        else c.warn(e.key, k, 'unknown keyword in real_server, ignored', undefined, 'CONFIG_UNKNOWN_KEYWORD');
    }
  }
  for (const e of checkNodes) {
    const ch = checkBlock(c, e, rd);
    if (ch) rs.checks.push(ch);
  }
  return rs;
}
