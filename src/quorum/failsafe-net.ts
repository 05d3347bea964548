/**
 * The failsafe confirmation channel (docs/quorum.md, "Failsafe"): executes, decides nothing
 * (src/quorum/failsafe.ts decides). One UDP request per peer and round, one answer back, both
 * signed with HMAC-SHA256 under the block's shared secret. The answer carries the request's
 * random nonce, so an old answer cannot be replayed into a later round; a replayed request only
 * makes a peer promise again (it keeps it out of the VIP a little longer, never in).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { FloatdConfig, QuorumConfig } from '../config/model.js';
import { failsafeInstances } from '../config/quorum-block.js';
import { KERNEL_LATE_US } from './lease.js';
import { Failsafe } from './failsafe.js';
import type { Logger } from '../util/log.js';

interface Msg {
  v: 1;
  t: 'q' | 'a';
  /** The lease key asked about. */
  k: string;
  n: string;
  /** The sender's node name (logs only: the nonce and the signature decide). */
  f: string;
  ok?: boolean;
  why?: string;
}

/** Every node to ask for a holder: failsafe_peers, or every unicast_peer of the instances the block guards. */
export function failsafePeers(cfg: FloatdConfig, q: QuorumConfig): string[] {
  const f = q.failsafe;
  if (!f) return [];
  if (f.peers.length > 0) return [...new Set(f.peers)];
  return [...new Set(failsafeInstances(cfg, q.name).flatMap((i) => i.unicastPeers.map((p) => p.address)))];
}

export function encode(m: Msg, secret: Buffer): Buffer {
  const body = JSON.stringify(m);
  return Buffer.from(`${body}\n${createHmac('sha256', secret).update(body).digest('hex')}`);
}

export function decode(b: Buffer, secret: Buffer): Msg | undefined {
  const s = b.toString('utf8');
  const nl = s.lastIndexOf('\n');
  if (nl < 0 || b.length > 2048) return undefined;
  const body = s.slice(0, nl);
  const mac = Buffer.from(s.slice(nl + 1), 'hex');
  const want = createHmac('sha256', secret).update(body).digest();
  if (mac.length !== want.length || !timingSafeEqual(mac, want)) return undefined;
  try {
    const m = JSON.parse(body) as Msg;
    return m.v === 1 && (m.t === 'q' || m.t === 'a') && typeof m.k === 'string' && typeof m.n === 'string'
      ? m
      : undefined;
  } catch {
    return undefined;
  }
}

export interface FailsafeLinkOptions {
  log: Logger;
  nodeName: string;
  nowUs(): number;
  /** A peer asks about `key`: this node's answer (undefined: not a key of ours, no answer). */
  answer(key: string): { ok: boolean; why: string } | undefined;
}

type OnAnswer = (peer: string, ok: boolean, why: string) => void;

/** One UDP endpoint per floatd_quorum block with failsafe; asks peers and answers them. */
class Link {
  private readonly socks: Socket[] = [];
  private readonly pending = new Map<string, { key: string; peer: string; on: OnAnswer }>();

  constructor(
    private readonly q: QuorumConfig,
    private readonly secret: Buffer,
    private readonly o: FailsafeLinkOptions,
    v6: boolean,
  ) {
    const port = q.failsafe!.port;
    for (const type of v6 ? (['udp4', 'udp6'] as const) : (['udp4'] as const)) {
      // reuseAddr: a reload binds the new link while the old one's socket is still closing.
      const s = createSocket({ type, ipv6Only: type === 'udp6', reuseAddr: true });
      s.on('message', (b, r) => this.onMessage(s, b, r.address, r.port));
      s.on('error', (e) =>
        o.log.error(
          { event: 'quorum.failsafe_error', quorum: q.name, code: 'QUORUM_FAILSAFE_FAILED' },
          `failsafe ${type} port ${port}: ${e.message}`,
        ),
      );
      s.bind(port, type === 'udp6' ? '::' : '0.0.0.0');
      s.unref();
      this.socks.push(s);
    }
  }

  ask(key: string, peers: readonly string[], on: OnAnswer): void {
    // An older round: its answers are moot.
    for (const [n, p] of this.pending) if (p.key === key) this.pending.delete(n);
    for (const peer of peers) {
      const n = randomBytes(12).toString('hex');
      this.pending.set(n, { key, peer, on });
      const s = this.socks[isIPv6(peer) ? 1 : 0];
      if (!s) continue;
      s.send(encode({ v: 1, t: 'q', k: key, n, f: this.o.nodeName }, this.secret), this.q.failsafe!.port, peer);
    }
  }

  private onMessage(s: Socket, b: Buffer, addr: string, port: number): void {
    const m = decode(b, this.secret);
    if (!m) return; // unsigned, wrong secret, or garbage: not an answer and not a question
    if (m.t === 'q') {
      const a = this.o.answer(m.k);
      if (a) s.send(encode({ v: 1, t: 'a', k: m.k, n: m.n, f: this.o.nodeName, ...a }, this.secret), port, addr);
      return;
    }
    const p = this.pending.get(m.n);
    if (!p || p.key !== m.k) return;
    this.pending.delete(m.n);
    p.on(p.peer, m.ok === true, typeof m.why === 'string' ? m.why.slice(0, 200) : '');
  }

  close(): void {
    for (const s of this.socks) s.close();
    this.pending.clear();
  }
}

/** The failsafe side of the gate: a Failsafe machine per lease, the links that carry its rounds. */
export class FailsafeLinks {
  private readonly links = new Map<string, Link | null>();

  constructor(private readonly o: FailsafeLinkOptions) {}

  /** The decision half for one lease of block `q` (undefined: fence mode, or no usable secret). */
  machine(q: QuorumConfig, peers: readonly string[]): Failsafe | undefined {
    if (q.onQuorumLoss !== 'failsafe' || !q.failsafe || !this.link(q, peers)) return undefined;
    const t = { windowUs: q.ttlMs * 1000, marginUs: q.marginMs * 1000, kernelLifetimeUs: q.kernelLifetimeS * 1e6 };
    return new Failsafe({ ...t, peers, kernelLateUs: KERNEL_LATE_US }, this.o.nowUs());
  }

  ask(q: QuorumConfig, key: string, peers: readonly string[], on: OnAnswer): void {
    this.links.get(q.name)?.ask(key, peers, on);
  }

  close(): void {
    for (const l of this.links.values()) l?.close();
    this.links.clear();
  }

  private link(q: QuorumConfig, peers: readonly string[]): Link | null {
    let l = this.links.get(q.name);
    if (l !== undefined) return l;
    l = null;
    try {
      const secret = readFileSync(q.failsafe!.secretFile ?? '');
      if (secret.length < 16) throw new Error('shorter than 16 bytes');
      l = new Link(
        q,
        secret,
        this.o,
        peers.some((p) => isIPv6(p)),
      );
    } catch (e) {
      this.o.log.error(
        { event: 'quorum.failsafe_error', quorum: q.name, code: 'QUORUM_FAILSAFE_FAILED' },
        `failsafe for ${q.name} is off (floatd fences on quorum loss): the secret file: ${(e as Error).message}`,
      );
    }
    this.links.set(q.name, l);
    return l;
  }
}
