/**
 * The admin page (GET /admin/sessions; docs/sessions-ttl.md) in a real
 * browser: Debian's chromium driven by playwright-core draws the charts from
 * the node's JSON and redraws them as figures change. Screenshots go to
 * artifacts/admin-sessions/ (gitignored).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { InProcessCluster } from './in-process-cluster';

const CHROMIUM = '/usr/bin/chromium';

interface PageDocument {
  body: { getAttribute(name: string): string | null };
  getElementById(id: string): { textContent: string | null } | null;
}
const ARTIFACTS = path.resolve(__dirname, '../../../artifacts/admin-sessions');

describe('node/sessions-admin-page in a real browser', function () {
  this.timeout(60_000);
  let c: InProcessCluster | null = null;
  let browser: Browser | null = null;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
      this.skip();
    }
    c = await InProcessCluster.start(3, { config: { sweepIntervalMs: 200 } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    await c?.stop();
  });

  it('draws the figures as charts and refreshes them live', async () => {
    const node = c!.nodes[0]!;
    const now = Date.now();
    await Promise.all(Array.from({ length: 24 }, (_, i) => node.coordinator.execute(`sess:page${i}`, {
      op: 'session-write', set: { i }, del: [], expiresAtMs: now + [45_000, 240_000, 1_500_000, 7_000_000][i % 4]!,
    }, { w: 3 })));
    const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`http://${node.addr}/admin/sessions`);
    await page.waitForSelector('body[data-rendered]');
    assert.equal(await page.textContent('#t-active'), '24');
    assert.equal(await page.textContent('#t-60'), '6');
    assert.equal(await page.textContent('#t-300'), '12');
    assert.equal(await page.textContent('#t-1800'), '18');
    // One bar per non-empty TTL bucket at least, with its count as a tooltip.
    const ttlBars = await page.$$eval('#c-ttl rect', (rs) => rs.map((r) => r.getAttribute('height')).filter((h) => Number(h) > 0).length);
    assert.ok(ttlBars >= 4, `${ttlBars} TTL bars drawn`);
    assert.equal(await page.$$eval('#c-within rect', (rs) => rs.length), 4);
    assert.ok((await page.$$eval('#c-idle rect', (rs) => rs.length)) >= 10);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'before.png'), fullPage: true });

    // New sessions show up at the next refresh, without reloading the page.
    const first = await page.getAttribute('body', 'data-rendered');
    await Promise.all(Array.from({ length: 6 }, (_, i) => node.coordinator.execute(`sess:more${i}`, {
      op: 'session-write', set: { i }, del: [], expiresAtMs: Date.now() + 50_000,
    }, { w: 3 })));
    await page.waitForFunction((prev) => {
      // The test project compiles without the DOM types; the page's CSP forbids a string to evaluate.
      const doc = (globalThis as unknown as { document: PageDocument }).document;
      return doc.body.getAttribute('data-rendered') !== prev && doc.getElementById('t-active')?.textContent === '30';
    }, first, { timeout: 10_000 });
    assert.equal(await page.textContent('#t-60'), '12');
    const lines = await page.$$eval('#c-rate polyline', (ps) => ps.length);
    assert.equal(lines, 3, 'expired, swept and active over time');
    await page.screenshot({ path: path.join(ARTIFACTS, 'after.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
