/**
 * A real server given through the API in keepalived's own syntax (pure): the body is the inside
 * of a `real_server` block (`weight`, `inhibit_on_failure`, checker blocks), parsed by the same
 * parser as the file, inside a virtual server with the target's delay_loop. What the file may
 * do but an API caller may not is refused: `include` (reading files), MISC_CHECK and
 * notify_up/notify_down (running programs as root).
 */
import { parseConfigText } from '../config/index.js';
import type { RealServerConfig, VirtualServerConfig } from '../config/lvs-model.js';
import { refuse, type Refusal } from '../errors.js';

/** The largest body accepted (bytes). */
export const MAX_RS_BODY = 16 * 1024;
/** Lines before the body in the wrapper (positions are reported relative to the body). */
const HEAD_LINES = 3;

export function parseRealServerBody(
  body: string,
  vs: VirtualServerConfig,
  address: string,
  port: number,
): { ok: true; given: Pick<RealServerConfig, 'checks' | 'weight' | 'inhibitOnFailure'>; warnings: string[] } | Refusal {
  if (Buffer.byteLength(body) > MAX_RS_BODY)
    return refuse('LB_BAD_REAL_SERVER', `the body is over ${MAX_RS_BODY} bytes`);
  if (/(^|[\s{;])include\s/m.test(body)) return refuse('LB_BAD_REAL_SERVER', '`include` is not accepted from the API');
  const v6 = address.includes(':');
  const text = [
    `virtual_server ${v6 ? '2001:db8::1' : '192.0.2.1'} ${port} {`,
    `  delay_loop ${vs.delayLoopMs / 1000}`,
    `  lvs_sched rr`,
    `  real_server ${address} ${port} {`,
    body,
    '  }',
    '}',
    '',
  ].join('\n');
  const r = parseConfigText(text, 'api', {
    readFile: () => {
      throw new Error('include is not accepted from the API');
    },
  });
  const where = (d: { line: number; col: number; keyword?: string; message: string }): string =>
    `line ${d.line - HEAD_LINES - 1}:${d.col}: ${d.keyword ? `${d.keyword}: ` : ''}${d.message}`;
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  const vss = r.config?.virtualServers ?? [];
  const rs = vss[0]?.realServers[0];
  if (errors.length || !rs)
    return refuse('LB_BAD_REAL_SERVER', errors.map(where).join('; ') || 'no real server parsed');
  // A body that closes the block early and writes more (`} real_server … {`) is not one real server.
  if (vss.length !== 1 || vss[0]!.realServers.length !== 1 || r.config?.instances.length)
    return refuse('LB_BAD_REAL_SERVER', 'the body must be the inside of one real_server block');
  if (rs.checks.some((c) => c.kind === 'MISC_CHECK'))
    return refuse('LB_BAD_REAL_SERVER', 'MISC_CHECK runs a program: it is accepted from the file only');
  if (rs.notifyUp || rs.notifyDown)
    return refuse('LB_BAD_REAL_SERVER', 'notify_up/notify_down run programs: accepted from the file only');
  const warnings = r.diagnostics
    .filter((d) => d.severity === 'warning' && d.line > HEAD_LINES + 1 && d.line <= text.split('\n').length - 3)
    .map(where);
  return { ok: true, given: { checks: rs.checks, weight: rs.weight, inhibitOnFailure: rs.inhibitOnFailure }, warnings };
}
