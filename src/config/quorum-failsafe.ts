/**
 * `on_quorum_loss failsafe` in a floatd_quorum block (docs/quorum.md, "Failsafe"): the secret is
 * required, and every node that could hold must be known (failsafe_peers or unicast_peer).
 */
import type { Ctx } from './ctx.js';
import type { Node, Token } from './lexer.js';
import type { FloatdConfig, InstanceConfig, QuorumConfig } from './model.js';
import type { Diagnostic } from './diagnostics.js';

/** The default UDP port of the failsafe confirmations. */
export const FAILSAFE_PORT = 7381;

/** failsafe needs a secret (the answers decide who may hold); failsafe_* without it are not used. */
export function checkFailsafe(c: Ctx, n: Node, q: QuorumConfig, set: Map<string, Token>): void {
  const first = ['failsafe_peers', 'failsafe_port', 'failsafe_secret_file'].find((k) => set.has(k));
  if (q.onQuorumLoss !== 'failsafe') {
    if (first) {
      const text = `${first} is set but on_quorum_loss is fence: not used`;
      c.warn(set.get(first)!, first, text, 'add: on_quorum_loss failsafe');
    }
    delete q.failsafe;
    return;
  }
  const at = set.get('on_quorum_loss') ?? n.key;
  const f = (q.failsafe ??= { peers: [], port: FAILSAFE_PORT, pos: q.pos });
  f.pos = c.at(at);
  if (!f.secretFile) {
    c.err(
      at,
      'on_quorum_loss',
      "on_quorum_loss failsafe needs failsafe_secret_file: the peers' answers decide who may hold the VIP",
      'add: failsafe_secret_file /etc/floatd/failsafe.key (the same secret on every node, mode 0600)',
      'CONFIG_MISSING_VALUE',
    );
  }
}

/** Failsafe asks every node that could hold: the explicit list, or every unicast_peer of what the block guards. */
export function checkFailsafePeers(cfg: FloatdConfig, q: QuorumConfig, diags: Diagnostic[]): void {
  const f = q.failsafe;
  if (!f || f.peers.length > 0) return;
  const guarded = failsafeInstances(cfg, q.name);
  const multicast = guarded.filter((i) => i.unicastPeers.length === 0).map((i) => i.name);
  const who = multicast.join(', ') || 'nothing';
  if (multicast.length > 0 || guarded.length === 0) {
    diags.push({
      severity: 'error',
      ...f.pos,
      keyword: 'on_quorum_loss',
      code: 'CONFIG_MISSING_VALUE',
      message: `on_quorum_loss failsafe must ask every peer, but ${who} has no unicast_peer`,
      hint: 'list them: failsafe_peers 198.51.100.2 198.51.100.3',
    });
  }
}

/** The instances a floatd_quorum guards (directly, or as members of a group that names it). */
export function failsafeInstances(cfg: FloatdConfig, quorum: string): InstanceConfig[] {
  const groups = cfg.syncGroups.filter((g) => g.quorum === quorum);
  return cfg.instances.filter((i) => i.quorum === quorum || groups.some((g) => g.members.includes(i.name)));
}
