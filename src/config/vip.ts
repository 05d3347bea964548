/**
 * A `virtual_ipaddress` / `virtual_ipaddress_excluded` line: `ADDRESS[/PREFIX] [dev IF] [label L]
 * [scope S] [brd B] [no_track]`.
 */
import { isIP } from 'node:net';
import type { Ctx } from './ctx.js';
import type { Node } from './lexer.js';
import type { VipConfig } from './model.js';
import { checkIfName } from './track-blocks.js';

/**
 * keepalived's rules: the prefix is a plain unsigned decimal (no sign, exponent, fraction, hex
 * or a second slash) up to 32 / 128; the address is what inet_pton takes (no `%scope`).
 */
export function parseAddrPrefix(text: string): { address: string; prefix: number; family: 4 | 6 } | string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const pfx = slash < 0 ? undefined : text.slice(slash + 1);
  if (addr.includes('%'))
    return `a scoped address ("${addr}") is not a VIP; write the address and put the interface in dev IF`;
  const fam = isIP(addr);
  if (fam !== 4 && fam !== 6) return `expected ADDRESS[/PREFIX], got "${text}"`;
  const max = fam === 4 ? 32 : 128;
  if (pfx === undefined) return { address: addr, prefix: max, family: fam };
  if (!/^\d{1,3}$/.test(pfx) || Number(pfx) > max)
    return `bad prefix length "/${pfx}": expected a whole number 0..${max}`;
  return { address: addr, prefix: Number(pfx), family: fam };
}

export function readVip(c: Ctx, e: Node, keyword: string): (VipConfig & { family: 4 | 6 }) | undefined {
  const p = parseAddrPrefix(e.key.text);
  if (typeof p === 'string') {
    c.err(e.key, keyword, p);
    return undefined;
  }
  const v: VipConfig & { family: 4 | 6 } = { address: p.address, prefix: p.prefix, noTrack: false, family: p.family };
  for (let i = 0; i < e.args.length; i++) {
    const k = e.args[i]!.text;
    const val = e.args[i + 1];
    if (k === 'no_track') v.noTrack = true;
    else if (['dev', 'label', 'scope', 'brd', 'broadcast'].includes(k) && val !== undefined) {
      if (k === 'dev') {
        if (checkIfName(c, val, keyword, val.text)) v.dev = val.text;
      } else if (k === 'label') v.label = val.text;
      else if (k === 'scope') v.scope = val.text;
      else v.brd = val.text;
      i++;
    } else c.warn(e.args[i]!, keyword, `unsupported option "${k}" ignored`, undefined, 'CONFIG_NOT_HONOURED');
  }
  if (e.children) c.warn(e.key, keyword, 'a { } block after an address is ignored');
  return v;
}
