/**
 * The dashboard's verb buttons in a real browser (Debian's chromium, headless): without the
 * token nothing is posted; with a wrong one the 401 is shown; with the token, Switchover,
 * Maintenance on/off and Reload reach the daemon's verbs and the maintenance badge follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiServer } from '../../src/api/server.js';
import { verbRoutes } from '../../src/api/verbs.js';
import type { Verbs } from '../../src/model/verbs.js';
import { createLogger } from '../../src/util/log.js';
import { sampleStatus } from '../unit/api/status-fixture.js';
import { browserUnavailable, launchChromium } from './browser.js';

const skip = browserUnavailable();
const TOKEN = 'dashboard-token-0123456789';

test(
  'dashboard buttons: switchover, maintenance on/off, reload — only with the token',
  { skip, timeout: 60_000 },
  async () => {
    const calls: string[] = [];
    const maint: Record<string, { since: string; by: string }> = {};
    const verbs: Verbs = {
      switchover: (i, h) => {
        calls.push(`switchover ${i} ${h}`);
        return { ok: true, code: 200, message: `${i} left MASTER` };
      },
      maintenance: (i, on, by) => {
        calls.push(`maintenance ${i} ${on} ${by}`);
        if (on) maint[i!] = { since: 'now', by };
        else delete maint[i!];
        return { ok: true, code: 200, message: `${i}: maintenance ${on ? 'on' : 'off'}` };
      },
      maintained: () => ({ ...maint }),
    };
    const srv = new ApiServer({
      config: { enabled: true, listen: [{ host: '127.0.0.1', port: 0 }], dashboard: true },
      provider: {
        status: () => sampleStatus(),
        reload: async () => {
          calls.push('reload');
          return { ok: false, message: '/etc/k.conf:3:5: error: bad; /etc/k.conf:9:1: error: worse' };
        },
      },
      log: createLogger({ level: 'silent' }),
      token: TOKEN,
      processMetrics: false,
      routes: verbRoutes(verbs),
    });
    const { tcp } = await srv.start();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${tcp[0]!.port}/?interval=250`);
      const vi1 = page.locator('[data-instance="VI_1"]');
      const msg = page.locator('[data-testid=actmsg]');
      await vi1.locator('[data-action=switchover]').waitFor({ timeout: 10_000 });
      assert.equal(
        await vi1.locator('[data-action=switchover]').isDisabled(),
        false,
        'VI_1 is MASTER: switchover enabled',
      );
      assert.equal(
        await page.locator('[data-instance="VI_6"] [data-action=switchover]').isDisabled(),
        true,
        'a FAULT instance cannot switch over',
      );

      await vi1.locator('[data-action=switchover]').click();
      await msg.filter({ hasText: 'type the API token first' }).waitFor({ timeout: 5_000 });
      await page.fill('#token', 'wrong-token-0123456789');
      await vi1.locator('[data-action=switchover]').click();
      await msg.filter({ hasText: 'HTTP 401' }).waitFor({ timeout: 5_000 });
      assert.deepEqual(calls, [], 'nothing reached the daemon without the right token');

      await page.fill('#token', TOKEN);
      await vi1.locator('[data-action=switchover]').click();
      await msg.filter({ hasText: 'VI_1 left MASTER' }).waitFor({ timeout: 5_000 });
      await vi1.locator('[data-action=maintenance-on]').click();
      await vi1.locator('[data-testid=maintenance]').waitFor({ timeout: 5_000 });
      await vi1.locator('[data-action=maintenance-off]').click();
      await vi1.locator('[data-action=maintenance-on]').waitFor({ timeout: 5_000 });
      assert.equal(await vi1.locator('[data-testid=maintenance]').count(), 0);
      await page.click('#reload');
      await msg.filter({ hasText: 'HTTP 409: /etc/k.conf:3:5: error: bad' }).waitFor({ timeout: 5_000 });
      assert.deepEqual(calls, [
        'switchover VI_1 60',
        'maintenance VI_1 true api',
        'maintenance VI_1 false api',
        'reload',
      ]);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await srv.close();
    }
  },
);
