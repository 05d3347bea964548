/** Every built-in driver by the name the floating_ip block's `provider` uses. */
import type { ProviderFactory } from '../types.js';
import { aws } from './aws.js';
import { digitalocean } from './digitalocean.js';
import { gcp } from './gcp.js';
import { hetzner } from './hetzner.js';
import { linode } from './linode.js';
import { scaleway } from './scaleway.js';
import { vultr } from './vultr.js';

export const providers: Record<string, ProviderFactory> = {
  digitalocean,
  hetzner,
  vultr,
  linode,
  gcp,
  scaleway,
  aws,
};
