/**
 * What the ringstore session store does that common stores do not (issue 5
 * part 1), through a real Express 5 app with express-session: concurrent
 * requests of one user that change different fields both survive (per-field
 * LWW, crdt/session.ts), a logout sticks when a slow request finishes after
 * it, a node closing during traffic fails no request, and the store tells
 * express-session when it loses and regains the whole cluster.
 */
import { strict as assert } from 'node:assert';
import session from 'express-session';
import { RingstoreSessionStore } from '../../store-adapter';
import { sleep, waitFor } from '../cluster/process-cluster';
import { InProcessCluster } from '../client/in-process-cluster';
import { Browser, startApp, type TestApp } from './express-app';

/**
 * Two overlapping requests of one browser. Each route reports the session as
 * it loaded it: both must have loaded the same version, before either saved,
 * or the test would not be testing concurrency.
 */
async function overlap(b: Browser, first: string, second: string): Promise<void> {
  const one = b.request('POST', first);
  await sleep(20);
  const two = b.request('POST', second);
  const [r1, r2] = await Promise.all([one, two]);
  assert.equal(r1.status, 200);
  assert.equal(r2.status, 200);
  assert.deepEqual(r2.body.loaded, r1.body.loaded, 'both requests loaded the same version');
}

describe('store-adapter: field-level merge, sticky logout, failover (through express-session)', function () {
  this.timeout(45_000);
  let cluster: InProcessCluster;
  let store: RingstoreSessionStore;
  let app: TestApp;

  before(async () => {
    cluster = await InProcessCluster.start({ nodes: 3 });
    store = new RingstoreSessionStore({ nodes: cluster.addrs() });
    app = await startApp(store);
  });

  after(async () => {
    await app?.close();
    await store?.close();
    await cluster?.close();
  });

  it('(control) with a whole-object store, one of two concurrent changes to different fields is lost', async () => {
    const memoryApp = await startApp(new session.MemoryStore());
    try {
      const b = new Browser(memoryApp.url);
      await b.request('POST', '/login?user=ann');
      await overlap(b, '/set?field=a&value=1&delayMs=300', '/set?field=b&value=2&delayMs=600');
      const data = (await b.request('GET', '/me')).body.data as Record<string, unknown>;
      assert.deepEqual(data, { user: 'ann', b: '2' }, 'the later save overwrote the earlier one');
    } finally {
      await memoryApp.close();
    }
  });

  it('keeps both changes when two concurrent requests of one user change different fields', async () => {
    const b = new Browser(app.url);
    await b.request('POST', '/login?user=ann');
    await overlap(b, '/set?field=a&value=1&delayMs=300', '/set?field=b&value=2&delayMs=600');
    assert.deepEqual((await b.request('GET', '/me')).body.data, { user: 'ann', a: '1', b: '2' });
    // And a delete concurrent with a change of another field: both apply.
    await overlap(b, '/del?field=a&delayMs=300', '/set?field=c&value=3&delayMs=600');
    assert.deepEqual((await b.request('GET', '/me')).body.data, { user: 'ann', b: '2', c: '3' });
  });

  it('lets the later save win when two concurrent requests change the same field', async () => {
    const b = new Browser(app.url);
    await b.request('POST', '/login?user=bob');
    await overlap(b, '/set?field=theme&value=first&delayMs=600', '/set?field=theme&value=second&delayMs=200');
    assert.deepEqual((await b.request('GET', '/me')).body.data, { user: 'bob', theme: 'first' }, 'saved last');
    await overlap(b, '/set?field=theme&value=third&delayMs=200', '/del?field=theme&delayMs=600');
    assert.deepEqual((await b.request('GET', '/me')).body.data, { user: 'bob' }, 'the later delete wins too');
  });

  it('keeps a logout: a slow request that finishes after the destroy does not bring the session back', async () => {
    const b = new Browser(app.url);
    await b.request('POST', '/login?user=carol');
    const sid = b.sid!;
    const slowWrite = b.request('POST', '/set?field=late&value=1&delayMs=800');
    const slowTouch = b.request('GET', '/noop?delayMs=900');
    await sleep(100);
    const cookie = b.cookie;
    assert.equal((await b.request('POST', '/logout')).status, 200);
    b.cookie = cookie; // the slow requests carry the old cookie anyway
    const [w, t] = [await slowWrite, await slowTouch];
    assert.equal(w.status, 200);
    assert.equal(t.status, 200);
    assert.deepEqual(w.body.loaded, { user: 'carol' }, 'the slow write loaded the session before the logout');
    assert.deepEqual(t.body.loaded, { user: 'carol' }, 'so did the slow touch');
    await sleep(50);
    assert.equal(await store.get(sid), null, 'destroyed stays destroyed');
    b.cookie = cookie;
    assert.equal((await b.request('GET', '/me')).status, 401);
    assert.equal((await store.ids()).includes(sid), false);
  });

  it('fails no request when a node closes during traffic, and loses no write', async () => {
    const users = Array.from({ length: 12 }, () => new Browser(app.url));
    for (const [i, u] of users.entries()) assert.equal((await u.request('POST', `/login?user=u${i}`)).status, 200);
    const counts = users.map(() => 0);
    const statuses: number[] = [];
    let stop = false;
    const loops = users.map(async (u, i) => {
      while (!stop) {
        const r = await u.request('POST', '/incr?field=n');
        statuses.push(r.status);
        if (r.status === 200) {
          counts[i]++;
          assert.equal(r.body.value, counts[i], 'each increment saw the previous one');
        }
      }
    });
    await waitFor('traffic', () => statuses.length > 150, 10_000, 10);
    await cluster.stopNode(1);
    const atClose = statuses.length;
    await waitFor('traffic after the close', () => statuses.length > atClose + 300, 15_000, 10);
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(statuses.filter((s) => s !== 200), [], 'no failed request');
    for (const [i, u] of users.entries()) {
      const me = await u.request('GET', '/me');
      assert.equal((me.body.data as { n: number }).n, counts[i], `user ${i}: every acknowledged increment is there`);
    }
    await cluster.startNode(1);
    await cluster.waitConverged();
  });

  it('emits disconnect when the whole cluster is gone and connect when it is back; express-session follows', async () => {
    const events: string[] = [];
    store.on('disconnect', () => events.push('disconnect'));
    store.on('connect', () => events.push('connect'));
    const b = new Browser(app.url);
    await b.request('POST', '/login?user=dave');
    await Promise.all([0, 1, 2].map((i) => cluster.stopNode(i)));
    await waitFor('disconnect', () => events.includes('disconnect'), 5_000, 20);
    assert.equal((await b.request('GET', '/me')).status, 503, 'express-session serves without sessions meanwhile');
    await Promise.all([0, 1, 2].map((i) => cluster.startNode(i)));
    await waitFor('connect', () => events.includes('connect'), 15_000, 20);
    assert.deepEqual(events, ['disconnect', 'connect']);
    await cluster.waitConverged();
    const me = await b.request('GET', '/me');
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.data, { user: 'dave' }, 'the session survived on disk');
  });
});
