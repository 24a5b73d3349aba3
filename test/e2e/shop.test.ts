/**
 * The demo shop end to end (issue 5 part 3; DESIGN.md "Demo shop page"), in
 * Debian's chromium driven by playwright-core, against three real node
 * processes in three regions.
 *
 * Two browser contexts are two devices of one user, talking to the nodes of
 * region-a and region-b. Device A cuts its region off; both devices change
 * the cart while cut; device B heals; both pages, refreshing themselves,
 * must show the merged cart of the cart CRDT (DESIGN.md Data model: cart):
 * the union of every add, quantities summed, and a remove taking away only
 * the adds it observed. Screenshots go to artifacts/e2e/ (gitignored).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import pino from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createShop, type Shop } from '../../demo-app/shop-app';
import { ProcessCluster, waitFor } from '../cluster/process-cluster';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '../../../artifacts/e2e');
const REGIONS = ['region-a', 'region-b', 'region-c'];

interface Device {
  name: string;
  context: BrowserContext;
  page: Page;
}

/** The cart as the page shows it: sku -> quantity of the rows still in the cart. */
async function shownCart(page: Page): Promise<Record<string, number>> {
  const rows = await page.locator('#cart li.cart-item').evaluateAll(
    (els) => els.map((e) => [e.getAttribute('data-sku'), Number(e.getAttribute('data-qty'))] as const),
  );
  const out: Record<string, number> = {};
  for (const [sku, qty] of rows) if (sku && qty > 0) out[sku] = qty;
  return out;
}

async function shownMerged(page: Page): Promise<Record<string, number>> {
  const rows = await page.locator('#cart li.cart-item').evaluateAll(
    (els) => els.map((e) => [e.getAttribute('data-sku'), Number(e.getAttribute('data-merged'))] as const),
  );
  const out: Record<string, number> = {};
  for (const [sku, d] of rows) if (sku && d !== 0) out[sku] = d;
  return out;
}

function sorted(items: Record<string, number>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(items).sort(([a], [b]) => a.localeCompare(b))));
}

/** Wait until the page (which refreshes its cart every 1.5 s by itself) shows exactly `want`. */
async function expectCart(d: Device, want: Record<string, number>, what: string, timeoutMs = 15_000): Promise<void> {
  let last: Record<string, number> = {};
  try {
    await waitFor(`${d.name} to show ${what}`, async () => {
      last = await shownCart(d.page);
      return sorted(last) === sorted(want);
    }, timeoutMs, 200);
  } catch (err) {
    await shot(d, `failed-${what.replace(/\W+/g, '-')}`);
    throw new Error(`${(err as Error).message}; it shows ${sorted(last)}, want ${sorted(want)}`);
  }
}

/** Submit a form whose response redirects back to the page, and wait for the new page to load. */
async function submitAndReload(d: Device, click: () => Promise<void>): Promise<void> {
  await d.page.evaluate('window.__beforeSubmit = true');
  await click();
  await waitFor(`${d.name}: page reloaded after submit`, async () => {
    try {
      return (await d.page.evaluate('!window.__beforeSubmit && document.readyState === "complete"')) === true;
    } catch {
      return false; // the old document went away mid-evaluate: try on the new one
    }
  }, 10_000, 50);
  const alert = await d.page.locator('.flash.error').allTextContents();
  assert.deepEqual(alert, [], `${d.name}: the page reports an error`);
}

async function addToCart(d: Device, sku: string): Promise<void> {
  await submitAndReload(d, () => d.page.locator(`article.product[data-sku="${sku}"]`).getByRole('button', { name: 'Add to cart' }).click());
}

async function removeFromCart(d: Device, sku: string): Promise<void> {
  await submitAndReload(d, () => d.page.locator(`#cart li.cart-item[data-sku="${sku}"]`).getByRole('button', { name: /^Remove/ }).click());
}

