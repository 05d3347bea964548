/**
 * Quorum mode's hand-over drain in the kernel (docs/quorum.md, "Planned switchover"): while a
 * stopping holder still has its VIPs, new TCP connections to them are dropped at the input hook
 * (a SYN without ACK), so only the connections already open are served until the VIPs go. Dropped,
 * not reset: the client retransmits its SYN after 1 s, by when the new holder's GARP has moved it.
 * One nftables table per instance (`inet floatd_drain_<hex of the name>`), made and deleted in one
 * `nft -f -` transaction each; the script is built by a pure function.
 */
import { spawn } from 'node:child_process';
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

/** Applies the script; rejects with nft's message (no nft, no permission). */
export function applyDrain(owner: string, specs: readonly AddressSpec[], on: boolean): Promise<void> {
  const script = drainScript(owner, specs, on);
  return new Promise((resolve, reject) => {
    const child = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'], timeout: 5000 });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', (e) => reject(e));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft: ${err.trim() || `exit ${code}`}`))));
    child.stdin.on('error', () => undefined);
    child.stdin.end(script);
  });
}
