/**
 * RingstoreSessionStore as express-session uses it (issue 5 part 1, "What
 * the middleware expects"), through a real Express 5 app and directly,
 * against three real in-process nodes: unknown sids, replacing sets, expiry
 * from the cookie or the default TTL, touch, all/length/ids/clear, exactly
 * one callback per call, promises, and bad input reported through the
 * callback without a crash.
 */
import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import type session from 'express-session';
import { RingstoreSessionStore } from '../../store-adapter';
import type { RingstoreError } from '../../src/core/errors';
import { freePorts, sleep, waitFor } from '../cluster/process-cluster';
import { InProcessCluster } from '../client/in-process-cluster';
import { Browser, startApp, type TestApp } from './express-app';

type Data = session.SessionData & Record<string, unknown>;

const cookieFor = (ms: number): session.Cookie => ({ originalMaxAge: null, expires: new Date(ms).toISOString() }) as unknown as session.Cookie;

/** A session cookie for `sid` signed as express-session does (cookie-signature). */
function signedCookie(sid: string, secret = 'test secret'): string {
  const mac = createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
  return `connect.sid=${encodeURIComponent(`s:${sid}.${mac}`)}`;
}

/** Calls `fn` with a callback and resolves with every call the callback got, after a grace period. */
async function callbackCalls(fn: (cb: (...args: unknown[]) => void) => void): Promise<unknown[][]> {
  const calls: unknown[][] = [];
  fn((...args) => { calls.push(args); });
  await waitFor('callback', () => calls.length > 0, 10_000, 5);
  await sleep(50);
  return calls;
}

