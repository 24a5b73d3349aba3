/**
 * Tombstone reaping (replication/tombstone-reaper.ts; issue 14 part 2): a
 * delete's tombstone goes only after every primary confirmed holding it and
 * a grace has passed, and nothing brings the deleted value back.
 */
import { strict as assert } from 'node:assert';
import type { StoredObject } from '../../src/crdt/stored-object';
import { isTombstoneOnly } from '../../src/crdt/stored-object';
import { partitionOf } from '../../src/ring/partitioner';
import { preferenceList } from '../../src/ring/preference-list';
import { validatePeerMsg } from '../../src/replication/wire-validate';
import { DEFAULT_LIMITS } from '../../src/core/config';
import { BadRequestError } from '../../src/core/errors';
import { ReplicationCluster, type TestNode } from './replication-harness';

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const GRACE_MS = 3000;

async function put(c: ReplicationCluster, via: string, key: string, value: string, context = {}): Promise<StoredObject | null> {
  return c.node(via).coordinator.execute(key, { op: 'put', ct: 'text/plain', body: text(value), context });
}

function del(c: ReplicationCluster, via: string, key: string): Promise<StoredObject | null> {
  return c.node(via).coordinator.execute(key, { op: 'delete', context: null });
}

function liveValues(obj: StoredObject | null | undefined): string[] {
  if (!obj || obj.kind !== 'opaque') return [];
  return obj.dvv.siblings.filter((s) => s.value !== null).map((s) => Buffer.from(s.value!.b).toString());
}

async function reapAll(c: ReplicationCluster): Promise<number> {
  let reaped = 0;
  for (const n of c.nodes.values()) if (!c.hub.isDown(n.id)) reaped += (await n.reaper.tick()).reaped;
  return reaped;
}

/** Writes `k` through a, deletes it, reaps the tombstone on every replica; returns a's copy from before the delete. */
async function writeDeleteReap(c: ReplicationCluster): Promise<StoredObject> {
  await put(c, 'a', 'k', 'old');
  const old = c.node('a').replica.own('k')!;
  await del(c, 'a', 'k');
  await reapAll(c);
  await reapAll(c);
  return old;
}

function all(c: ReplicationCluster): TestNode[] {
  return [...c.nodes.values()];
}