async function shot(d: Device, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}-${d.name}.png`);
  await d.page.screenshot({ path: file, fullPage: true });
  return file;
}

describe('demo shop in a real browser: one cart, two devices, a partition (issue 5)', function () {
  this.timeout(90_000);
  let cluster: ProcessCluster | null = null;
  let shop: Shop | null = null;
  let browser: Browser | null = null;
  let base = '';

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`);
      this.skip();
    }
    cluster = await ProcessCluster.create({ nodes: 3, regions: REGIONS });
    cluster.startAll();
    await cluster.waitConverged();
    shop = createShop({
      nodes: cluster.specs.map((s) => `127.0.0.1:${s.port}`),
      sessionSecret: 'e2e-secret',
      logger: pino({ level: 'silent' }),
    });
    const server: http.Server = await shop.listen(0);
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    // Playwright gives each launch a fresh temporary profile of its own (it
    // refuses --user-data-dir in launch()), so no state leaks between runs.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' && cluster) {
      for (const s of cluster.specs) console.log(`--- ${s.id} log tail\n${cluster.log(s.id).slice(-2000)}`);
    }
    await browser?.close();
    await shop?.close();
    if (cluster) {
      await cluster.stopAll();
      cluster.cleanup();
    }
  });

  async function device(name: string, region: string): Promise<Device> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/?region=${region}`);
    return { name, context, page };
  }

  async function signIn(d: Device, user: string): Promise<void> {
    await d.page.locator('input[name="user"]').fill(user);
    await submitAndReload(d, () => d.page.getByRole('button', { name: 'Sign in' }).click());
    assert.equal(await d.page.locator('#user').textContent(), user);
  }

  it('shows the sign-in form, and rejects a name it cannot use as a cart id', async () => {
    const d = await device('visitor', 'region-c');
    try {
      assert.equal(await d.page.locator('input[name="user"]').count(), 1);
      assert.equal(await d.page.locator('select[name="region"]').inputValue(), 'region-c', '?region preselects the device region');
      await shot(d, '00-sign-in');
      await d.page.locator('input[name="user"]').fill('no spaces allowed');
      await submitAndReload(d, () => d.page.getByRole('button', { name: 'Sign in' }).click()).catch(() => undefined);
      assert.match((await d.page.locator('.flash.error').textContent()) ?? '', /letters, digits/);
      assert.equal(await d.page.locator('input[name="user"]').count(), 1, 'still on the sign-in form');
    } finally {
      await d.context.close();
    }
  });

  it('merges what two devices did while their regions were cut apart, and marks what arrived by merge', async () => {
    const a = await device('device-a', 'region-a');
    const b = await device('device-b', 'region-b');
    try {
      await signIn(a, 'Alice');
      await signIn(b, 'alice'); // the same user: the cart id is the lower-case name
      // Each device's session is in the cluster (the ringstore session store), not in the shop.
      for (const d of [a, b]) {
        const cookie = (await d.context.cookies()).find((c) => c.name === 'shop.sid');
        const sid = decodeURIComponent(cookie?.value ?? '').replace(/^s:/, '').replace(/\.[^.]*$/, '');
        assert.ok(sid.length > 0, `${d.name} has a session cookie`);
        const res = await fetch(cluster!.url('n3', `/kv/${encodeURIComponent(`shop-sess:${sid}`)}`));
        const body = (await res.json()) as { code?: string };
        assert.equal(body.code, 'RS_ERR_TYPE_MISMATCH', `${d.name}: the cluster holds a session value under shop-sess:SID`);
      }
      assert.equal(await a.page.getByRole('button', { name: 'Add to cart' }).count(), 8, 'eight products');
      assert.match((await b.page.locator('.region.mine').textContent()) ?? '', /region-b/);

      // Before the cut: one item that both devices see.
      await addToCart(a, 'notebook');
      await expectCart(a, { notebook: 1 }, 'the notebook');
      await expectCart(b, { notebook: 1 }, 'the notebook added on device A');
      assert.deepEqual(await shownMerged(b.page), { notebook: 1 }, 'B marks the notebook as arriving from elsewhere');
      await shot(a, '01-before-cut');

      // Device A cuts region-a off from region-b and region-c.
      await submitAndReload(a, () => a.page.getByRole('button', { name: 'Cut the link' }).click());
      assert.equal(await a.page.locator('#network').getAttribute('data-partitioned'), 'true');
      await waitFor('device B to see the cut', async () => (await b.page.locator('#network').getAttribute('data-partitioned')) === 'true', 10_000, 200);

      // Both keep shopping while cut. A removes the notebook it saw and adds
      // a mug and tea; B adds socks, tea and another notebook.
      await removeFromCart(a, 'notebook');
      await addToCart(a, 'mug');
      await addToCart(a, 'tea');
      await addToCart(b, 'socks');
      await addToCart(b, 'tea');
      await addToCart(b, 'notebook');
      await expectCart(a, { mug: 1, tea: 1 }, 'its own changes only');
      await expectCart(b, { notebook: 2, socks: 1, tea: 1 }, 'its own changes only');
      assert.equal(await a.page.locator('#cart').getAttribute('data-mode'), 'local', 'A reads its own replica while cut off');
      await shot(a, '02-partitioned');
      await shot(b, '02-partitioned');

      // B heals. Both pages converge to the merge, by themselves: tea from
      // both devices sums to 2; B's notebook add was concurrent with A's
      // remove, so it survives, while the notebook A removed stays removed.
      await submitAndReload(b, () => b.page.getByRole('button', { name: 'Heal the link' }).click());
      const merged = { mug: 1, notebook: 1, socks: 1, tea: 2 };
      await Promise.all([expectCart(a, merged, 'the merged cart', 20_000), expectCart(b, merged, 'the merged cart', 20_000)]);
      await waitFor('device A to read by quorum again', async () => (await a.page.locator('#cart').getAttribute('data-mode')) === 'quorum', 10_000, 200);
      assert.deepEqual(await shownMerged(a.page), { notebook: 1, socks: 1, tea: 1 }, 'A marks what B did');
      assert.deepEqual(await shownMerged(b.page), { mug: 1, notebook: -1, tea: 1 }, 'B marks what A did');
      assert.equal(await a.page.locator('#cart li.merged').count(), 3);
      await shot(a, '03-merged');
      await shot(b, '03-merged');

      // The device's view lives in its session: after a reload the marks and the device's region remain.
      await b.page.reload();
      assert.deepEqual(await shownMerged(b.page), { mug: 1, notebook: -1, tea: 1 });
      assert.equal(await b.page.locator('select[name="region"]').inputValue(), 'region-b');
      await submitAndReload(b, () => b.page.getByRole('button', { name: 'Got it' }).click());
      assert.deepEqual(await shownMerged(b.page), {});
    } finally {
      await a.context.close();
      await b.context.close();
    }
  });
});
