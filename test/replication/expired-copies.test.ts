/**
 * Expired copies stay dead (issue 14 part 3; DESIGN.md "Expired sessions are
 * never handed to another replica"): a replica refuses to store a session
 * copy whose merged expiry has passed by its clock, and partition handoff
 * (Dynamo 4.9) ships none. Hinted handoff (Dynamo 4.6) sends a hint past
 * its own expiry, since a touch may have extended the session at the owner,
 * and the owner's merge decides (hinted-handoff.test.ts). Anti-entropy's
 * own case is in anti-entropy.test.ts ("does not copy an expired session
 * back to a replica that swept it").
 */
import { strict as assert } from 'node:assert';
import { ManualClock } from '../../src/core/clock';
import { asNodeId, type NodeId } from '../../src/core/ids';
import { emptySession, sessionDestroy, sessionWrite } from '../../src/crdt/session';
import type { StoredObject } from '../../src/crdt/stored-object';
import { partitionOf } from '../../src/ring/partitioner';
import { preferenceList } from '../../src/ring/preference-list';
import { buildRing } from '../../src/ring/ring';
import { MemoryStorage } from '../../src/storage/memory-storage';
import { MemoryHub } from '../../src/transport/memory-network';
import { HintedHandoff } from '../../src/replication/hinted-handoff';
import { PartitionHandoff } from '../../src/replication/partition-handoff';
import type { PeerMsg } from '../../src/replication/peer-message';
import { Replica } from '../../src/replication/replica';
import { exchangePartition } from '../../src/replication/anti-entropy/partition-exchange';
import { PartitionTrees } from '../../src/replication/anti-entropy/partition-trees';
import { ReplicationCluster } from './replication-harness';

function session(nowMs: number, ttlMs: number, field = 'u'): StoredObject {
  return { kind: 'session', s: sessionWrite(emptySession(), { set: { [field]: 1 }, expiresAtMs: nowMs + ttlMs }, nowMs, 'w', nowMs) };
}

