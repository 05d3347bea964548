/**
 * The `floating_ip NAME { … }` block (floatd extension; docs/cloud.md): which provider, which
 * address, where the secret comes from, and the reconciler's knobs. An inline token is an
 * error: secrets live in a file or the environment, never in a config that gets pasted.
 */
import { isIP } from 'node:net';
import { secretFileProblem } from '../util/secret-file.js';
import type { Ctx } from './ctx.js';
import type { Node, Token } from './lexer.js';
import type { FloatingIpConfig } from './model.js';
import { readBlock, type Keyword, type Schema } from './schema.js';

export const PROVIDERS = ['digitalocean', 'hetzner', 'aws', 'vultr', 'linode', 'gcp', 'scaleway'] as const;

/** Numeric knobs: [min, max] in the unit the docs give (seconds unless said). */
const NUMERIC: Record<string, [number, number, string]> = {
  timeout: [0.05, 300, 'seconds per API request'],
  reconcile_interval: [1, 86_400, 'seconds between holder checks while MASTER'],
  max_calls: [4, 1000, 'API calls per failover (the happy path takes 4)'],
  retry_budget: [1, 3600, 'seconds one failover may spend retrying'],
  backoff_base: [0.01, 60, 'seconds before the first retry'],
  backoff_max: [0.1, 600, 'seconds, the longest pause between retries'],
  error_retry: [1, 86_400, 'seconds before retrying after an auth/not-found/invalid answer'],
  poll_interval: [0.05, 60, "seconds between polls of the provider's action"],
  action_timeout: [1, 3600, "seconds the provider's action may take"],
  contest_timeout: [
    1,
    86_400,
    'seconds a MASTER leaves the address to a peer it cannot hear before claiming it anyway',
  ],
};

/** Provider-specific words the drivers read from `options`. */
const PROVIDER_KEYS = [
  'region',
  'zone',
  'project',
  'mode',
  'network_interface',
  'allocation_id',
  'ip_id',
  'network',
  'subnetwork',
  'alias_range',
  'route_table',
];

type K = Keyword<FloatingIpConfig>;
const one = (read: (c: Ctx, a: Token, f: FloatingIpConfig, e: Node) => void): K => ({
  status: 'floatd',
  read: (c, e, f) => {
    const a = c.arg(e, 0, `a value for ${e.key.text}`);
    if (a) read(c, a, f, e);
  },
});
const url = (put: (f: FloatingIpConfig, v: string) => void): K =>
  one((c, a, f, e) => {
    if (!/^https?:\/\/[^\s]+$/.test(a.text)) c.err(a, e.key.text, `expected an http(s) URL, got "${a.text}"`);
    put(f, a.text.replace(/\/+$/, ''));
  });
const numeric = ([min, max, what]: [number, number, string]): K =>
  one((c, a, f, e) => {
    const x = Number(a.text);
    if (!/^\d+(\.\d+)?$/.test(a.text) || x < min || x > max) {
      c.err(a, e.key.text, `expected ${what}, ${min}..${max}, got "${a.text}"`);
      return;
    }
    f.options[e.key.text] = a.text;
  });

