/**
 * Anti-entropy between in-process replicas (Dynamo 4.7): the real Replica,
 * Coordinator and storage of replication-harness.ts, hash trees per
 * partition kept by PartitionTrees, and exchanges over an in-memory network
 * carrying the real peer messages ('ae-level', 'ae-keys', 'get', 'put').
 */
import { strict as assert } from 'node:assert';
import { asActorId, asPartitionId, type NodeId, type PartitionId } from '../../src/core/ids';
import { dvvUpdate, emptyDvv } from '../../src/clock/dvv';
import { emptyVv } from '../../src/clock/version-vector';
import { emptySession, sessionWrite } from '../../src/crdt/session';
import { objectDigest, type OpaqueValue, type StoredObject } from '../../src/crdt/stored-object';
import { partitionOf } from '../../src/ring/partitioner';
import { MemoryHub, type MemoryNetwork } from '../../src/transport/memory-network';
import type { PeerMsg } from '../../src/replication/peer-message';
import { dispatchReplication, isReplicationMsg } from '../../src/replication/peer-dispatch';
import { answerTreeQueryMsg, isTreeQueryMsg, networkPeer } from '../../src/replication/anti-entropy/anti-entropy-peer';
import { exchangePartition, type ExchangeResult } from '../../src/replication/anti-entropy/partition-exchange';
import { PartitionTrees } from '../../src/replication/anti-entropy/partition-trees';
import { ReplicationCluster, type TestNode } from './replication-harness';

const SHAPE = { fanout: 16, depth: 2 };
const REBUILD_MS = 60_000;
const IDS = ['a', 'b', 'c'];

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const body = (s: string): OpaqueValue => ({ ct: 'text/plain', b: text(s) });
const blob = (s: string, actor: string): StoredObject => ({ kind: 'opaque', dvv: dvvUpdate(emptyDvv<OpaqueValue>(), emptyVv(), body(s), asActorId(actor)) });

/** The cluster of the harness plus, per node, its trees and an endpoint on an anti-entropy network. */
class AeCluster {
  readonly c: ReplicationCluster;
  readonly trees = new Map<string, PartitionTrees>();
  readonly nets = new Map<string, MemoryNetwork<PeerMsg>>();
  bytes = 0;

  constructor() {
    this.c = new ReplicationCluster(IDS, { q: 8 });
    const hub = new MemoryHub<PeerMsg>();
    for (const id of IDS) {
      const node = this.c.node(id);
      const trees = new PartitionTrees(node.storage, { partitions: this.c.config.partitions, shape: SHAPE, rebuildMs: REBUILD_MS });
      node.replica.onChange((key) => trees.noteChange(key));
      const net = hub.join(node.id, node.region);
      net.setHandler((_from, msg) => {
        if (isTreeQueryMsg(msg)) return answerTreeQueryMsg(msg, this.c.config.partitions, SHAPE, (p) => trees.tree(p, this.c.clock.nowMs()));
        if (isReplicationMsg(msg)) return dispatchReplication(node.id, msg, node.replica, node.coordinator);
        return undefined;
      });
      this.trees.set(id, trees);
      this.nets.set(id, net);
    }
  }

  node(id: string): TestNode {
    return this.c.node(id);
  }

  async exchange(from: string, to: string, p: PartitionId): Promise<ExchangeResult> {
    const peer = networkPeer(this.nets.get(from)!, to as NodeId, {
      partition: p, shape: SHAPE, timeoutMs: 1000, onBytes: (b) => { this.bytes += b; },
    });
    const nowMs = this.c.clock.nowMs();
    return exchangePartition(this.trees.get(from)!.tree(p, nowMs), this.node(from).replica, peer, { nowMs });
  }

  /** One exchange per partition per pair of replicas; sums the results. */
  async exchangeAll(): Promise<{ differing: number; repaired: number; expired: number }> {
    const sum = { differing: 0, repaired: 0, expired: 0 };
    for (let p = 0; p < this.c.config.partitions; p++) {
      for (const [x, y] of [['a', 'b'], ['b', 'c'], ['c', 'a']] as const) {
        const r = await this.exchange(x, y, asPartitionId(p));
        sum.differing += r.differing;
        sum.repaired += r.repaired;
        sum.expired += r.expired;
      }
    }
    return sum;
  }

  async put(key: string, value: string, context = {}): Promise<StoredObject | null> {
    return this.node('a').coordinator.execute(key, { op: 'put', ct: 'text/plain', body: text(value), context });
  }

  /** Every key any replica holds, with the digest of each replica's copy (or null). */
  states(): Map<string, Array<string | null>> {
    const keys = new Set<string>();
    for (const id of IDS) for (const k of this.node(id).storage.keys()) keys.add(k);
    const out = new Map<string, Array<string | null>>();
    for (const k of keys) out.set(k, IDS.map((id) => { const o = this.node(id).storage.get(k); return o ? objectDigest(o) : null; }));
    return out;
  }

  assertConverged(): void {
    for (const [k, digests] of this.states()) {
      assert.ok(digests[0] !== null && digests.every((d) => d === digests[0]), `replicas differ on ${k}: ${JSON.stringify(digests)}`);
    }
  }
}

