/**
 * The load balancer's routes on the API server: add (POST) and remove (DELETE) real servers are
 * actions (the token), parameters are checked before anything runs, and without a load balancer
 * the answer is LB_NOT_CONFIGURED. The changes themselves: test/unit/lb/operate.test.ts and
 * test/lab/lb-api.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { ApiServer } from '../../../src/api/server.js';
import { lbRoutes, parseRs } from '../../../src/api/lb-routes.js';
import { createLogger } from '../../../src/util/log.js';
import { sampleStatus } from './status-fixture.js';

const TOKEN = 'lb-routes-test-token-0123456789';

function call(port: number, method: string, path: string, body?: string, token = TOKEN) {
  return new Promise<{ status: number; code?: string; message?: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (b += c));
        res.on('end', () => {
          const j = JSON.parse(b) as { error?: { code: string; message: string } };
          resolve({ status: res.statusCode ?? 0, code: j.error?.code, message: j.error?.message });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('parseRs: IPv4 and [IPv6] with a port in range', () => {
  assert.deepEqual(parseRs('203.0.113.1:80'), { address: '203.0.113.1', port: 80 });
  assert.deepEqual(parseRs('[2001:db8::1]:443'), { address: '2001:db8::1', port: 443 });
  for (const bad of ['203.0.113.1', '203.0.113.1:0', '203.0.113.1:70000', '2001:db8::1:80', null])
    assert.equal(parseRs(bad), undefined, String(bad));
});

test('real-servers routes: token, parameters, no load balancer — each answered with its code', async () => {
  const srv = new ApiServer({
    config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], dashboard: false },
    provider: { status: () => sampleStatus() },
    log: createLogger({ level: 'silent' }),
    token: TOKEN,
    processMetrics: false,
    routes: lbRoutes(),
  });
  const { tcp } = await srv.start();
  const port = tcp[0]!.port;
  try {
    const add = '/api/v1/lb/real-servers?vs=192.0.2.100:80/TCP&rs=203.0.113.14:80';
    for (const m of ['POST', 'DELETE']) {
      const r = await call(port, m, add, undefined, '');
      assert.deepEqual([r.status, r.code], [401, 'UNAUTHORIZED'], `${m} without the token`);
    }
    const bad: [string, string, string?][] = [
      ['POST', '/api/v1/lb/real-servers?rs=203.0.113.14:80'],
      ['POST', '/api/v1/lb/real-servers?vs=x&rs=nonsense'],
      ['POST', `${add}&weight=heavy`],
      ['POST', `${add}&checks_from=203.0.113.11`],
      ['POST', `${add}&checks_from=203.0.113.11:80`, 'TCP_CHECK { }'],
      ['DELETE', '/api/v1/lb/real-servers?vs=x'],
      ['POST', '/api/v1/lb/drain?rs=203.0.113.11:80&timeout=forever'],
    ];
    for (const [m, p, b] of bad) {
      const r = await call(port, m, p, b);
      assert.deepEqual([r.status, r.code], [400, 'BAD_PARAMETER'], `${m} ${p.slice(0, 80)}`);
    }
    const big = await call(port, 'POST', add, 'x'.repeat(17 * 1024));
    assert.deepEqual([big.status, big.code], [413, 'BODY_TOO_LARGE'], 'a body over 16 KiB');
    for (const m of ['POST', 'DELETE']) {
      const r = await call(port, m, add);
      assert.deepEqual([r.status, r.code], [404, 'LB_NOT_CONFIGURED'], `${m} without a load balancer`);
    }
  } finally {
    await srv.close();
  }
});
