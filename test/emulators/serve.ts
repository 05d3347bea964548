/**
 * Runs one cloud emulator as its own process (for the network-namespace lab, or a test in
 * another process):
 *
 *   node dist/test/emulators/serve.js digitalocean --port 0 --token-file F \
 *        --nodes 101,102 --ip 203.0.113.10=101 --action-delay-ms 200 --state-file X
 *
 * Prints one JSON line when listening: {"provider","apiUrl","controlUrl","metadata":{node:url},"pid"}.
 * Exits 0 on SIGTERM/SIGINT. `--ip ADDR=` starts the address unassigned; `--droplets`,
 * `--servers`, `--instances` and `--linodes` are aliases of `--nodes`. The state file (holders
 * and request counts, as GET /_emulator/state answers) is rewritten after every change.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { EmulatorHandle, ListenOptions } from './kit.js';
import { startDigitalOceanEmulator } from './digitalocean.js';
import { startHetznerEmulator } from './hetzner.js';
import { startVultrEmulator } from './vultr.js';
import { startLinodeEmulator } from './linode.js';
import { startGcpEmulator } from './gcp.js';
import { startScalewayEmulator } from './scaleway.js';
import { awsKeys, startAwsEmulator } from './aws.js';

/** Provider-neutral description of an account: instances, addresses and who holds each. */
export interface AccountSpec extends ListenOptions {
  token: string;
  nodes: string[];
  ips: { address: string; holder: string | null }[];
  actionDelayMs?: number;
  onChange?: () => void;
}

export const emulators: Record<string, (s: AccountSpec) => Promise<EmulatorHandle>> = {
  digitalocean: (s) =>
    startDigitalOceanEmulator({
      token: s.token,
      droplets: s.nodes.map((n) => ({ id: Number(n) })),
      reservedIps: s.ips.map((i) => ({ ip: i.address, dropletId: i.holder === null ? null : Number(i.holder) })),
      ...common(s),
    }),
  hetzner: (s) =>
    startHetznerEmulator({
      token: s.token,
      servers: s.nodes.map((n) => ({ id: Number(n) })),
      floatingIps: s.ips.map((i) => ({ ip: i.address, server: i.holder === null ? null : Number(i.holder) })),
      ...common(s),
    }),
  vultr: (s) =>
    startVultrEmulator({
      token: s.token,
      instances: s.nodes.map((id) => ({ id })),
      reservedIps: s.ips.map((i) => ({ ip: i.address, instanceId: i.holder })),
      ...common(s),
    }),
  // IP assignment is synchronous on Linode: no action delay.
  linode: (s) =>
    startLinodeEmulator({
      token: s.token,
      linodes: s.nodes.map((n) => ({ id: Number(n) })),
      ips: s.ips.map((i) => ({ address: i.address, linodeId: i.holder === null ? null : Number(i.holder) })),
      ...(s.onChange ? { onChange: s.onChange } : {}),
      ...(s.host !== undefined ? { host: s.host } : {}),
      ...(s.port !== undefined ? { port: s.port } : {}),
    }),
  // Nodes are VM names; an address is an alias IP range on the holder's nic0.
  gcp: (s) =>
    startGcpEmulator({
      token: s.token,
      instances: s.nodes.map((name) => ({ name })),
      aliases: s.ips.map((i) => ({ range: i.address, instance: i.holder })),
      ...common(s),
    }),
  scaleway: (s) =>
    startScalewayEmulator({
      token: s.token,
      servers: s.nodes.map((id) => ({ id })),
      ips: s.ips.map((i) => ({ address: i.address, server: i.holder })),
      ...common(s),
    }),
  // The token is ACCESS_KEY_ID:SECRET_ACCESS_KEY; addresses are Elastic IPs; actionDelayMs is
  // how long DescribeAddresses lags behind an AssociateAddress (EC2 answers at once).
  aws: (s) =>
    startAwsEmulator({
      credentials: [awsKeys(s.token)],
      instances: s.nodes.map((id) => ({ id })),
      addresses: s.ips.map((i) => ({ publicIp: i.address, instanceId: i.holder })),
      ...common(s),
    }),
};

/** The options every emulator takes the same way. */
export function common(s: AccountSpec): {
  actionDelayMs?: number;
  onChange?: () => void;
  host?: string;
  port?: number;
} {
  return {
    ...(s.actionDelayMs !== undefined ? { actionDelayMs: s.actionDelayMs } : {}),
    ...(s.onChange ? { onChange: s.onChange } : {}),
    ...(s.host !== undefined ? { host: s.host } : {}),
    ...(s.port !== undefined ? { port: s.port } : {}),
  };
}

function fail(msg: string): never {
  process.stderr.write(`serve: ${msg}\n`);
  process.exit(2);
}

export function parseServeArgs(argv: string[]): { provider: string; spec: AccountSpec; stateFile: string | undefined } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'token-file': { type: 'string' },
      token: { type: 'string' },
      nodes: { type: 'string' },
      droplets: { type: 'string' },
      servers: { type: 'string' },
      instances: { type: 'string' },
      linodes: { type: 'string' },
      ip: { type: 'string', multiple: true },
      'action-delay-ms': { type: 'string' },
      'state-file': { type: 'string' },
    },
  });
  const provider = positionals[0];
  if (!provider || !emulators[provider]) fail(`first argument must be one of ${Object.keys(emulators).join(', ')}`);
  const tokenFile = values['token-file'];
  const token = tokenFile ? readFileSync(tokenFile, 'utf8').trim() : values.token;
  if (!token) fail('--token-file F (or --token T) is required');
  const nodeList = values.nodes ?? values.droplets ?? values.servers ?? values.instances ?? values.linodes;
  if (!nodeList) fail('--nodes A,B is required');
  const nodes = nodeList
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const ips = (values.ip ?? []).map((x) => {
    const eq = x.indexOf('=');
    if (eq <= 0) fail(`--ip takes ADDRESS=NODE or ADDRESS= (got "${x}")`);
    const holder = x.slice(eq + 1);
    if (holder && !nodes.includes(holder)) fail(`--ip ${x}: ${holder} is not one of --nodes`);
    return { address: x.slice(0, eq), holder: holder || null };
  });
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number`);
    return n;
  };
  const port = num(values.port, 'port');
  const actionDelayMs = num(values['action-delay-ms'], 'action-delay-ms');
  return {
    provider: provider!,
    stateFile: values['state-file'],
    spec: {
      token: token!,
      nodes,
      ips,
      ...(actionDelayMs !== undefined ? { actionDelayMs } : {}),
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(port !== undefined ? { port } : {}),
    },
  };
}

async function main(): Promise<void> {
  const { provider, spec, stateFile } = parseServeArgs(process.argv.slice(2));
  let emu: EmulatorHandle | undefined;
  const writeState = (): void => {
    if (!stateFile || !emu) return;
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(emu.snapshot()) + '\n');
    renameSync(`${stateFile}.tmp`, stateFile);
  };
  emu = await emulators[provider]!({ ...spec, onChange: writeState });
  writeState();
  const metadata = Object.fromEntries(spec.nodes.map((n) => [n, emu!.metadataUrl(n)]));
  process.stdout.write(
    JSON.stringify({
      provider,
      apiUrl: emu.apiUrl,
      controlUrl: `${emu.apiUrl}/_emulator`,
      metadata,
      pid: process.pid,
    }) + '\n',
  );
  const stop = (): void => {
    void emu!.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && /serve\.(js|ts)$/.test(process.argv[1])) void main();
