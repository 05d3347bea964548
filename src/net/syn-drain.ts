/**
 * Quorum mode's hand-over drain in the kernel (docs/quorum.md, "Planned switchover"): while a
 * stopping holder still has its VIPs, new TCP connections to them are dropped at the input hook
 * (a SYN without ACK), so only the connections already open are served until the VIPs go. Dropped,
 * not reset: the client retransmits its SYN after 1 s, by when the new holder's GARP has moved it.
 * One nftables table per instance (`inet floatd_drain_<hex of the name>`), made and deleted in one
 * `nft -f -` transaction each; the script is built by a pure function.
 */
import { execFile, type Exec } from '../util/exec.js';
import type { AddressSpec } from './addresses.js';

/** The table's name for an instance (hex: instance names may hold any character nft refuses). */
export const drainTable = (owner: string): string => `floatd_drain_${Buffer.from(owner).toString('hex')}`.slice(0, 200);

/** The nft script that installs (on) or removes (off) the drop of new connections to `specs`. */
export function drainScript(owner: string, specs: readonly AddressSpec[], on: boolean): string {
  const t = `inet ${drainTable(owner)}`;
  // "add table" then "delete table": deleting one that does not exist would fail the transaction.
  let s = `add table ${t}\ndelete table ${t}\n`;
  const v4 = specs.filter((x) => !x.address.includes(':')).map((x) => x.address);
  const v6 = specs.filter((x) => x.address.includes(':')).map((x) => x.address);
  if (!on || v4.length + v6.length === 0) return s;
  const syn = 'tcp flags & (syn | ack) == syn';
  const rules = [
    ...(v4.length ? [`    ip daddr { ${v4.join(', ')} } ${syn} drop`] : []),
    ...(v6.length ? [`    ip6 daddr { ${v6.join(', ')} } ${syn} drop`] : []),
  ];
  s += `table ${t} {\n  chain in {\n    type filter hook input priority -10;\n${rules.join('\n')}\n  }\n}\n`;
  return s;
}

/** nft gets 5 s: a drain is 200 ms, and a hung nft must not hold up the hand-over for long. */
const nft = execFile([], 5000);

/** Applies the script; rejects with nft's message, or with the spawn error's `code` (ENOENT: no nft). */
export async function applyDrain(
  owner: string,
  specs: readonly AddressSpec[],
  on: boolean,
  exec: Exec = nft,
): Promise<void> {
  const r = await exec(['nft', '-f', '-'], drainScript(owner, specs, on));
  if (r.code === 0) return;
  if (r.errno) throw Object.assign(new Error(r.stderr.trim()), { code: r.errno });
  throw new Error(`nft: ${r.stderr.trim() || `exit ${r.code}`}`);
}
