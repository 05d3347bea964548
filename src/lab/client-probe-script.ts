/**
 * The client probe's program (src/lab/client-probe.ts), as JavaScript source: it runs as a
 * separate Node process on the lab's client host, so it keeps its own wall-clock stamps
 * (`Date.now()` in the string) and is the one lab file outside the one-clock rule.
 */
export const PROBE_SCRIPT = `import http from 'node:http';
const [url, every, timeout] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
setInterval(() => {
  const sent = Date.now();
  const req = http.get(url, { agent: false, timeout }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { body += c; });
    res.on('end', () => out({ sent, recv: Date.now(), body: body.trim() }));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => out({ sent, error: e.message }));
}, every);
process.on('SIGTERM', () => process.exit(0));
`;
