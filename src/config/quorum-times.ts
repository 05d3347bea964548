/**
 * The `floatd_quorum` block's time rules (quorum-block.ts reads the block): defaults per TTL, and
 * renew, margin and kernel_lifetime checked against each other and against the fence guard.
 */
import type { Ctx } from './ctx.js';
import type { Node, Token } from './lexer.js';
import type { QuorumConfig } from './model.js';

type BlockCtx = Ctx;

/**
 * Defaults for a TTL (ms): renew every ttl/5, fence 0.5 s early (0.3 s at ttl 1), kernel backstop
 * ttl − 1 s (at most 1).
 */
export function quorumDefaults(ttlMs: number): { renewMs: number; marginMs: number; kernelLifetimeS: number } {
  const kernelLifetimeS = Math.max(0, Math.min(1, ttlMs / 1000 - 1));
  return { renewMs: Math.round(ttlMs / 5), marginMs: ttlMs >= 2000 ? 500 : 300, kernelLifetimeS };
}

/** renew and margin must leave time for a renewal to land; the kernel backstop must end before the lease can. */
export function checkTimes(c: BlockCtx, n: Node, q: QuorumConfig, set: Map<string, Token>): void {
  const d = quorumDefaults(q.ttlMs);
  if (!set.has('renew')) q.renewMs = d.renewMs;
  if (!set.has('margin')) q.marginMs = d.marginMs;
  if (!set.has('kernel_lifetime')) q.kernelLifetimeS = d.kernelLifetimeS;
  const at = (k: string): Token => set.get(k) ?? n.key;
  const ttlS = q.ttlMs / 1000;
  if (q.ttlMs < 2000) {
    c.warn(
      at('ttl'),
      'ttl',
      'etcd grants at least 2 s with its default timing (heartbeat 100 ms, election 1000 ms)',
      'ttl 1 needs every member at --election-timeout ≤ 666; floatd warns at run time if etcd grants more',
      'CONFIG_RISKY',
    );
  }
  if (q.marginMs >= q.ttlMs) {
    c.err(
      at('margin'),
      'margin',
      `margin ${q.marginMs / 1000} s must be below ttl ${ttlS} s`,
      undefined,
      'CONFIG_CONFLICT',
    );
    return;
  }
  const window = q.ttlMs - q.marginMs;
  if (q.renewMs >= window) {
    c.err(
      at('renew'),
      'renew',
      `renew ${q.renewMs / 1000} s must be below ttl − margin ` +
        `(${window / 1000} s): the holder would fence between renewals`,
      undefined,
      'CONFIG_CONFLICT',
    );
  } else if (q.renewMs * 2 > window) {
    c.warn(
      at('renew'),
      'renew',
      `one lost renewal fences the holder (renew ${q.renewMs / 1000} s, ttl − margin ${window / 1000} s)`,
      `renew ${Math.floor(window / 3) / 1000} lets two renewals go missing`,
      'CONFIG_RISKY',
    );
  }
  if (q.kernelLifetimeS >= ttlS) {
    c.err(
      at('kernel_lifetime'),
      'kernel_lifetime',
      `kernel_lifetime ${q.kernelLifetimeS} s must be below ttl ${ttlS} s: a frozen holder would keep its VIP ` +
        'after the lease could expire',
      ttlS > 1 ? `kernel_lifetime ${ttlS - 1}` : 'kernel_lifetime 0 (off) at ttl 1',
      'CONFIG_CONFLICT',
    );
  } else if (q.kernelLifetimeS === 0) {
    const [text, hint] = q.fenceGuard
      ? [
          'no kernel backstop: the fence guard removes the VIP of a frozen (SIGSTOP) or killed daemon at its ' +
            'deadline, but not when the guard goes too (both SIGKILLed or frozen together, e.g. the cgroup)',
          ttlS > 1 ? 'kernel_lifetime 1 covers that too' : 'ttl 2 with kernel_lifetime 1 covers that too',
        ]
      : [
          'no kernel backstop and fence_guard off: a frozen (SIGSTOP) or killed holder keeps its VIP while ' +
            'another node takes the lease',
          ttlS > 1 ? 'kernel_lifetime 1, or fence_guard on' : 'fence_guard on (the default) removes it at the deadline',
        ];
    c.warn(at(set.has('kernel_lifetime') ? 'kernel_lifetime' : 'ttl'), 'kernel_lifetime', text, hint, 'CONFIG_RISKY');
  }
}