export const FLOATING_IP_SCHEMA: Schema<FloatingIpConfig> = {
  provider: one((c, a, f) => {
    if (!(PROVIDERS as readonly string[]).includes(a.text))
      c.err(a, 'provider', `expected one of ${PROVIDERS.join(', ')}, got "${a.text}"`);
    f.provider = a.text;
  }),
  address: one((_c, a, f) => {
    f.address = a.text;
  }),
  token_file: one((c, a, f) => {
    f.tokenFile = a.text;
    // A token others can read is a leaked token (issue 15 item 17): said at its position. A
    // missing file is the daemon's to report when it reads it (it may be provisioned later).
    const why = secretFileProblem(a.text);
    if (why && !why.startsWith('cannot stat'))
      c.warn(a, 'token_file', `the token file ${a.text} is ${why}`, undefined, 'CONFIG_SECRET');
  }),
  token_env: one((_c, a, f) => {
    f.tokenEnv = a.text;
  }),
  api_url: url((f, v) => {
    f.apiUrl = v;
  }),
  metadata_url: url((f, v) => {
    f.metadataUrl = v;
  }),
  instance_id: one((_c, a, f) => {
    f.instanceId = a.text;
  }),
  // `peers 101 102` (commas, repeated lines): the provider ids of the nodes sharing the address.
  peers: {
    status: 'floatd',
    shape: 'any',
    read: (c, e, f) => {
      if (!c.arg(e, 0, 'the provider ids of the peers')) return;
      f.peers = [...new Set([...(f.peers ?? []), ...e.args.flatMap((t) => t.text.split(',').filter((x) => x !== ''))])];
    },
  },
  token: {
    status: 'floatd',
    shape: 'any',
    read: (c, e) =>
      c.err(
        e.key,
        'token',
        'an API token never goes in the configuration',
        'put it in a file (token_file PATH, mode 0600) or the environment (token_env VAR)',
        'CONFIG_SECRET',
      ),
  },
  ...Object.fromEntries(Object.entries(NUMERIC).map(([k, r]) => [k, numeric(r)])),
  ...Object.fromEntries(
    PROVIDER_KEYS.map((k) => [
      k,
      one((_c, a, f) => {
        f.options[k] = a.text;
      }),
    ]),
  ),
};

/** A word not in the table is kept for the provider driver, with a warning (and a hint when it looks misspelt). */
function other(c: Ctx, e: Node, f: FloatingIpConfig): boolean {
  const a = c.arg(e, 0, `a value for ${e.key.text}`);
  if (!a) return true;
  c.unknown(e, 'floating_ip', Object.keys(FLOATING_IP_SCHEMA), 'kept for the provider driver');
  f.options[e.key.text] = a.text;
  return true;
}

export function floatingIpBlock(c: Ctx, n: Node): FloatingIpConfig | undefined {
  const name = c.arg(n, 0, 'a floating_ip name');
  if (!name) return undefined;
  const f: FloatingIpConfig = { name: name.text, provider: '', address: '', options: {}, pos: c.at(n.key) };
  readBlock(c, 'floating_ip', n, FLOATING_IP_SCHEMA, f, { other });
  if (!f.provider)
    c.err(
      n.key,
      'floating_ip',
      `floating_ip ${f.name} has no provider`,
      `add: provider ${PROVIDERS.join('|')}`,
      'CONFIG_MISSING_VALUE',
    );
  if (!f.address)
    c.err(
      n.key,
      'floating_ip',
      `floating_ip ${f.name} has no address`,
      "add: address 203.0.113.10 (or the provider's id for it)",
      'CONFIG_MISSING_VALUE',
    );
  else if (f.provider === 'digitalocean' && !isIP(f.address))
    c.err(n.key, 'address', `DigitalOcean reserved IPs are named by address, got "${f.address}"`);
  if (f.tokenFile && f.tokenEnv)
    c.warn(n.key, 'token_env', 'both token_file and token_env are set; token_file wins', undefined, 'CONFIG_CONFLICT');
  if (!f.tokenFile && !f.tokenEnv && f.provider !== 'aws' && f.provider !== 'gcp') {
    c.err(
      n.key,
      'floating_ip',
      `floating_ip ${f.name} has no credentials`,
      'add token_file PATH (mode 0600) or token_env VAR',
      'CONFIG_MISSING_VALUE',
    );
  }
  if (!f.peers) {
    c.warn(
      n.key,
      'floating_ip',
      `floating_ip ${f.name} lists no peers: in a partition every MASTER re-asserts the address, so it changes ` +
        'hands at every reconcile',
      "add: peers ID ID (the provider's ids of the nodes that " +
        'may hold it, this one included; docs/cloud.md, Partitions)',
      'CONFIG_RISKY',
    );
  }
  return f;
}