describe('replication/tombstone-reaper', () => {
  it('reaps a tombstone on every replica once all of them confirmed it and the grace passed', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c'], { tombstoneGraceMs: GRACE_MS });
    await put(c, 'a', 'k', 'v1');
    await del(c, 'b', 'k');
    for (const n of all(c)) assert.equal(n.replica.tombstoneCount(), 1, `${n.id} holds the tombstone`);
    assert.equal(await reapAll(c), 0, 'the first pass only confirms');
    c.clock.advance(GRACE_MS - 1);
    assert.equal(await reapAll(c), 0, 'not before the grace');
    c.clock.advance(1);
    assert.equal(await reapAll(c), 3);
    for (const n of all(c)) {
      assert.equal(n.replica.own('k'), undefined, `${n.id} dropped it`);
      assert.equal(n.replica.tombstoneCount(), 0);
      assert.equal(n.replica.stats.reaped, 1);
    }
    assert.deepEqual(liveValues(await c.node('c').coordinator.execute('k', { op: 'get' }, { r: 3 })), [], 'reads as absent');
  });

  it('advances the id epoch durably before dropping a tombstone (id-mint.ts)', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c'], { tombstoneGraceMs: 0 });
    await put(c, 'a', 'k', 'v1');
    await del(c, 'a', 'k');
    const before = c.node('a').ids.currentEpoch();
    await reapAll(c);
    await reapAll(c);
    assert.equal(c.node('a').replica.own('k'), undefined);
    assert.equal(c.node('a').ids.currentEpoch(), before + 1);
    assert.equal(c.node('a').storage.getMeta('epoch'), String(before + 1));
    // A new write after the reap gets a fresh dot: no replica's reaped memory swallows it.
    await put(c, 'a', 'k', 'v2');
    for (const n of all(c)) assert.deepEqual(liveValues(n.replica.own('k')), ['v2'], `${n.id} holds the new write`);
  });

  it('reaps nothing while a replica that missed the delete is down, however long past the grace', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c'], { tombstoneGraceMs: GRACE_MS });
    await put(c, 'a', 'k', 'old');
    c.hub.setDown(c.node('c').id, true);
    await del(c, 'a', 'k');
    for (let i = 0; i < 5; i++) {
      await reapAll(c);
      c.clock.advance(GRACE_MS * 10);
    }
    assert.ok(c.node('a').replica.own('k'), 'a keeps its tombstone');
    assert.ok(c.node('b').replica.own('k'), 'b keeps its tombstone');
    assert.deepEqual(liveValues(c.node('c').replica.own('k')), ['old'], 'c still holds the old value');
    // c returns; the hint is deliberately held back: the confirmation itself hands c the tombstone.
    c.hub.setDown(c.node('c').id, false);
    await reapAll(c);
    assert.ok(isTombstoneOnly(c.node('c').replica.own('k')!), 'c merged the tombstone it was asked about');
    c.clock.advance(GRACE_MS);
    await reapAll(c);
    // a holds a hint for c (the delete's), which blocks its own reap until delivered.
    await c.node('a').handoff.tick();
    await c.node('b').handoff.tick();
    for (let i = 0; i < 3; i++) {
      await reapAll(c);
      c.clock.advance(GRACE_MS);
    }
    for (const n of all(c)) assert.equal(n.replica.own('k'), undefined, `${n.id} reaped`);
    assert.deepEqual(liveValues(await c.node('b').coordinator.execute('k', { op: 'get' }, { r: 3 })), [], 'reads as absent');
  });

  it('does not confirm while the peer holds a hint for the key', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c'], { tombstoneGraceMs: 0 });
    await put(c, 'a', 'k', 'v');
    await del(c, 'a', 'k');
    const tomb = c.node('a').replica.own('k')!;
    await c.node('b').replica.holdHint(c.node('c').id, 'k', tomb);
    await reapAll(c);
    await reapAll(c);
    assert.ok(c.node('a').replica.own('k'), 'a waits for b\'s hint');
    assert.ok(c.node('b').replica.own('k'), 'b waits for its own hint');
    await c.node('b').handoff.tick();
    await reapAll(c);
    await reapAll(c);
    for (const n of all(c)) assert.equal(n.replica.own('k'), undefined);
  });

  it('refuses an old-value hint that arrives after the reap (the reaped context is remembered)', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c', 'd'], { tombstoneGraceMs: 0 });
    const key = 'late';
    const prefs = preferenceList(c.ring, partitionOf(key, c.ring.q), 3).map(String);
    const fallback = ['a', 'b', 'c', 'd'].find((x) => !prefs.includes(x))!;
    await put(c, prefs[0]!, key, 'old');
    const old = c.node(prefs[0]!).replica.own(key)!;
    await del(c, prefs[0]!, key);
    await reapAll(c);
    await reapAll(c);
    for (const p of prefs) assert.equal(c.node(p).replica.own(key), undefined, `${p} reaped`);
    // A fallback that was away the whole time hands its hint of the old value over now.
    await c.node(fallback).replica.holdHint(c.node(prefs[2]!).id, key, old);
    const res = await c.node(fallback).handoff.tick();
    assert.equal(res.find((r) => r.target === prefs[2])?.delivered, 1, 'acknowledged, so not retried');
    assert.equal(c.node(prefs[2]!).replica.own(key), undefined, 'not stored');
    assert.equal(c.node(prefs[2]!).replica.stats.refusedReaped, 1);
    // Nor by read repair or anti-entropy's put of it.
    await c.node(prefs[1]!).replica.apply(key, old);
    assert.equal(c.node(prefs[1]!).replica.own(key), undefined);
    assert.deepEqual(liveValues(await c.node(prefs[0]!).coordinator.execute(key, { op: 'get' }, { r: 3 })), [], 'reads as absent');
  });

  it('keeps a write made after the reap, stripping the deleted sibling a merge would bring along', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c'], { tombstoneGraceMs: 0 });
    const old = await writeDeleteReap(c);
    await put(c, 'b', 'k', 'new');
    await c.node('c').replica.apply('k', old);
    assert.deepEqual(liveValues(c.node('c').replica.own('k')), ['new']);
    assert.deepEqual(liveValues(await c.node('a').coordinator.execute('k', { op: 'get' }, { r: 3 })), ['new']);
  });

  it('keeps the tombstone when a write lands during the grace', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c'], { tombstoneGraceMs: GRACE_MS });
    await put(c, 'a', 'k', 'v1');
    const ctx = await del(c, 'a', 'k');
    await reapAll(c);
    assert.ok(ctx && ctx.kind === 'opaque');
    await put(c, 'b', 'k', 'v2', ctx.dvv.vv);
    c.clock.advance(GRACE_MS);
    assert.equal(await reapAll(c), 0);
    for (const n of all(c)) assert.deepEqual(liveValues(n.replica.own('k')), ['v2']);
  });

  it('remembers reaped contexts across a restart (storage meta)', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c'], { tombstoneGraceMs: 0 });
    const old = await writeDeleteReap(c);
    const { Replica } = await import('../../src/replication/replica');
    const a = c.node('a');
    const reopened = new Replica(a.id, a.storage, c.config.partitions, { clock: c.clock });
    assert.ok(reopened.reapedContext('k'), 'the context survived');
    await reopened.apply('k', old);
    assert.equal(reopened.own('k'), undefined);
  });

  it('forgets reaped contexts after the memory window', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c'], { tombstoneGraceMs: 0, reapedMemoryMs: 1000 });
    await put(c, 'a', 'k', 'v');
    await del(c, 'a', 'k');
    await reapAll(c);
    await reapAll(c);
    assert.ok(c.node('a').replica.reapedContext('k'));
    c.clock.advance(1001);
    assert.equal(c.node('a').replica.reapedContext('k'), undefined);
  });

  it('validates tomb-check messages: tombstones only, one per key', () => {
    const tomb = { kind: 'opaque', dvv: { siblings: [{ dot: ['a~1', 1], value: null }], vv: { 'a~1': 1 } } };
    const ok = validatePeerMsg({ type: 'tomb-check', keys: ['k'], tombs: [tomb] }, DEFAULT_LIMITS, 3);
    assert.equal(ok.type, 'tomb-check');
    const live = { kind: 'opaque', dvv: { siblings: [{ dot: ['a~1', 1], value: { ct: 't', b: text('x') } }], vv: { 'a~1': 1 } } };
    assert.throws(() => validatePeerMsg({ type: 'tomb-check', keys: ['k'], tombs: [live] }, DEFAULT_LIMITS, 3), BadRequestError);
    assert.throws(() => validatePeerMsg({ type: 'tomb-check', keys: ['k', 'j'], tombs: [tomb] }, DEFAULT_LIMITS, 3), BadRequestError);
  });
});
