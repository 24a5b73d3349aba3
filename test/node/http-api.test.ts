/**
 * The HTTP API of DESIGN.md against three in-process nodes: siblings as 300,
 * resolution with the context, carts, status, and bad input answered with
 * JSON errors while the node keeps serving.
 */
import { strict as assert } from 'node:assert';
import { InProcessCluster } from './in-process-cluster';

describe('node/http-api (DESIGN.md Interfaces: HTTP API)', function () {
  this.timeout(60_000);
  let c: InProcessCluster;

  before(async () => {
    c = await InProcessCluster.start(3);
  });
  after(async () => {
    await c.stop();
  });

  async function jsonError(res: Response, status: number, code: string): Promise<void> {
    assert.equal(res.status, status);
    const body = (await res.json()) as { error: string; code: string };
    assert.equal(body.code, code);
    assert.ok(body.error.length > 0);
  }

  it('returns 300 with both siblings for concurrent blind writes, and one value after a write with that context', async () => {
    await Promise.all([
      fetch(c.url(0, '/kv/shared'), { method: 'PUT', body: 'alpha' }),
      fetch(c.url(1, '/kv/shared'), { method: 'PUT', body: 'beta' }),
    ]);
    const res = await fetch(c.url(2, '/kv/shared?r=3'));
    assert.equal(res.status, 300);
    const body = (await res.json()) as { siblings: string[]; context: string };
    assert.deepEqual(body.siblings.map((s) => Buffer.from(s, 'base64').toString()).sort(), ['alpha', 'beta']);
    assert.equal(res.headers.get('x-ringstore-context'), body.context);
    const put = await fetch(c.url(2, '/kv/shared'), { method: 'PUT', body: 'merged', headers: { 'X-Ringstore-Context': body.context } });
    assert.equal(put.status, 204);
    assert.ok(put.headers.get('x-ringstore-context'));
    const after = await fetch(c.url(0, '/kv/shared?r=3'));
    assert.equal(after.status, 200);
    assert.equal(await after.text(), 'merged');
  });

  it('stores the content type and deletes with a tombstone context', async () => {
    const put = await fetch(c.url(0, '/kv/doc'), { method: 'PUT', body: '{"a":1}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(put.status, 204);
    const got = await fetch(c.url(1, '/kv/doc'));
    assert.equal(got.headers.get('content-type'), 'application/json');
    assert.equal(await got.text(), '{"a":1}');
    const del = await fetch(c.url(1, '/kv/doc'), { method: 'DELETE', headers: { 'X-Ringstore-Context': got.headers.get('x-ringstore-context')! } });
    assert.equal(del.status, 204);
    const gone = await fetch(c.url(2, '/kv/doc?r=3'));
    await jsonError(gone, 404, 'RS_ERR_NOT_FOUND');
    assert.ok(gone.headers.get('x-ringstore-context'), 'a known tombstone still gives its context');
    await jsonError(await fetch(c.url(0, '/kv/never-written')), 404, 'RS_ERR_NOT_FOUND');
  });

  it('merges cart operations from different nodes', async () => {
    const post = (i: number, body: unknown) =>
      fetch(c.url(i, '/carts/alice'), { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    await Promise.all([post(0, { op: 'add', item: 'sku-1', qty: 1 }), post(1, { op: 'add', item: 'sku-1', qty: 1 })]);
    const res = await post(2, { op: 'add', item: 'sku-2', qty: 3 });
    assert.equal(res.status, 200);
    const cart = await (await fetch(c.url(0, '/carts/alice?r=3'))).json();
    assert.deepEqual(cart, { items: { 'sku-1': 2, 'sku-2': 3 } });
    await post(1, { op: 'set', item: 'sku-2', qty: 1 });
    await post(2, { op: 'remove', item: 'sku-1' });
    assert.deepEqual(await (await fetch(c.url(0, '/carts/alice?r=3'))).json(), { items: { 'sku-2': 1 } });
    assert.deepEqual(await (await fetch(c.url(0, '/carts/nobody'))).json(), { items: {} });
  });

  it('reports members, ring and partitions in /admin/status, summing owned partitions to the total', async () => {
    const all = await Promise.all([0, 1, 2].map(async (i) => (await fetch(c.url(i, '/admin/status'))).json() as Promise<{
      id: string; ringVersion: string; members: Array<{ id: string; state: string }>; partitions: { total: number; owned: number };
      hints: { pending: number }; handoff: { active: number };
    }>));
    assert.equal(new Set(all.map((s) => s.ringVersion)).size, 1, 'one ring version everywhere');
    assert.equal(all.reduce((sum, s) => sum + s.partitions.owned, 0), all[0]!.partitions.total);
    for (const s of all) {
      assert.deepEqual(s.members.map((m) => m.state), ['alive', 'alive', 'alive']);
      assert.equal(typeof s.hints.pending, 'number');
      assert.equal(s.handoff.active, 0);
    }
    const metrics = await (await fetch(c.url(0, '/metrics'))).text();
    assert.match(metrics, /ringstore_http_requests_total/);
  });

  it('answers bad input with JSON errors and keeps serving', async () => {
    await jsonError(await fetch(c.url(0, `/kv/${'k'.repeat(2000)}`)), 413, 'RS_ERR_KEY_TOO_LARGE');
    await jsonError(await fetch(c.url(0, '/kv/big'), { method: 'PUT', body: Buffer.alloc(1024 * 1024 + 1) }), 413, 'RS_ERR_VALUE_TOO_LARGE');
    await jsonError(await fetch(c.url(0, '/kv/x'), { method: 'PUT', body: 'v', headers: { 'X-Ringstore-Context': '!!not-a-context' } }), 400, 'RS_ERR_BAD_CONTEXT');
    await jsonError(await fetch(c.url(0, '/kv/x?r=9')), 400, 'RS_ERR_BAD_REQUEST');
    await jsonError(await fetch(c.url(0, '/kv/x?consistency=maybe')), 400, 'RS_ERR_BAD_REQUEST');
    await jsonError(await fetch(c.url(0, '/kv/%E0%A4%A')), 400, 'RS_ERR_BAD_REQUEST');
    await jsonError(await fetch(c.url(0, '/carts/a'), { method: 'POST', body: '{not json' }), 400, 'RS_ERR_BAD_REQUEST');
    await jsonError(await fetch(c.url(0, '/carts/a'), { method: 'POST', body: '{"op":"add","item":"s","qty":-1}' }), 400, 'RS_ERR_BAD_REQUEST');
    await jsonError(await fetch(c.url(0, '/carts/a'), { method: 'POST', body: '{"op":"juggle","item":"s"}' }), 400, 'RS_ERR_BAD_REQUEST');
    await jsonError(await fetch(c.url(0, '/nowhere')), 404, 'RS_ERR_NOT_FOUND');
    const method = await fetch(c.url(0, '/kv/x'), { method: 'PATCH' });
    assert.equal(method.headers.get('allow'), 'GET, PUT, DELETE');
    await jsonError(method, 405, 'RS_ERR_METHOD');
    await fetch(c.url(0, '/kv/typed'), { method: 'PUT', body: 'v' });
    const cartOnKv = await fetch(c.url(0, '/carts/typed-cart'), { method: 'POST', body: '{"op":"add","item":"s"}' });
    assert.equal(cartOnKv.status, 200);
    await jsonError(await fetch(c.url(0, '/kv/cart%2Ftyped-cart')), 409, 'RS_ERR_TYPE_MISMATCH');
    // Still serving.
    assert.equal((await fetch(c.url(0, '/kv/after-bad-input'), { method: 'PUT', body: 'ok' })).status, 204);
    assert.equal(await (await fetch(c.url(1, '/kv/after-bad-input'))).text(), 'ok');
  });

  it('answers 202 with X-Ringstore-Acked when W cannot be met, and 503 RS_ERR_QUORUM only when strict', async () => {
    const two = await InProcessCluster.start(2, { config: { n: 2, r: 2, w: 2 } });
    try {
      await two.nodes[1]!.close();
      const put = await fetch(two.url(0, '/kv/q'), { method: 'PUT', body: 'v' });
      assert.equal(put.status, 202);
      assert.equal(put.headers.get('x-ringstore-acked'), '1/2');
      const read = await fetch(two.url(0, '/kv/q'));
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('x-ringstore-answered'), '1/2');
      assert.equal(await read.text(), 'v');
      const cart = await fetch(two.url(0, '/carts/c1'), { method: 'POST', body: JSON.stringify({ op: 'add', item: 'sku', qty: 2 }) });
      assert.equal(cart.status, 202);
      assert.deepEqual(await cart.json(), { items: { sku: 2 }, acked: 1, wanted: 2 });
      const strict = await fetch(two.url(0, '/kv/q?strict=1'), { method: 'PUT', body: 'v' });
      assert.equal(strict.status, 503);
      const body = (await strict.json()) as { code: string; needed: number; acked: number };
      assert.deepEqual([body.code, body.needed, body.acked], ['RS_ERR_QUORUM', 2, 1]);
      assert.equal((await fetch(two.url(0, '/kv/q?strict=1&w=1'), { method: 'PUT', body: 'v' })).status, 204, 'w=1 per request is met');
      assert.equal((await fetch(two.url(0, '/kv/q?strict=maybe'))).status, 400);
    } finally {
      await two.stop().catch(() => undefined);
    }
  });
});