describe('store-adapter: RingstoreSessionStore as express-session expects it', function () {
  this.timeout(30_000);
  let cluster: InProcessCluster;
  let store: RingstoreSessionStore;
  let app: TestApp;
  const stores: RingstoreSessionStore[] = [];
  const newStore = (opts: Partial<ConstructorParameters<typeof RingstoreSessionStore>[0]> = {}): RingstoreSessionStore => {
    const s = new RingstoreSessionStore({ nodes: cluster.addrs(), ttl: 100, ...opts });
    stores.push(s);
    return s;
  };

  before(async () => {
    cluster = await InProcessCluster.start({ nodes: 3 });
    store = newStore();
    app = await startApp(store);
  });

  after(async () => {
    await app?.close();
    await Promise.all(stores.map((s) => s.close()));
    await cluster?.close();
  });

  it('gives null without error for an unknown sid, through the callback and through the app', async () => {
    const calls = await callbackCalls((cb) => store.get('no-such-sid', cb));
    assert.deepEqual(calls, [[null, null]]);
    const b = new Browser(app.url);
    b.cookie = signedCookie('no-such-sid');
    assert.equal((await b.request('GET', '/me')).status, 401);
    assert.equal(await store.get('no-such-sid'), null, 'an unmodified new session is not saved (saveUninitialized: false)');
  });

  it('replaces the session on a second set: a field the app deleted stays deleted', async () => {
    const b = new Browser(app.url);
    await b.request('POST', '/login?user=ann');
    await b.request('POST', '/set?field=a&value=1');
    await b.request('POST', '/set?field=b&value=2');
    await b.request('POST', '/del?field=a');
    assert.deepEqual((await b.request('GET', '/me')).body.data, { user: 'ann', b: '2' });
    const stored = (await store.get(b.sid!)) as Data;
    assert.equal('a' in stored, false);
    assert.equal(stored.b, '2');

    // Directly: objects not loaded through the store replace whole, too.
    const exp = cookieFor(Date.now() + 60_000);
    await store.set('direct', { cookie: exp, a: 1, b: 2 } as unknown as Data);
    await store.set('direct', { cookie: exp, a: 1 } as unknown as Data);
    assert.deepEqual(Object.keys((await store.get('direct'))!).sort(), ['a', 'cookie']);
    const loaded = (await store.get('direct')) as Data;
    delete loaded.a;
    loaded.c = 3;
    await store.set('direct', loaded);
    const again = (await store.get('direct')) as Data;
    assert.equal(again.c, 3);
    assert.equal('a' in again, false);
  });

  it('takes the expiry from cookie.expires (an ISO string), else cookie.maxAge, else the default ttl', async () => {
    const at = Date.now() + 5_000;
    await store.set('exp-iso', { cookie: cookieFor(at), x: 1 } as unknown as Data);
    assert.equal((await store.client.sessionGet('sess:exp-iso'))?.expiresAtMs, new Date(new Date(at).toISOString()).getTime());
    const t0 = Date.now();
    await store.set('exp-ttl', { cookie: { originalMaxAge: null }, x: 1 } as unknown as Data);
    const ttlExp = (await store.client.sessionGet('sess:exp-ttl'))!.expiresAtMs;
    assert.ok(ttlExp >= t0 + 100_000 && ttlExp <= Date.now() + 100_000, 'default ttl of 100 s');
    const b = new Browser(app.url);
    const t1 = Date.now();
    await b.request('POST', '/login?user=exp');
    const appExp = (await store.client.sessionGet(`sess:${b.sid}`))!.expiresAtMs;
    assert.ok(appExp >= t1 + 60_000 && appExp <= Date.now() + 60_000, 'express-session cookie maxAge 60 s');
  });

  it('deletes the session when set with an expiry in the past', async () => {
    await store.set('past', { cookie: cookieFor(Date.now() + 60_000), x: 1 } as unknown as Data);
    assert.ok(await store.get('past'));
    await store.set('past', { cookie: cookieFor(Date.now() - 1_000), x: 2 } as unknown as Data);
    assert.equal(await store.get('past'), null);
  });

  it('touch extends the expiry without changing data, and is a no-op on a missing or destroyed sid', async () => {
    const now = Date.now();
    await store.set('t1', { cookie: cookieFor(now + 5_000), x: 1 } as unknown as Data);
    await store.touch('t1', { cookie: cookieFor(now + 90_000), x: 'ignored' } as unknown as Data);
    const s = await store.client.sessionGet('sess:t1');
    assert.equal(s?.expiresAtMs, new Date(new Date(now + 90_000).toISOString()).getTime());
    assert.equal(s?.data.x, 1);
    await store.touch('t1', { cookie: cookieFor(now + 10_000) } as unknown as Data);
    assert.equal((await store.client.sessionGet('sess:t1'))?.expiresAtMs, s?.expiresAtMs, 'touch never shortens');

    await store.touch('t-missing', { cookie: cookieFor(now + 90_000) } as unknown as Data);
    assert.equal(await store.get('t-missing'), null);
    await store.set('t2', { cookie: cookieFor(now + 5_000), x: 1 } as unknown as Data);
    await store.destroy('t2');
    await store.touch('t2', { cookie: cookieFor(now + 90_000) } as unknown as Data);
    assert.equal(await store.get('t2'), null);

    // Through the app: an unmodified session is touched (resave: false), not saved.
    const b = new Browser(app.url);
    await b.request('POST', '/login?user=toucher');
    const before = (await store.client.sessionGet(`sess:${b.sid}`))!;
    await sleep(30);
    await b.request('GET', '/noop');
    const after = (await store.client.sessionGet(`sess:${b.sid}`))!;
    assert.ok(after.expiresAtMs > before.expiresAtMs, 'the request extended the expiry');
    assert.deepEqual(after.data, before.data, 'and changed no data');
  });

  it('counts and lists only live sessions in all/length/ids, and clear is idempotent', async () => {
    const s = newStore({ prefix: 'count:' });
    const now = Date.now();
    await s.set('a', { cookie: cookieFor(now + 60_000), who: 'a' } as unknown as Data);
    await s.set('b', { cookie: cookieFor(now + 60_000), who: 'b' } as unknown as Data);
    await s.set('soon', { cookie: cookieFor(now + 1500), who: 'soon' } as unknown as Data);
    await s.set('gone', { cookie: cookieFor(now + 60_000), who: 'gone' } as unknown as Data);
    await s.destroy('gone');
    const before = await s.length();
    if (Date.now() < now + 1500) assert.equal(before, 3, 'before its expiry, the short session counts');
    await sleep(Math.max(0, now + 1600 - Date.now()));
    assert.equal(await s.length(), 2);
    assert.deepEqual(await s.ids(), ['a', 'b']);
    const all = await s.all();
    assert.deepEqual(all.map((x) => [x.id, (x as unknown as Data).who]), [['a', 'a'], ['b', 'b']]);
    assert.equal(await store.get('a'), null, 'another prefix is another namespace');
    await s.clear();
    assert.equal(await s.length(), 0);
    assert.equal(await s.get('a'), null);
    const calls = await callbackCalls((cb) => s.clear(cb));
    assert.deepEqual(calls, [[null, undefined]], 'clearing again is fine');
  });

  it('calls every callback exactly once, on success and on failure', async () => {
    const exp = cookieFor(Date.now() + 60_000);
    const cyclic: Record<string, unknown> = { cookie: exp };
    cyclic.self = cyclic;
    const runs: Array<[string, (cb: (...a: unknown[]) => void) => void, boolean]> = [
      ['set', (cb) => store.set('once', { cookie: exp, v: 1 } as unknown as Data, cb), true],
      ['get', (cb) => store.get('once', cb), true],
      ['touch', (cb) => store.touch('once', { cookie: exp } as unknown as Data, cb), true],
      ['length', (cb) => store.length(cb), true],
      ['ids', (cb) => store.ids(cb), true],
      ['all', (cb) => store.all(cb), true],
      ['destroy', (cb) => store.destroy('once', cb), true],
      ['get invalid sid', (cb) => store.get('', cb), false],
      ['set cyclic', (cb) => store.set('cyc', cyclic as unknown as Data, cb), false],
      ['set too large', (cb) => store.set('huge', { cookie: exp, big: 'x'.repeat(1_100_000) } as unknown as Data, cb), false],
    ];
    for (const [name, run, ok] of runs) {
      const calls = await callbackCalls(run);
      assert.equal(calls.length, 1, `${name}: one call`);
      assert.equal(calls[0]![0] === null || calls[0]![0] === undefined, ok, `${name}: ${ok ? 'no error' : 'an error'}`);
    }
  });

  it('returns promises when called without a callback', async () => {
    const exp = cookieFor(Date.now() + 60_000);
    await store.set('p', { cookie: exp, v: 'promised' } as unknown as Data);
    assert.equal(((await store.get('p')) as Data).v, 'promised');
    await store.touch('p', { cookie: exp } as unknown as Data);
    await store.destroy('p');
    assert.equal(await store.get('p'), null);
    await assert.rejects(store.get(''), (e: RingstoreError) => e.code === 'RS_ERR_BAD_REQUEST');
  });

  it('reports bad input as clear errors: too large, not JSON-serialisable, malformed sid', async () => {
    const exp = cookieFor(Date.now() + 60_000);
    await assert.rejects(
      store.set('huge', { cookie: exp, big: 'x'.repeat(1_100_000) } as unknown as Data),
      (e: RingstoreError) => e.code === 'RS_ERR_VALUE_TOO_LARGE' && /limit/.test(e.message),
    );
    await assert.rejects(
      store.set('bigint', { cookie: exp, n: BigInt(1) } as unknown as Data),
      (e: RingstoreError) => e.code === 'RS_ERR_BAD_REQUEST' && /JSON/.test(e.message),
    );
    await assert.rejects(store.set('x'.repeat(2000), { cookie: exp } as unknown as Data), (e: RingstoreError) => e.code === 'RS_ERR_KEY_TOO_LARGE');
    await assert.rejects(store.destroy(undefined as unknown as string), (e: RingstoreError) => e.code === 'RS_ERR_BAD_REQUEST');
    assert.equal(await store.get('huge'), null, 'nothing of the refused write was stored');

    // Through the app: the error reaches express's error handler via the save callback.
    const b = new Browser(app.url);
    await b.request('POST', '/login?user=big');
    const big = await b.request('POST', '/big?bytes=1100000');
    assert.equal(big.status, 500);
    assert.equal(big.body.code, 'RS_ERR_VALUE_TOO_LARGE');
    const me = await b.request('GET', '/me');
    assert.equal(me.status, 200, 'the app keeps serving the session');
    assert.deepEqual(me.body.data, { user: 'big' });
  });

  it('reports an unreachable cluster through the callback, after the timeout, never a crash', async () => {
    const [port] = await freePorts(1);
    const dead = new RingstoreSessionStore({ nodes: [`127.0.0.1:${port}`], timeoutMs: 300, client: { reconnectMaxMs: 100 } });
    stores.push(dead);
    const t0 = Date.now();
    const calls = await callbackCalls((cb) => dead.get('any', cb));
    assert.equal(calls.length, 1);
    assert.equal((calls[0]![0] as RingstoreError).code, 'RS_ERR_UNREACHABLE');
    assert.ok(Date.now() - t0 < 5_000);
    await assert.rejects(dead.set('any', { cookie: cookieFor(Date.now() + 1000) } as unknown as Data), (e: RingstoreError) => e.code === 'RS_ERR_UNREACHABLE');
    const deadApp = await startApp(dead);
    try {
      const b = new Browser(deadApp.url);
      b.cookie = signedCookie('some-sid');
      const res = await b.request('GET', '/me');
      assert.equal(res.status, 500);
      assert.equal(res.body.code, 'RS_ERR_UNREACHABLE');
    } finally {
      await deadApp.close();
    }
  });

  it('works in a region with local consistency', async () => {
    const s = newStore({ region: 'r2', prefix: 'regional:' });
    const regionalApp = await startApp(s);
    try {
      const b = new Browser(regionalApp.url);
      await b.request('POST', '/login?user=west');
      await b.request('POST', '/set?field=theme&value=dark');
      assert.deepEqual((await b.request('GET', '/me')).body.data, { user: 'west', theme: 'dark' });
    } finally {
      await regionalApp.close();
    }
  });
});
