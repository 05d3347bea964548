/**
 * The dashboard in a real browser: the API server in-process with a status that changes
 * between polls, Debian's chromium headless through playwright-core.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiServer } from '../../src/api/server.js';
import type { DaemonStatus } from '../../src/model/status-types.js';
import { createLogger } from '../../src/util/log.js';
import { sampleStatus, transition } from '../unit/api/status-fixture.js';
import { browserUnavailable, launchChromium, screenshotDashboard } from './browser.js';

const skip = browserUnavailable();

/** The seed pair's lb2 before the failover: BACKUP, the VIP held by lb1. */
function before(): DaemonStatus {
  const s = sampleStatus();
  const vi1 = s.instances[0]!;
  vi1.state = 'BACKUP';
  vi1.lastReason = '(VI_1) Entering BACKUP STATE (init)';
  vi1.master = { address: '192.0.2.11', priority: 150 };
  vi1.vips[0]!.present = false;
  s.transitions = s.transitions.filter((t) => t.reasonKind !== 'priority_zero');
  s.floatingIps[0]!.holder = '1000';
  return s;
}

test(
  'the dashboard shows the state and the VIP, then the failover and its reason after the status changes',
  { skip, timeout: 60_000 },
  async () => {
    let status = before();
    const srv = new ApiServer({
      config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], dashboard: true },
      provider: { status: () => status },
      log: createLogger({ level: 'silent' }),
      processMetrics: false,
    });
    const { tcp } = await srv.start();
    const origin = `http://127.0.0.1:${tcp[0]!.port}`;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      const foreign: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('request', (r) => {
        if (!r.url().startsWith(origin)) foreign.push(r.url());
      });
      await page.goto(`${origin}/?interval=250`);

      const vi1 = page.locator('[data-instance="VI_1"]');
      await vi1.locator('[data-testid=state]', { hasText: 'BACKUP' }).waitFor({ timeout: 10_000 });
      assert.equal(await vi1.locator('[data-testid=vip]').first().textContent(), '192.0.2.100/24 eth1');
      assert.match((await vi1.textContent()) ?? '', /master 192\.0\.2\.11 \(150\)/);
      assert.equal(await page.locator('[data-instance="VI_6"] [data-testid=state]').textContent(), 'FAULT');
      assert.equal(await page.locator('[data-testid=transition]', { hasText: 'priority_zero' }).count(), 0);
      assert.match((await page.locator('[data-fip="web"]').textContent()) ?? '', /holder 1000(?! \(this node\))/);

      // lb1's nginx stops: lb1 resigns, lb2 takes over on its priority-0 advert.
      const now = new Date().toISOString();
      const after = sampleStatus();
      after.instances[0]!.since = now;
      after.instances[0]!.trackers[0]!.lastRun = now;
      after.transitions = [
        ...before().transitions,
        transition(
          now,
          'VI_1',
          'BACKUP',
          'MASTER',
          'priority_zero',
          '(VI_1) Backup received priority 0 advertisement',
          100,
        ),
      ];
      status = after;

      await vi1.locator('[data-testid=state]', { hasText: 'MASTER' }).waitFor({ timeout: 10_000 });
      const row = page.locator('[data-testid=transition]', { hasText: 'priority_zero' });
      await row.waitFor({ timeout: 10_000 });
      assert.match((await row.textContent()) ?? '', /VI_1 BACKUP → MASTER.*Backup received priority 0 advertisement/);
      // Newest first.
      assert.match((await page.locator('[data-testid=transition]').first().textContent()) ?? '', /priority_zero/);
      assert.match((await vi1.locator('[data-testid=reason]').textContent()) ?? '', /priority 0 advertisement/);
      assert.equal(await vi1.locator('.vip.held').count(), 1);
      assert.match((await page.locator('[data-fip="web"]').textContent()) ?? '', /1001 \(this node\)/);
      // Check history: one dot per run seen (the run before and the run after the change).
      assert.equal(await vi1.locator('[data-tracker="chk_nginx"] .hist i').count(), 2);

      // The daemon goes away: the page says so instead of showing stale data as live.
      await srv.close();
      await page.locator('#conn.bad').waitFor({ timeout: 10_000 });

      assert.deepEqual(
        errors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(e)),
        [],
      );
      assert.deepEqual(foreign, [], 'the page loads nothing from elsewhere');
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);

test('names from the config are shown as text, never as markup', { skip, timeout: 60_000 }, async () => {
  const s = sampleStatus();
  s.instances[0]!.name = '<img src=x onerror="window.pwned=1">';
  const srv = new ApiServer({
    config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], dashboard: true },
    provider: { status: () => s },
    log: createLogger({ level: 'silent' }),
    processMetrics: false,
  });
  const { tcp } = await srv.start();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${tcp[0]!.port}/`);
    await page.locator('.card .name', { hasText: '<img' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('.card img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
  } finally {
    await browser.close();
    await srv.close();
  }
});

// `FLOATD_SCREENSHOT=docs/dashboard.png` makes a picture of the sample status (the lab test makes the committed one).
test(
  'screenshot on request',
  { skip: skip || (process.env.FLOATD_SCREENSHOT ? false : 'set FLOATD_SCREENSHOT=PATH to save one') },
  async () => {
    await screenshotDashboard(sampleStatus(), process.env.FLOATD_SCREENSHOT!);
  },
);