describe('replication: expired session copies stay dead', () => {
  it('a replica refuses an expired session copy, and acknowledges it all the same', async () => {
    const clock = new ManualClock();
    const storage = new MemoryStorage<StoredObject>();
    const replica = new Replica(asNodeId('a'), storage, 64, { clock });
    const now = clock.nowMs();
    await replica.apply('old', session(now - 10_000, 5_000));
    assert.equal(storage.get('old'), undefined);
    assert.equal(replica.stats.refusedExpired, 1);
    await replica.apply('live', session(now, 5_000));
    assert.ok(storage.get('live'), 'a live session is stored');
    // A destroyed session's tombstone lives past its expiry (SESSION_TOMBSTONE_GRACE_MS): still stored.
    await replica.apply('gone', { kind: 'session', s: sessionDestroy(emptySession(), now - 1000) });
    assert.ok(storage.get('gone'), 'a destroy tombstone within its grace is stored');
  });

  it('a live local copy merged with an expired one stays (the merge keeps the later expiry)', async () => {
    const clock = new ManualClock();
    const storage = new MemoryStorage<StoredObject>();
    const replica = new Replica(asNodeId('a'), storage, 64, { clock });
    const now = clock.nowMs();
    await replica.apply('k', session(now, 60_000, 'x'));
    await replica.apply('k', session(now - 100_000, 1_000, 'y'));
    const held = storage.get('k');
    assert.ok(held && held.kind === 'session');
    assert.deepEqual(Object.keys(held.s.fields).sort(), ['x', 'y']);
    assert.equal(replica.stats.refusedExpired, 0);
  });

  it('hinted handoff sends an expired hint once, and the owner acknowledges it without storing it', async () => {
    const c = new ReplicationCluster(['a', 'b', 'c']);
    const now = c.clock.nowMs();
    const a = c.node('a');
    await a.replica.holdHint(c.node('c').id, 'sess/expired', session(now, 1_000));
    await a.replica.holdHint(c.node('c').id, 'sess/live', session(now, 60_000));
    c.clock.advance(5_000);
    const [res] = await a.handoff.tick();
    assert.deepEqual({ delivered: res!.delivered, failed: res!.failed }, { delivered: 2, failed: 0 });
    assert.equal(a.replica.hintCount(), 0, 'both hints are gone');
    assert.equal(c.node('c').storage.get('sess/expired'), undefined, 'c refused the expired one');
    assert.equal(c.node('c').replica.stats.refusedExpired, 1);
    assert.ok(c.node('c').storage.get('sess/live'));
  });

  it('partition handoff does not stream an expired session, and drops it with the partition', async () => {
    const clock = new ManualClock();
    const hub = new MemoryHub<PeerMsg>();
    const ids = ['a', 'b', 'c', 'd'].map(asNodeId);
    const ring = buildRing(ids.map((id, i) => ({ id, region: 'r1', joinedAtMs: i })), 64);
    // A partition that a does not replicate: a holds an orphan copy of it.
    const key = Array.from({ length: 500 }, (_, i) => `sess/${i}`).find((k) => !preferenceList(ring, partitionOf(k, 64), 3).includes(ids[0]!))!;
    const p = partitionOf(key, 64);
    const other = Array.from({ length: 5000 }, (_, i) => `sess/x${i}`).find((k) => partitionOf(k, 64) === p)!;
    const stores = new Map<NodeId, MemoryStorage<StoredObject>>();
    const received: string[] = [];
    for (const id of ids) {
      const storage = new MemoryStorage<StoredObject>();
      stores.set(id, storage);
      const replica = new Replica(id, storage, 64, { clock });
      const net = hub.join(id, 'r1');
      net.setHandler(async (_from, msg) => {
        if (msg.type === 'put') {
          received.push(`${id}:${msg.key}`);
          await replica.apply(msg.key, msg.obj);
          return { type: 'put-ok' };
        }
        return { type: 'handoff-ok' };
      });
    }
    const a = stores.get(ids[0]!)!;
    const now = clock.nowMs();
    await a.put(key, session(now, 1_000), { partition: p, expiresAtMs: now + 1_000 });
    await a.put(other, session(now, 60_000), { partition: p, expiresAtMs: now + 60_000 });
    clock.advance(5_000);
    const engine = new PartitionHandoff({
      self: ids[0]!, network: hub.join(asNodeId('a2'), 'r1'), storage: a, ring: () => ring, n: 3,
      batchKeys: 16, streamsMax: 2, timeoutMs: 500, usable: () => true, beforeDrop: async () => undefined,
      nowMs: () => clock.nowMs(),
    });
    engine.sweepOrphans();
    await engine.pump();
    assert.ok(received.length >= 3, `the live key went to the 3 replicas (${received.join(' ')})`);
    assert.ok(received.every((r) => r.endsWith(`:${other}`)), `only the live key was sent: ${received.join(' ')}`);
    assert.equal(a.get(key), undefined, 'the expired copy went with the partition');
    assert.equal(a.get(other), undefined, 'the handed-off copy was dropped');
    const st = engine.status().partitions.find((x) => x.partition === p)!;
    assert.ok(st.targets.every((t) => t.keysExpired === 1));
  });

  it('anti-entropy leaves an expired copy alone on both sides', async () => {
    const clock = new ManualClock();
    const mk = (): { storage: MemoryStorage<StoredObject>; replica: Replica } => {
      const storage = new MemoryStorage<StoredObject>();
      return { storage, replica: new Replica(asNodeId('x'), storage, 64, { clock }) };
    };
    const mine = mk();
    const theirs = mk();
    const now = clock.nowMs();
    await mine.storage.put('sess/e', session(now, 1_000), { partition: partitionOf('sess/e', 64), expiresAtMs: now + 1_000 });
    clock.advance(5_000);
    const shape = { fanout: 4, depth: 2 };
    const trees = new PartitionTrees(mine.storage, { partitions: 64, shape, rebuildMs: 1e9 });
    const emptyTrees = new PartitionTrees(theirs.storage, { partitions: 64, shape, rebuildMs: 1e9 });
    const p = partitionOf('sess/e', 64);
    const pushed: string[] = [];
    const r = await exchangePartition(trees.tree(p, clock.nowMs()), mine.replica, {
      tree: async (q) => (await import('../../src/replication/anti-entropy/tree-compare')).answerTreeQuery(emptyTrees.tree(p, clock.nowMs()), q),
      fetch: async () => null,
      push: async (k) => { pushed.push(k); },
    }, { nowMs: clock.nowMs(), keysMax: 100 });
    assert.equal(r.expired, 1);
    assert.deepEqual(pushed, []);
  });
});
