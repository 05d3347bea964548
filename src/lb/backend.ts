/**
 * The kernel side of the load balancer, behind one interface so an IPVS backend (generic
 * netlink, docs/lb.md) can take the nftables one's place: it gets the virtual servers and who
 * is in rotation, and makes the kernel match. The nftables backend reads the table
 * (`nft -j list table`), diffs (nft-diff.ts) and applies one script with `nft -f -`: one file is
 * one atomic transaction. nft 1.0.6's JSON input cannot express `typeof` maps or
 * `dnat ip addr . port to … map` (it crashes on them), so floatd writes nft's own syntax and
 * reads JSON.
 */
import { execFile, type Exec } from '../util/exec.js';
import type { VirtualServerConfig } from '../config/lvs-model.js';
import type { RotationEntry } from './membership.js';
import { planTables, TABLE, type NftFamily } from './nft-plan.js';
import { diffGeneric, diffTable, dropTable, parseActual, type ActualTable } from './nft-diff.js';
import { DR_MARK_TABLE, drCounterKeys, drTables } from './nft-dr.js';

export { execFile, isOwnPid, type Exec } from '../util/exec.js';

export interface RsCounters {
  inPackets: number;
  inBytes: number;
  outPackets: number;
  outBytes: number;
  conns: number;
}

export interface LbBackend {
  readonly name: string;
  /** Makes the kernel match; `changed` false when it already did. */
  apply(
    vss: VirtualServerConfig[],
    rotations: Map<string, RotationEntry[]>,
  ): Promise<{ changed: boolean; script: string }>;
  /** Counters per real server, keyed "family address port". */
  counters(vss: VirtualServerConfig[]): Promise<Map<string, RsCounters>>;
  /** Removes everything floatd installed. */
  clear(): Promise<void>;
}

const NAT_TABLES = [
  ['ip', TABLE],
  ['ip6', TABLE],
] as const;
const DR_TABLES = [
  ['netdev', TABLE],
  ['ip', DR_MARK_TABLE],
  ['ip6', DR_MARK_TABLE],
] as const;

export class NftBackend implements LbBackend {
  readonly name = 'nftables';
  /** The tables floatd installed, "family name". */
  private tables = new Set<string>();
  private readonly routeDev = new Map<string, string>();
  constructor(private readonly exec: Exec = execFile()) {}

  private async actual(f: NftFamily | 'netdev', name = TABLE): Promise<ActualTable | undefined> {
    const r = await this.exec(['nft', '-j', 'list', 'table', f, name]);
    if (r.code !== 0) {
      if (/No such file|does not exist/i.test(r.stderr)) return undefined;
      throw new Error(`nft list table ${f} ${name}: ${r.stderr.trim()}`);
    }
    return parseActual(r.stdout);
  }

  async apply(
    vss: VirtualServerConfig[],
    rotations: Map<string, RotationEntry[]>,
  ): Promise<{ changed: boolean; script: string }> {
    const tables = planTables(vss, rotations);
    let script = '';
    const now = new Set<string>(tables.map((t) => `${t.family} ${TABLE}`));
    for (const t of tables) script += diffTable(t, await this.actual(t.family));
    const dr = vss.filter((v) => v.method === 'DR');
    if (dr.length)
      for (const g of drTables(dr, rotations, await this.devices(dr))) {
        now.add(`${g.family} ${g.name ?? TABLE}`);
        script += diffGeneric(g, await this.actual(g.family, g.name));
      }
    for (const t of this.tables) {
      const [f, name] = t.split(' ') as [NftFamily | 'netdev', string];
      if (!now.has(t) && (await this.actual(f, name))) script += dropTable(f, name);
    }
    this.tables = now;
    if (!script) return { changed: false, script };
    const r = await this.exec(['nft', '-f', '-'], script);
    if (r.code !== 0) throw new Error(`nft transaction refused: ${r.stderr.trim()}`);
    return { changed: true, script };
  }

  /** The interface each DR service's real servers are reached on (the kernel's route to the first). */
  private async devices(dr: VirtualServerConfig[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const v of dr) {
      const to = v.realServers[0]?.address ?? v.sorry?.address;
      if (!to) continue;
      let dev = this.routeDev.get(to);
      if (!dev) {
        const r = await this.exec(['ip', '-j', 'route', 'get', to]);
        dev = r.code === 0 ? (JSON.parse(r.stdout) as { dev?: string }[])[0]?.dev : undefined;
        if (!dev) throw new Error(`no route to real server ${to} for ${v.key} (DR needs it on a local network)`);
        this.routeDev.set(to, dev);
      }
      out.set(v.key, dev);
    }
    return out;
  }

  async counters(vss: VirtualServerConfig[]): Promise<Map<string, RsCounters>> {
    const out = new Map<string, RsCounters>();
    for (const t of planTables(vss, new Map())) {
      const a = await this.actual(t.family);
      if (!a) continue;
      for (const [base, value] of t.counters) {
        const get = (sfx: string): { packets: number; bytes: number } =>
          a.counters.get(base + sfx) ?? { packets: 0, bytes: 0 };
        const [addr, port] = value.split(' . ');
        out.set(`${t.family} ${addr} ${port}`, {
          inPackets: get('i').packets,
          inBytes: get('i').bytes,
          outPackets: get('o').packets,
          outBytes: get('o').bytes,
          conns: get('c').packets,
        });
      }
    }
    // DR: packets and bytes towards each server (the replies bypass the balancer; no connection count).
    const dr = drCounterKeys(vss);
    if (dr.size)
      for (const [f, name] of DR_TABLES) {
        const a = await this.actual(f, name);
        for (const [c, key] of dr) {
          const n = a?.counters.get(c);
          if (!n) continue;
          const was = out.get(key);
          out.set(key, {
            inPackets: n.packets + (was?.inPackets ?? 0),
            inBytes: n.bytes + (was?.inBytes ?? 0),
            outPackets: was?.outPackets ?? 0,
            outBytes: was?.outBytes ?? 0,
            conns: was?.conns ?? 0,
          });
        }
      }
    return out;
  }

  async clear(): Promise<void> {
    for (const [f, name] of [...NAT_TABLES, ...DR_TABLES])
      if (await this.actual(f, name)) await this.exec(['nft', '-f', '-'], dropTable(f, name));
    this.tables.clear();
  }
}
