/**
 * Instances that listen in the same place share one raw socket, as in keepalived: one per
 * (family, interface, multicast group | unicast source). Received adverts are handed to the
 * pool's single listener, which demultiplexes by VRID after decoding.
 */
import type { VrrpPacket, VrrpSocket, VrrpSocketOptions } from '../net/vrrp-socket.js';

export type SocketOpener = (o: VrrpSocketOptions) => VrrpSocket;

interface Entry {
  socket: VrrpSocket;
  users: Set<string>;
}

export class SocketPool {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly open: SocketOpener,
    private readonly onPacket: (p: VrrpPacket, socket: VrrpSocket) => void,
    private readonly onError: (e: NodeJS.ErrnoException, socket: VrrpSocket) => void,
  ) {}

  static key(o: VrrpSocketOptions): string {
    const unicast = (o.peers?.length ?? 0) > 0;
    return [o.family, o.ifname, unicast ? `u:${o.unicastSrc ?? ''}` : `m:${o.mcastGroup ?? ''}`].join('|');
  }

  /** The socket for these options, opened on first use; `user` is the instance name. */
  acquire(user: string, o: VrrpSocketOptions): VrrpSocket {
    const k = SocketPool.key(o);
    let e = this.entries.get(k);
    if (!e) {
      const socket = this.open(o);
      socket.on('packet', (p) => this.onPacket(p, socket));
      socket.on('error', (err) => this.onError(err, socket));
      e = { socket, users: new Set() };
      this.entries.set(k, e);
    }
    e.users.add(user);
    return e.socket;
  }

  release(user: string): void {
    for (const [k, e] of this.entries) {
      if (e.users.delete(user) && e.users.size === 0) {
        e.socket.close();
        this.entries.delete(k);
      }
    }
  }

  closeAll(): void {
    for (const e of this.entries.values()) e.socket.close();
    this.entries.clear();
  }
}
