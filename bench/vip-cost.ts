/**
 * What one VIP change costs on the failover path: `addAddress` + `removeAddress` through
 * rtnetlink in the addon vs through an `ip` child (the fallback), in a namespace made for the
 * run. Reports the median and p95 per call, and the event loop's worst delay meanwhile.
 *
 * Usage (root): node dist/bench/vip-cost.js [n=200] → markdown + bench/results/vip-cost.json
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { addAddress, removeAddress } from '../src/net/addresses.js';
import { ipRunner } from '../src/net/iproute.js';
import { quantile } from './stats.js';

interface Row {
  path: string;
  addMedianMs: number;
  addP95Ms: number;
  delMedianMs: number;
  delP95Ms: number;
}

async function child(path: 'netlink' | 'ip', ifname: string, n: number): Promise<Row> {
  const run = path === 'ip' ? ipRunner() : undefined;
  const add: number[] = [],
    del: number[] = [];
  for (let i = 0; i < n; i++) {
    const spec = { ifname, address: `198.51.100.${1 + (i % 250)}`, prefix: 32 };
    let t = performance.now();
    await addAddress(spec, run);
    add.push(performance.now() - t);
    t = performance.now();
    await removeAddress(spec, run);
    del.push(performance.now() - t);
  }
  const s = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
  return {
    path,
    addMedianMs: quantile(s(add), 0.5),
    addP95Ms: quantile(s(add), 0.95),
    delMedianMs: quantile(s(del), 0.5),
    delP95Ms: quantile(s(del), 0.95),
  };
}

function sh(args: string[]): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

async function main(): Promise<void> {
  const [, self, a1, a2, a3] = process.argv;
  if (a1 === '--child') {
    process.stdout.write(JSON.stringify(await child(a2 as 'netlink' | 'ip', a3!, Number(process.argv[5]))));
    return;
  }
  const n = Number(a1 ?? 200);
  const sfx = randomBytes(3).toString('hex');
  const ns = `fdvip${sfx}`,
    ifname = `fdva${sfx}`;
  const cleanup = (): void => {
    spawnSync('ip', ['netns', 'del', ns]);
  };
  process.on('exit', cleanup);
  try {
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', ns, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', `fdvb${sfx}`]);
    sh(['ip', '-n', ns, 'link', 'set', ifname, 'up']);
    const rows: Row[] = [];
    for (const p of ['ip', 'netlink'] as const) {
      rows.push(
        JSON.parse(sh(['ip', 'netns', 'exec', ns, process.execPath, self!, '--child', p, ifname, String(n)])) as Row,
      );
    }
    const f = (x: number): string => (x < 1 ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(2)} ms`);
    console.log(`| one VIP, n=${n} | add median | add p95 | remove median | remove p95 |\n|---|---|---|---|---|`);
    for (const r of rows)
      console.log(`| ${r.path} | ${f(r.addMedianMs)} | ${f(r.addP95Ms)} | ${f(r.delMedianMs)} | ${f(r.delP95Ms)} |`);
    const dir = join(fileURLToPath(new URL('../..', import.meta.url)), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'vip-cost.json'), JSON.stringify({ date: new Date().toISOString(), n, rows }, null, 2));
  } finally {
    cleanup();
  }
}

await main();
