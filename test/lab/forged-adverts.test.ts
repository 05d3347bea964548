/**
 * Bad adverts on the wire: a third host sends priority-250 adverts for the seed's VRID with a
 * wrong password, a wrong VRID, TTL 64, and (correct in every other way) from an address that is
 * not a configured unicast_peer. floatd drops and counts each; nobody changes state. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SeedLab, REPO_ROOT } from '../../src/lab/seed-lab.js';
import { labUnavailable } from '../../src/lab/prerequisites.js';

const isTs = import.meta.url.endsWith('.ts');
const skip = labUnavailable() ?? (isTs ? 'runs from the compiled tree (npm test); the sender imports dist/' : false);

/** Runs in the client host: crafts and sends the adverts through floatd's own codec and socket. */
const SENDER = (dist: string, src: string, peers: string[]) => `
const { openVrrpSocket } = await import('${dist}/src/net/vrrp-socket.js');
const { encodeAdvert, buildIpv4Packet } = await import('${dist}/src/vrrp/packet.js');
const pass = (p) => { const b = Buffer.alloc(8); b.write(p, 'latin1'); return b; };
const sock = openVrrpSocket({ family: 4, ifname: 'eth1', unicastSrc: '${src}', peers: ${JSON.stringify(peers)} });
const cases = [
  { name: 'wrong_pass', vrid: 33, pw: 'nope', ttl: 255 },
  { name: 'wrong_vrid', vrid: 34, pw: 'keepaliv', ttl: 255 },
  { name: 'ttl_64', vrid: 33, pw: 'keepaliv', ttl: 64 },
  { name: 'not_a_peer', vrid: 33, pw: 'keepaliv', ttl: 255 },
];
let id = 1;
for (const c of cases) for (const dst of ${JSON.stringify(peers)}) for (let i = 0; i < 3; i++) {
  const adv = {
    version: 2, vrid: c.vrid, priority: 250, addresses: ['192.0.2.100'], advertIntervalCs: 100,
    authType: 1, authData: pass(c.pw),
  };
  const advert = encodeAdvert(adv, 4, { src: '${src}', dst });
  const packet = buildIpv4Packet(advert, { src: '${src}', dst, ttl: c.ttl, id: id++ });
  sock.send(packet, dst);
}
sock.close();
`;

test(
  'forged adverts (wrong password, wrong VRID, TTL 64, not a peer) are dropped and counted; no state changes',
  { skip, timeout: 60_000 },
  async () => {
    const s = new SeedLab();
    try {
      s.startFloatd('lb1');
      s.startFloatd('lb2');
      const end = Date.now() + 12_000;
      while (!(s.holds('lb1') && !s.holds('lb2')) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.ok(s.holds('lb1'), 'lb1 became MASTER');
      const transitions = (h: 'lb1' | 'lb2') => (s.log(h).match(/Entering/g) ?? []).length;
      const before = [transitions('lb1'), transitions('lb2')];
      const client = s.lab.host('client');
      const script = join(client.dir, 'forge.mjs');
      writeFileSync(script, SENDER(join(REPO_ROOT, 'dist'), client.ip, [s.lab.host('lb1').ip, s.lab.host('lb2').ip]));
      s.lab.exec('client', [process.execPath, script]);
      await new Promise((r) => setTimeout(r, 4000)); // longer than Master_Down_Interval (3.6 s)
      assert.deepEqual([transitions('lb1'), transitions('lb2')], before, 'no state change');
      assert.ok(s.holds('lb1') && !s.holds('lb2'), 'lb1 still holds the VIP alone');
      for (const h of ['lb1', 'lb2'] as const) {
        s.signalFloatd(h, 'USR1');
        const dump = join(s.dir(h), 'floatd.data');
        const t0 = Date.now();
        while (!existsSync(dump) && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 50));
        const status = JSON.parse(readFileSync(dump, 'utf8')) as {
          instances: { counters: { dropped: Record<string, number> } }[];
        };
        const dropped = status.instances[0]!.counters.dropped;
        // Checks run in keepalived's order: TTL first, then the password; the VRID is a demux key.
        assert.equal(dropped.auth_failure, 3, `${h}: ${JSON.stringify(dropped)}`);
        assert.equal(dropped.ip_ttl_err, 3, `${h}: ${JSON.stringify(dropped)}`);
        assert.equal(dropped.not_a_peer, 3, `${h}: ${JSON.stringify(dropped)}`);
      }
    } finally {
      s.destroy();
    }
  },
);
