/**
 * The heads of keepalived's virtual services: `virtual_server IP PORT | fwmark N | group NAME` and
 * `virtual_server_group NAME { ADDRESS[-RANGE] PORT; fwmark N }` (read in phase 1, before its users).
 * Part of the LVS parser (src/config/lvs-block.ts).
 */
import { isIP } from 'node:net';
import type { Node, Token } from './lexer.js';
import type { LvsCtx } from './lvs-check-block.js';
import type { VirtualServerConfig, VsEndpoint } from './lvs-model.js';

/** Largest address range one `virtual_server_group` line may expand to. */
const MAX_RANGE = 256;

export interface Group {
  endpoints: VsEndpoint[];
  fwmarks: number[];
  families: Set<4 | 6>;
  pos: Token;
}

export function port(c: LvsCtx, t: Token | undefined, owner: Token, what: string): number | undefined {
  if (!t) {
    c.err(owner, owner.text, `${what} has no port`, `write: ${owner.text} ADDRESS PORT`, 'CONFIG_MISSING_VALUE');
    return undefined;
  }
  const v = Number(t.text);
  if (!/^\d+$/.test(t.text) || v < 1 || v > 65535) {
    c.err(t, owner.text, `expected a port 1..65535, got "${t.text}"`);
    return undefined;
  }
  return v;
}

/** `192.0.2.3-10` (last IPv4 octet / IPv6 group range, keepalived's form) → addresses. */
function expandRange(c: LvsCtx, t: Token): string[] | undefined {
  const m = /^(.*[.:])([0-9a-fA-F]+)-([0-9a-fA-F]+)$/.exec(t.text);
  if (!m) {
    c.err(t, 'virtual_server_group', `expected an IP address or range, got "${t.text}"`);
    return undefined;
  }
  const v6 = m[1]!.endsWith(':');
  const lo = parseInt(m[2]!, v6 ? 16 : 10);
  const hi = parseInt(m[3]!, v6 ? 16 : 10);
  if (!isIP(m[1]! + m[2]!) || hi < lo || hi > (v6 ? 0xffff : 255) || hi - lo >= MAX_RANGE) {
    c.err(t, 'virtual_server_group', `bad address range "${t.text}"`, `at most ${MAX_RANGE} addresses per line`);
    return undefined;
  }
  const out: string[] = [];
  for (let i = lo; i <= hi; i++) out.push(m[1]! + (v6 ? i.toString(16) : String(i)));
  return out;
}

function group(c: LvsCtx, n: Node): Group {
  const g: Group = { endpoints: [], fwmarks: [], families: new Set(), pos: n.key };
  for (const e of n.children ?? []) {
    if (e.key.text === 'fwmark') {
      const v = c.int(e, 1, 0xffffffff);
      if (v !== undefined) g.fwmarks.push(v);
      continue;
    }
    const addrs = isIP(e.key.text) ? [e.key.text] : expandRange(c, e.key);
    const p = port(c, e.args[0], e.key, `virtual_server_group entry ${e.key.text}`);
    if (!addrs || p === undefined) continue;
    for (const a of addrs) {
      g.endpoints.push({ address: a, port: p });
      g.families.add(isIP(a) as 4 | 6);
    }
  }
  return g;
}

/** The head of `virtual_server IP PORT | fwmark N | group NAME`. */
export function head(
  c: LvsCtx,
  n: Node,
  groups: Map<string, Group>,
): Pick<VirtualServerConfig, 'key' | 'family' | 'endpoints' | 'fwmarks'> | undefined {
  const [a0, a1] = n.args;
  if (!a0) {
    c.err(n.key, 'virtual_server', 'expected virtual_server ADDRESS PORT, fwmark N or group NAME');
    return undefined;
  }
  if (a0.text === 'fwmark') {
    const v = Number(a1?.text);
    if (!a1 || !/^\d+$/.test(a1.text) || v < 1 || v > 0xffffffff) {
      c.err(a1 ?? a0, 'virtual_server', 'expected fwmark 1..4294967295');
      return undefined;
    }
    return { key: `fwmark ${v}`, family: 4, endpoints: [], fwmarks: [v] };
  }
  if (a0.text === 'group') {
    const g = a1 ? groups.get(a1.text) : undefined;
    if (!g) {
      c.err(
        a1 ?? a0,
        'virtual_server',
        `no virtual_server_group ${a1?.text ?? ''}`,
        'define it with virtual_server_group NAME { ADDRESS PORT … }',
        'CONFIG_REFERENCE',
      );
      return undefined;
    }
    if (g.families.size > 1) {
      c.err(
        g.pos,
        'virtual_server_group',
        `virtual_server_group ${a1!.text} mixes IPv4 and IPv6`,
        'one family per group',
        'CONFIG_CONFLICT',
      );
      return undefined;
    }
    if (!g.endpoints.length && !g.fwmarks.length) {
      c.err(
        g.pos,
        'virtual_server_group',
        `virtual_server_group ${a1!.text} is empty`,
        undefined,
        'CONFIG_MISSING_VALUE',
      );
      return undefined;
    }
    return { key: `group ${a1!.text}`, family: [...g.families][0] ?? 4, endpoints: g.endpoints, fwmarks: g.fwmarks };
  }
  if (!isIP(a0.text)) {
    c.err(a0, 'virtual_server', `expected an IP address, fwmark or group, got "${a0.text}"`);
    return undefined;
  }
  const p = port(c, a1, n.key, `virtual_server ${a0.text}`);
  if (p === undefined) return undefined;
  const family = isIP(a0.text) as 4 | 6;
  return {
    key: `${family === 6 ? `[${a0.text}]` : a0.text}:${p}`,
    family,
    endpoints: [{ address: a0.text, port: p }],
    fwmarks: [],
  };
}

/** The groups read so far, per parse (virtual_server_group is read in phase 1, before its users). */
const groupsOf = new WeakMap<object, Map<string, Group>>();
export const groupsFor = (build: object): Map<string, Group> => {
  let g = groupsOf.get(build);
  if (!g) {
    g = new Map();
    groupsOf.set(build, g);
  }
  return g;
};

/** `virtual_server_group NAME { … }` (phase 1). */
export function readVsGroup(c: LvsCtx, n: Node, build: object): void {
  const name = c.arg(n, 0, 'a group name');
  if (!name) return;
  if (!n.children) {
    c.err(
      n.key,
      'virtual_server_group',
      'expected a { } block after virtual_server_group NAME',
      undefined,
      'CONFIG_SYNTAX',
    );
    return;
  }
  const groups = groupsFor(build);
  if (groups.has(name.text))
    c.err(name, 'virtual_server_group', `duplicate virtual_server_group ${name.text}`, undefined, 'CONFIG_CONFLICT');
  else groups.set(name.text, group(c, n));
}
