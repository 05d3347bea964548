/** A real AF_UNIX SOCK_DGRAM receiver standing in for systemd's notify socket (python3 binds it; Node cannot). */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

export const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

const SCRIPT = `
import socket, sys, json
path, idle = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path.replace('@', '\\0', 1) if path.startswith('@') else path)
s.settimeout(idle)
print('ready', flush=True)
while True:
    try: m = s.recv(4096).decode()
    except socket.timeout: break
    print(json.dumps(m), flush=True)
`;

export interface NotifyReceiver {
  /** Datagrams received so far, in order. */
  messages: string[];
  /** Resolves with the first message (already received or not) that matches. */
  waitFor(match: (m: string) => boolean, ms: number): Promise<string>;
  close(): void;
}

/** Binds `path` ('@name' = abstract namespace); gives up by itself after `idleS` seconds of silence. */
export async function notifyReceiver(path: string, idleS = 60): Promise<NotifyReceiver> {
  const py = spawn('python3', ['-c', SCRIPT, path, String(idleS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  const rl = createInterface({ input: py.stdout });
  await new Promise<void>((resolve, reject) => {
    rl.once('line', (l) => (l === 'ready' ? resolve() : reject(new Error(`receiver: ${l}`))));
    py.once('exit', (c) => reject(new Error(`receiver exited with ${c}`)));
  });
  rl.on('line', (l) => messages.push(JSON.parse(l) as string));
  return {
    messages,
    async waitFor(match, ms) {
      const t0 = Date.now();
      for (;;) {
        const m = messages.find(match);
        if (m !== undefined) return m;
        if (Date.now() - t0 > ms)
          throw new Error(`no matching sd_notify message in ${ms} ms; got: ${JSON.stringify(messages)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close() {
      py.kill();
    },
  };
}
