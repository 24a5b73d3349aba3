/**
 * Coordinator behaviour (Dynamo 4.5-4.7, 5) over in-memory replicas.
 */
import { strict as assert } from 'node:assert';
import { dvvValues } from '../../src/clock/dvv';
import { cartItems } from '../../src/crdt/cart';
import { sessionView } from '../../src/crdt/session';
import type { StoredObject } from '../../src/crdt/stored-object';
import { partitionOf } from '../../src/ring/partitioner';
import { preferenceList } from '../../src/ring/preference-list';
import { QuorumError } from '../../src/core/errors';
import { asNodeId } from '../../src/core/ids';
import { ReplicationCluster } from './replication-harness';

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

function values(obj: StoredObject | null): string[] {
  assert.ok(obj && obj.kind === 'opaque', 'an opaque object');
  return dvvValues(obj.dvv)
    .filter((v): v is NonNullable<typeof v> => v !== null)
    .map((v) => Buffer.from(v.b).toString())
    .sort();
}

async function put(c: ReplicationCluster, via: string, key: string, value: string, context = {}): Promise<StoredObject | null> {
  return c.node(via).coordinator.execute(key, { op: 'put', ct: 'text/plain', body: text(value), context });
}

function flushTimers(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

describe('replication/coordinator', () => {
  it('reads back a write through every node (R + W > N)', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    await put(c, 'a', 'k', 'v1');
    for (const id of ['a', 'b', 'c']) assert.deepEqual(values(await c.node(id).coordinator.execute('k', { op: 'get' })), ['v1']);
  });

  it('keeps concurrent blind writes as siblings and resolves them with the read context', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    await Promise.all([put(c, 'a', 'k', 'from-a'), put(c, 'b', 'k', 'from-b')]);
    const read = await c.node('c').coordinator.execute('k', { op: 'get' });
    assert.deepEqual(values(read), ['from-a', 'from-b']);
    assert.ok(read && read.kind === 'opaque');
    await put(c, 'c', 'k', 'resolved', read.dvv.vv);
    assert.deepEqual(values(await c.node('a').coordinator.execute('k', { op: 'get' }, { r: 3 })), ['resolved']);
  });

  it('leaves one value after 101 sequential writes that carry their read context', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    let ctx = {};
    for (let i = 0; i <= 100; i++) {
      const obj = await put(c, ['a', 'b', 'c'][i % 3]!, 'k', `v${i}`, ctx);
      assert.ok(obj && obj.kind === 'opaque');
      ctx = obj.dvv.vv;
    }
    assert.deepEqual(values(await c.node('b').coordinator.execute('k', { op: 'get' }, { r: 3 })), ['v100']);
  });

  it('accepts writes with one replica down and hands the hints off when it returns (Dynamo 4.6)', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    c.hub.setDown(c.node('c').id, true);
    for (let i = 0; i < 20; i++) await put(c, i % 2 ? 'a' : 'b', `k${i}`, `v${i}`);
    assert.equal(c.node('c').storage.size(), 0);
    const held = c.node('a').replica.hintCount() + c.node('b').replica.hintCount();
    assert.equal(held, 20, 'each write left one hint for c');
    c.hub.setDown(c.node('c').id, false);
    await c.node('a').handoff.tick();
    await c.node('b').handoff.tick();
    assert.equal(c.node('a').replica.hintCount() + c.node('b').replica.hintCount(), 0);
    for (let i = 0; i < 20; i++) assert.deepEqual(values(c.node('c').replica.own(`k${i}`) ?? null), [`v${i}`]);
  });

  it('gives a hint to the next healthy node when a primary is down (sloppy quorum)', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c', 'd', 'e'], { n: 3 });
    const key = 'sloppy';
    const prefs = preferenceList(c.ring, partitionOf(key, c.ring.q), 3).map(String);
    const down = prefs[1]!;
    const via = prefs[0]!;
    c.hub.setDown(c.node(down).id, true);
    await put(c, via, key, 'v');
    const holders = [...c.nodes.values()].filter((n) => !prefs.includes(n.id) && n.replica.hintCount() > 0);
    assert.equal(holders.length, 1, 'exactly one fallback holds the hint');
    c.hub.setDown(c.node(down).id, false);
    await holders[0]!.handoff.tick();
    assert.equal(holders[0]!.replica.hintCount(), 0);
    assert.deepEqual(values(c.node(down).replica.own(key) ?? null), ['v']);
  });

  it('accepts a write short of W, degraded, and says so (never says no)', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    c.hub.setDown(c.node('b').id, true);
    c.hub.setDown(c.node('c').id, true);
    const a = c.node('a').coordinator;
    const put1 = await a.run('k', { op: 'put', ct: 'text/plain', body: text('v'), context: {} });
    assert.deepEqual([put1.got, put1.wanted], [1, 2], 'one durable copy (the own commit; hints on the same node are not a second disk)');
    assert.deepEqual(values(put1.obj), ['v']);
    const read = await a.run('k', { op: 'get' });
    assert.deepEqual([read.got, read.wanted], [1, 2]);
    assert.deepEqual(values(read.obj), ['v'], 'a read short of R returns what answered');
    assert.equal(a.stats.degradedWrites, 1);
    assert.equal(a.stats.degradedReads, 1);
    // Nothing lost: hints for both owners are held, and handed off when they return.
    assert.deepEqual(c.node('a').storage.hints().map((h) => h.target).sort(), [c.node('b').id, c.node('c').id].sort());
    c.hub.setDown(c.node('b').id, false);
    c.hub.setDown(c.node('c').id, false);
    await c.node('a').handoff.tick();
    for (const id of ['b', 'c']) assert.deepEqual(values(c.node(id).replica.own('k') ?? null), ['v']);
  });

  it('keeps the quorum a gate for strict requests and for minAcks = W', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    c.hub.setDown(c.node('b').id, true);
    c.hub.setDown(c.node('c').id, true);
    const a = c.node('a').coordinator;
    await assert.rejects(a.run('k', { op: 'put', ct: 'text/plain', body: text('v'), context: {} }, { strict: true }),
      (err: unknown) => err instanceof QuorumError && err.needed === 2 && err.acked === 1);
    await assert.rejects(a.run('k', { op: 'get' }, { strict: true }), (err: unknown) => err instanceof QuorumError && err.needed === 2);
    assert.deepEqual(values(await a.execute('k', { op: 'get' }, { r: 1, strict: true })), ['v'], 'the local copy is readable at r=1');
    const gated = new ReplicationCluster(['a', 'b', 'c'], { minAcks: 2 });
    gated.hub.setDown(gated.node('b').id, true);
    gated.hub.setDown(gated.node('c').id, true);
    await assert.rejects(put(gated, 'a', 'k', 'v'), (err: unknown) => err instanceof QuorumError && err.needed === 2 && err.acked === 1);
  });

  it('takes cart add, remove and set with two of three replicas down (no read at R before a write)', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    c.hub.setDown(c.node('b').id, true);
    c.hub.setDown(c.node('c').id, true);
    const a = c.node('a').coordinator;
    const add = await a.run('cart/x', { op: 'cart', action: 'add', item: 'sku-1', qty: 2 });
    assert.deepEqual([add.got, add.wanted], [1, 2]);
    await a.run('cart/x', { op: 'cart', action: 'add', item: 'sku-2', qty: 1 });
    const removed = await a.run('cart/x', { op: 'cart', action: 'remove', item: 'sku-1', qty: 0 });
    const set = await a.run('cart/x', { op: 'cart', action: 'set', item: 'sku-2', qty: 5 });
    assert.ok(removed.obj && removed.obj.kind === 'cart' && set.obj && set.obj.kind === 'cart');
    assert.deepEqual(cartItems(removed.obj.c), { 'sku-2': 1 }, 'the remove observed the own copy');
    assert.deepEqual(cartItems(set.obj.c), { 'sku-2': 5 });
    c.hub.setDown(c.node('b').id, false);
    await c.node('a').handoff.tick();
    const b = c.node('b').replica.own('cart/x');
    assert.ok(b && b.kind === 'cart');
    assert.deepEqual(cartItems(b.c), { 'sku-2': 5 }, 'the returning replica gets every degraded cart write');
  });

  it("returns from a cart add the cart with every acknowledged remove applied, though the coordinator's own copy lags", async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    const cart = (via: string, action: 'add' | 'remove') =>
      c.node(via).coordinator.run('cart/lag', { op: 'cart', action, item: 'sku-1', qty: 1 });
    await cart('a', 'add');
    // The remove reaches b and c but not a (its hint for a stays at b, undelivered).
    c.hub.isolate(c.node('a').id);
    const removed = await cart('b', 'remove');
    assert.ok(removed.obj && removed.obj.kind === 'cart');
    assert.deepEqual(cartItems(removed.obj.c), {});
    c.hub.heal();
    const aOwn = c.node('a').replica.own('cart/lag');
    assert.ok(aOwn && aOwn.kind === 'cart');
    assert.deepEqual(cartItems(aOwn.c), { 'sku-1': 1 }, 'a still holds the removed add');
    const added = await cart('a', 'add');
    assert.ok(added.obj && added.obj.kind === 'cart');
    assert.deepEqual(cartItems(added.obj.c), { 'sku-1': 1 }, 'the add answers with the acknowledged remove applied');
    assert.deepEqual([added.got, added.wanted], [2, 2]);
  });

  it('deletes without a context from what answers, with two of three replicas down', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    await put(c, 'a', 'k', 'v');
    c.hub.setDown(c.node('b').id, true);
    c.hub.setDown(c.node('c').id, true);
    const del = await c.node('a').coordinator.run('k', { op: 'delete', context: null });
    assert.deepEqual([del.got, del.wanted], [1, 2]);
    assert.deepEqual(values(await c.node('a').coordinator.execute('k', { op: 'get' }, { r: 1 })), [], 'the delete covered the value it observed');
  });

  it('session writes from a node that replicates nothing of the key are held as hints, and reads see them', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    const c = new ReplicationCluster(ids);
    const key = 'sess:degraded';
    const prefs = preferenceList(c.ring, partitionOf(key, c.ring.q), 3).map(String);
    const outsider = ids.find((id) => !prefs.includes(id))!;
    for (const p of prefs) c.hub.setDown(c.node(p).id, true);
    const o = c.node(outsider).coordinator;
    const w = await o.run(key, { op: 'session-write', set: { user: 'ada' }, del: [], expiresAtMs: c.clock.nowMs() + 60_000 });
    assert.deepEqual([w.got, w.wanted], [1, 2], 'one durable copy: this node\'s hints');
    const r = await o.run(key, { op: 'get' });
    assert.ok(r.obj && r.obj.kind === 'session');
    assert.deepEqual(sessionView(r.obj.s), { user: 'ada' });
    assert.equal(r.got, 1);
const never = await o.run('sess:never-written', { op: 'get' });
    assert.deepEqual([never.obj, never.got], [null, 1], 'a stand-in answered: absent, degraded, not an error');
    await assert.rejects(o.run(key, { op: 'get' }, { strict: true }), (err: unknown) => err instanceof QuorumError);
  });

  it('repairs a stale replica after a read (Dynamo 5, read repair)', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    c.hub.setDown(c.node('c').id, true);
    await put(c, 'a', 'k', 'v');
    // Drop the hints so only read repair can bring c up to date.
    for (const id of ['a', 'b']) {
      const n = c.node(id);
      await n.replica.dropHints(n.storage.hints().map((h) => h.id));
    }
    c.hub.setDown(c.node('c').id, false);
    assert.equal(c.node('c').replica.own('k'), undefined);
    await c.node('a').coordinator.execute('k', { op: 'get' }, { r: 3 });
    for (let i = 0; i < 10 && !c.node('c').replica.own('k'); i++) await flushTimers();
    assert.deepEqual(values(c.node('c').replica.own('k') ?? null), ['v']);
    assert.ok(c.node('a').coordinator.stats.readRepairs >= 1);
  });

  it('forwards opaque writes from a non-replica to a replica', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c', 'd', 'e'], { n: 3 });
    const key = 'fwd';
    const prefs = preferenceList(c.ring, partitionOf(key, c.ring.q), 3).map(String);
    const outsider = ['a', 'b', 'c', 'd', 'e'].find((x) => !prefs.includes(x))!;
    await put(c, outsider, key, 'v');
    assert.equal(c.node(outsider).coordinator.stats.forwarded, 1);
    assert.equal(c.node(outsider).storage.size(), 0, 'the outsider stored nothing of its own');
    assert.deepEqual(values(await c.node(prefs[2]!).coordinator.execute(key, { op: 'get' })), ['v']);
  });

  it('merges cart adds made through different nodes and removes only what was observed', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    const cart = (via: string, action: 'add' | 'remove' | 'set', item: string, qty = 1) =>
      c.node(via).coordinator.execute('cart/u1', { op: 'cart', action, item, qty });
    await Promise.all([cart('a', 'add', 'sku-1'), cart('b', 'add', 'sku-1'), cart('c', 'add', 'sku-2', 3)]);
    const got = await c.node('a').coordinator.execute('cart/u1', { op: 'get' }, { r: 3 });
    assert.ok(got && got.kind === 'cart');
    assert.deepEqual(cartItems(got.c), { 'sku-1': 2, 'sku-2': 3 });
    await cart('b', 'remove', 'sku-2');
    const after = await c.node('c').coordinator.execute('cart/u1', { op: 'get' }, { r: 3 });
    assert.ok(after && after.kind === 'cart');
    assert.deepEqual(cartItems(after.c), { 'sku-1': 2 });
  });

  it("stamps a session write after the client's `after`, so its next save wins on a replica that missed the last one", async () => {
    for (const after of [false, true]) {
      const c = new ReplicationCluster(['a', 'b', 'c']);
      const exp = c.clock.nowMs() + 60_000;
      c.hub.isolate(asNodeId('a')); // a misses b's saves; one clock, so stamps differ only by counter
      let last = 0;
      for (let i = 0; i < 3; i++) {
        await c.node('b').coordinator.execute('sess:1', { op: 'session-write', set: { x: `b${i}` }, del: [], expiresAtMs: exp });
        const own = c.node('b').replica.own('sess:1');
        assert.ok(own && own.kind === 'session');
        last = own.s.fields.x!.t;
      }
      await c.node('a').coordinator.execute('sess:1', { op: 'session-write', set: { x: 'a' }, del: [], expiresAtMs: exp }, after ? { after: last } : {});
      c.hub.heal();
      const got = await c.node('c').coordinator.execute('sess:1', { op: 'get' }, { r: 3 });
      assert.ok(got && got.kind === 'session');
      // Without the token, a's stamp (same millisecond, a fresh counter) is below b's: the later save loses.
      assert.equal(sessionView(got.s).x, after ? 'a' : 'b2', after ? 'with after: the later save' : 'without: the higher stamp');
    }
  });

  it('keeps both fields when two nodes write different session fields concurrently', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    const exp = c.clock.nowMs() + 60_000;
    await Promise.all([
      c.node('a').coordinator.execute('sess:1', { op: 'session-write', set: { theme: 'dark' }, del: [], expiresAtMs: exp }),
      c.node('b').coordinator.execute('sess:1', { op: 'session-write', set: { lang: 'fr' }, del: [], expiresAtMs: exp }),
    ]);
    const got = await c.node('c').coordinator.execute('sess:1', { op: 'get' }, { r: 3 });
    assert.ok(got && got.kind === 'session');
    assert.deepEqual(sessionView(got.s), { lang: 'fr', theme: 'dark' });
  });
});
