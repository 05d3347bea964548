/**
 * The `floating_ip NAME { … }` block (floatd extension; docs/cloud.md): which provider, which
 * address, where the secret comes from, and the reconciler's knobs. An inline token is an
 * error: secrets live in a file or the environment, never in a config that gets pasted.
 */
import { isIP } from 'node:net';
import type { Node, Token } from './lexer.js';
import type { FloatingIpConfig, Pos } from './model.js';
import { distance } from './distance.js';

export const PROVIDERS = ['digitalocean', 'hetzner', 'aws', 'vultr', 'linode', 'gcp', 'scaleway'] as const;

interface BlockCtx {
  at(t: Token): Pos;
  err(t: Token, keyword: string, message: string, hint?: string): void;
  warn(t: Token, keyword: string, message: string, hint?: string): void;
  arg(n: Node, i?: number, what?: string): Token | undefined;
}

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
};

/** Provider-specific words the drivers read from `options`. */
const PROVIDER_KEYS = ['region', 'zone', 'project', 'mode', 'network_interface', 'allocation_id', 'ip_id', 'network', 'subnetwork', 'alias_range', 'route_table'];
const KNOWN = ['provider', 'address', 'token_file', 'token_env', 'api_url', 'metadata_url', 'instance_id', ...Object.keys(NUMERIC), ...PROVIDER_KEYS];

export function floatingIpBlock(c: BlockCtx, n: Node): FloatingIpConfig | undefined {
  const name = c.arg(n, 0, 'a floating_ip name');
  if (!name) return undefined;
  const f: FloatingIpConfig = { name: name.text, provider: '', address: '', options: {}, pos: c.at(n.key) };
  for (const e of n.children ?? []) {
    const k = e.key.text;
    if (k === 'token') {
      c.err(e.key, 'token', 'an API token never goes in the configuration', 'put it in a file (token_file PATH, mode 0600) or the environment (token_env VAR)');
      continue;
    }
    const a = c.arg(e, 0, `a value for ${k}`);
    if (!a) continue;
    const v = a.text;
    switch (k) {
      case 'provider':
        if (!(PROVIDERS as readonly string[]).includes(v)) c.err(a, 'provider', `expected one of ${PROVIDERS.join(', ')}, got "${v}"`);
        f.provider = v;
        break;
      case 'address': f.address = v; break;
      case 'token_file': f.tokenFile = v; break;
      case 'token_env': f.tokenEnv = v; break;
      case 'api_url': case 'metadata_url':
        if (!/^https?:\/\/[^\s]+$/.test(v)) c.err(a, k, `expected an http(s) URL, got "${v}"`);
        if (k === 'api_url') f.apiUrl = v.replace(/\/+$/, ''); else f.metadataUrl = v.replace(/\/+$/, '');
        break;
      case 'instance_id': f.instanceId = v; break;
      default: {
        const range = NUMERIC[k];
        if (range) {
          const x = Number(v);
          if (!/^\d+(\.\d+)?$/.test(v) || x < range[0] || x > range[1]) { c.err(a, k, `expected ${range[2]}, ${range[0]}..${range[1]}, got "${v}"`); break; }
        } else if (!PROVIDER_KEYS.includes(k)) {
          const near = KNOWN.find((x) => distance(x, k) <= 2);
          c.warn(e.key, k, 'unknown keyword in floating_ip, kept for the provider driver', near ? `did you mean '${near}'?` : undefined);
        }
        f.options[k] = v;
      }
    }
  }
  if (!f.provider) c.err(n.key, 'floating_ip', `floating_ip ${f.name} has no provider`, `add: provider ${PROVIDERS.join('|')}`);
  if (!f.address) c.err(n.key, 'floating_ip', `floating_ip ${f.name} has no address`, "add: address 203.0.113.10 (or the provider's id for it)");
  else if (f.provider === 'digitalocean' && !isIP(f.address)) c.err(n.key, 'address', `DigitalOcean reserved IPs are named by address, got "${f.address}"`);
  if (f.tokenFile && f.tokenEnv) c.warn(n.key, 'token_env', 'both token_file and token_env are set; token_file wins');
  if (!f.tokenFile && !f.tokenEnv && f.provider !== 'aws' && f.provider !== 'gcp') {
    c.err(n.key, 'floating_ip', `floating_ip ${f.name} has no credentials`, 'add token_file PATH (mode 0600) or token_env VAR');
  }
  return f;
}