/** Let the coordinator's writes to the third replica (after W=2 acks) land. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('replication/anti-entropy (Dynamo 4.7, replica synchronization)', () => {
  it('costs one root hash per partition when the replicas agree', async () => {
    const ae = new AeCluster();
    for (let i = 0; i < 200; i++) await ae.put(`k${i}`, `v${i}`);
    await settle();
    ae.assertConverged();
    const sum = await ae.exchangeAll();
    assert.deepEqual(sum, { differing: 0, repaired: 0, expired: 0 });
    const exchanges = 8 * 3;
    assert.ok(ae.bytes / exchanges < 120, `${ae.bytes} bytes for ${exchanges} exchanges of equal trees`);
  });

  it('repairs writes that reached one replica only, both ways, concurrent versions included', async () => {
    const ae = new AeCluster();
    for (let i = 0; i < 100; i++) await ae.put(`k${i}`, `v${i}`);
    await settle();
    // Trees exist before the divergence: it must reach them through Replica.apply.
    await ae.exchangeAll();
    for (let i = 0; i < 30; i++) await ae.node('a').replica.apply(`only-a-${i}`, blob(`a${i}`, 'x1'));
    for (let i = 0; i < 30; i++) await ae.node('c').replica.apply(`only-c-${i}`, blob(`c${i}`, 'x3'));
    // The same key written concurrently on two replicas, neither write seen by the other.
    for (let i = 0; i < 10; i++) {
      await ae.node('b').replica.apply(`k${i}`, blob(`b-side-${i}`, 'x2'));
      await ae.node('c').replica.apply(`k${i}`, blob(`c-side-${i}`, 'x3'));
    }
    const before = ae.bytes;
    const sum = await ae.exchangeAll();
    assert.ok(sum.repaired >= 70, `repaired ${sum.repaired}`);
    ae.assertConverged();
    // Concurrent versions end as siblings everywhere (the DVV merge), none lost.
    const k0 = ae.node('a').storage.get('k0')!;
    assert.ok(k0.kind === 'opaque' && k0.dvv.siblings.length === 3, 'original write plus both concurrent ones');
    assert.equal(ae.node('b').storage.size(), 160);
    const again = await ae.exchangeAll();
    assert.equal(again.differing, 0, 'a second pass finds nothing left to repair');
    assert.ok(ae.bytes > before);
  });

  it('heals keys deleted or rolled back directly in one replica\'s storage once its stale tree is rebuilt', async () => {
    const ae = new AeCluster();
    const older = new Map<string, StoredObject>();
    for (let i = 0; i < 200; i++) {
      const first = await ae.put(`k${i}`, `v${i}`);
      if (i < 10) {
        assert.ok(first && first.kind === 'opaque');
        older.set(`k${i}`, first);
        await ae.put(`k${i}`, `v${i}-newer`, first.dvv.vv);
      }
    }
    await settle();
    await ae.exchangeAll(); // every tree is built now
    const c = ae.node('c');
    // Bypass the replica: storage changed under the trees (a disk-level loss, a bad restore).
    for (let i = 10; i < 40; i++) await c.storage.remove(`k${i}`);
    for (const [k, obj] of older) await c.storage.put(k, obj, { partition: partitionOf(k, 8), expiresAtMs: null });
    assert.equal(c.storage.size(), 170);

    // c's trees still describe the old storage, so nothing looks different yet.
    const blind = await ae.exchangeAll();
    assert.equal(blind.differing, 0);

    ae.c.clock.advance(REBUILD_MS);
    const healed = await ae.exchangeAll();
    assert.equal(healed.repaired, 40, '30 deleted and 10 rolled-back keys');
    ae.assertConverged();
    assert.equal(c.storage.size(), 200);
    const k0 = c.storage.get('k0')!;
    assert.ok(k0.kind === 'opaque' && k0.dvv.siblings.length === 1 && Buffer.from(k0.dvv.siblings[0]!.value!.b).toString() === 'v0-newer');
  });

  it('keeps trees current on write: a key written then removed through the replica is tracked', async () => {
    const ae = new AeCluster();
    await ae.put('k', 'v');
    await settle();
    await ae.exchangeAll();
    const p = partitionOf('gone', 8);
    const trees = ae.trees.get('a')!;
    assert.ok(trees.has(p));
    await ae.node('a').replica.apply('gone', blob('x', 'x1'));
    assert.equal(trees.tree(p, ae.c.clock.nowMs()).itemHashOf('gone') !== undefined, true);
    await ae.node('a').replica.remove('gone');
    assert.equal(trees.tree(p, ae.c.clock.nowMs()).itemHashOf('gone'), undefined);
    assert.equal(trees.stats().rebuilds, 0);
  });

  it('does not copy an expired session back to a replica that swept it', async () => {
    const ae = new AeCluster();
    const now = ae.c.clock.nowMs();
    const session: StoredObject = { kind: 'session', s: sessionWrite(emptySession(), { set: { u: 1 }, expiresAtMs: now + 1000 }, now, 'n0', now) };
    await ae.node('a').replica.apply('sess', session);
    await ae.node('b').replica.apply('sess', session);
    ae.c.clock.advance(5000);
    const sum = await ae.exchangeAll();
    assert.ok(sum.expired >= 1);
    assert.equal(ae.node('c').storage.get('sess'), undefined);
  });

  it('refuses a query for a tree of another shape', async () => {
    const ae = new AeCluster();
    const peer = networkPeer(ae.nets.get('a')!, 'b' as NodeId, { partition: asPartitionId(0), shape: { fanout: 4, depth: 2 }, timeoutMs: 1000 });
    await assert.rejects(peer.tree({ kind: 'level', level: 0, parents: [] }), { code: 'RS_ERR_BAD_REQUEST' });
  });
});
