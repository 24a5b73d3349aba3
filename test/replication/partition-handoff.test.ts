/**
 * Partition handoff (Dynamo 4.9) in-process: real Coordinators, Replicas and
 * PartitionHandoff engines over MemoryStorage and the in-memory network hub,
 * with a ring that changes under them.
 */
import { strict as assert } from 'node:assert';
import { dvvValues } from '../../src/clock/dvv';
import { DEFAULT_CONFIG, type NodeConfig } from '../../src/core/config';
import { ManualClock } from '../../src/core/clock';
import { asNodeId, type NodeId } from '../../src/core/ids';
import { Hlc } from '../../src/clock/hlc';
import { cartAddDelta, cartItems } from '../../src/crdt/cart';
import { mergeObjects, objectDigest, type StoredObject } from '../../src/crdt/stored-object';
import { partitionOf } from '../../src/ring/partitioner';
import { preferenceList } from '../../src/ring/preference-list';
import { buildRing, type Ring, type RingMember } from '../../src/ring/ring';
import { transferPlan } from '../../src/ring/transfer-plan';
import { MemoryStorage } from '../../src/storage/memory-storage';
import { MemoryHub } from '../../src/transport/memory-network';
import { Coordinator } from '../../src/replication/coordinator';
import { IdMint } from '../../src/replication/id-mint';
import type { PeerMsg } from '../../src/replication/peer-message';
import { Replica } from '../../src/replication/replica';
import { dispatchReplication, isReplicationMsg } from '../../src/replication/peer-dispatch';
import { PartitionHandoff } from '../../src/replication/partition-handoff';
import { Prng } from '../../src/core/prng';

const SEED = Number(process.env.RINGSTORE_SEED ?? Date.now() % 1_000_000);
const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

interface HNode {
  id: NodeId;
  storage: MemoryStorage<StoredObject>;
  replica: Replica;
  coordinator: Coordinator;
  engine: PartitionHandoff;
  network: ReturnType<MemoryHub<PeerMsg>['join']>;
  ids: IdMint;
  ring: Ring;
  /** 'epoch' and 'remove-opaque' events, in order. */
  events: string[];
  incoming: Array<{ from: NodeId; type: string; partition: number }>;
}

class HandoffCluster {
  readonly hub: MemoryHub<PeerMsg>;
  readonly nodes = new Map<string, HNode>();
  readonly clock = new ManualClock();
  readonly config: NodeConfig;
  members: RingMember[] = [];

  constructor(ids: string[], opts: { q?: number; dropRate?: number; seed?: number; requestTimeoutMs?: number } = {}) {
    this.hub = new MemoryHub<PeerMsg>({ dropRate: opts.dropRate ?? 0, random: new Prng(opts.seed ?? 1) });
    this.config = { ...DEFAULT_CONFIG, partitions: opts.q ?? 64, requestTimeoutMs: opts.requestTimeoutMs ?? 500 };
    this.members = ids.map((id, i) => ({ id: asNodeId(id), region: 'r1', joinedAtMs: i }));
    const ring = buildRing(this.members, this.config.partitions);
    for (const id of ids) this.addNode(id, ring);
  }

  addNode(raw: string, ring: Ring): HNode {
    const id = asNodeId(raw);
    const network = this.hub.join(id, 'r1');
    const storage = new MemoryStorage<StoredObject>();
    const replica = new Replica(id, storage, this.config.partitions);
    const ids = new IdMint(id, 1);
    const node = { id, storage, replica, ids, ring, network, events: [] as string[], incoming: [] } as unknown as HNode;
    node.coordinator = new Coordinator({
      self: id, selfRegion: 'r1', network, replica, ring: () => node.ring,
      regionOf: () => 'r1', config: this.config, defaultConsistency: 'global',
      clock: this.clock, hlc: new Hlc(this.clock), ids,
    });
    const remove = storage.remove.bind(storage);
    storage.remove = (key: string) => {
      if (storage.get(key)?.kind === 'opaque') node.events.push('remove-opaque');
      return remove(key);
    };
    node.engine = this.engineFor(node);
    network.setHandler((from, msg) => {
      if (isReplicationMsg(msg)) return dispatchReplication(id, msg, replica, node.coordinator);
      if (msg.type === 'handoff-begin' || msg.type === 'handoff-end') {
        node.incoming.push({ from, type: msg.type, partition: msg.partition });
        return { type: 'handoff-ok' };
      }
      return undefined;
    });
    this.nodes.set(raw, node);
    return node;
  }

  /** A handoff engine for `node`, as a node process would build it at start. */
  engineFor(node: HNode): PartitionHandoff {
    return new PartitionHandoff({
      self: node.id, network: node.network, storage: node.storage, ring: () => node.ring, n: this.config.n,
      batchKeys: 16, streamsMax: 3, timeoutMs: Math.min(200, this.config.requestTimeoutMs),
      usable: (t) => !this.hub.isDown(t),
      beforeDrop: async () => {
        const next = node.ids.currentEpoch() + 1;
        await node.storage.setMeta('epoch', String(next));
        node.ids.advanceEpoch(next);
        node.events.push('epoch');
      },
      nowMs: () => Date.now(),
      retryBaseMs: 10,
      retryMaxMs: 50,
    });
  }

  node(id: string): HNode {
    return this.nodes.get(id)!;
  }

  ring(): Ring {
    return buildRing(this.members, this.config.partitions);
  }

  /** Move every listed node (default: all) to `next`, planning its handoff. */
  switchRing(next: Ring, only?: string[]): void {
    for (const [raw, n] of this.nodes) {
      if (only && !only.includes(raw)) continue;
      const prev = n.ring;
      n.ring = next;
      n.engine.ringChanged(prev, next);
    }
  }

  /** Pump every engine (and sweep orphans) until all are idle or the time is up. */
  async settle(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const n of this.nodes.values()) n.engine.sweepOrphans();
      await Promise.all([...this.nodes.values()].map((n) => n.engine.pump()));
      if ([...this.nodes.values()].every((n) => n.engine.idle() && this.orphanKeys(n).length === 0)) return;
      if (Date.now() > deadline) {
        const left = [...this.nodes.values()].map((n) => `${n.id}: ${n.engine.status().active} active, ${this.orphanKeys(n).length} orphan keys`);
        throw new Error(`handoff did not settle: ${left.join('; ')}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Keys a node holds in partitions it does not replicate under its ring. */
  orphanKeys(n: HNode): string[] {
    return [...n.storage.keys()].filter((k) => !preferenceList(n.ring, partitionOf(k, n.ring.q), this.config.n).includes(n.id));
  }

  /** Check that each key's replicas under `ring` hold an identical copy, and nobody else holds it. */
  assertPlaced(keys: Iterable<string>, ring: Ring): void {
    for (const key of keys) {
      const replicas = preferenceList(ring, partitionOf(key, ring.q), this.config.n);
      const copies = replicas.map((id) => this.node(id).storage.get(key));
      assert.ok(copies.every((c) => c !== undefined), `${key} missing on ${replicas.filter((_, i) => !copies[i]).join(',')} (replicas ${replicas})`);
      const digests = new Set(copies.map((c) => objectDigest(c!)));
      assert.equal(digests.size, 1, `${key}: replicas differ`);
      for (const [raw, n] of this.nodes) {
        if (!replicas.includes(n.id)) assert.equal(n.storage.get(key), undefined, `${key} still on ${raw}, which does not replicate it`);
      }
    }
  }
}

async function put(c: HandoffCluster, via: string, key: string, value: string): Promise<void> {
  await c.node(via).coordinator.execute(key, { op: 'put', ct: 'text/plain', body: text(value), context: {} });
}

function opaqueValues(obj: StoredObject | null | undefined): string[] {
  assert.ok(obj && obj.kind === 'opaque', 'an opaque object');
  return dvvValues(obj.dvv).filter((v): v is NonNullable<typeof v> => v !== null).map((v) => Buffer.from(v.b).toString()).sort();
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i + 1}`);

describe(`replication/partition-handoff (Dynamo 4.9; seed ${SEED})`, function () {
  this.timeout(30_000);

  it('moves only the partitions a joining node takes, and leaves every key on exactly its new replicas', async () => {
    const c = new HandoffCluster(names(5));
    const keys: string[] = [];
    for (let i = 0; i < 400; i++) {
      const key = `k${i}`;
      keys.push(key);
      if (i % 3 === 0) await c.node(`n${1 + (i % 5)}`).coordinator.execute(key, { op: 'cart', action: 'add', item: `sku${i}`, qty: 1 });
      else await put(c, `n${1 + (i % 5)}`, key, `v${i}`);
    }
    const before = c.ring();
    c.members.push({ id: asNodeId('n6'), region: 'r1', joinedAtMs: 100 });
    const after = c.ring();
    c.addNode('n6', before);
    c.switchRing(after);
    await c.settle();
    c.assertPlaced(keys, after);

    const moved = new Set(transferPlan(before, after, 3).map((t) => t.partition as number));
    const touched = new Set(c.node('n6').incoming.map((e) => e.partition));
    assert.deepEqual([...touched].sort((a, b) => a - b), [...moved].sort((a, b) => a - b), 'n6 received exactly the partitions the plan moves');
    const owned = after.owners.filter((o) => o === 'n6').length;
    assert.ok(Math.abs(owned - 64 / 6) <= 1, `n6 owns ${owned} of 64 partitions`);
    for (const [raw, n] of c.nodes) {
      const st = n.engine.status();
      assert.equal(st.active, 0, `${raw} idle`);
      const dropped = st.partitions.filter((p) => p.drop).length;
      if (raw !== 'n6') assert.ok(dropped > 0 || st.total === 0, `${raw} dropped what it no longer replicates`);
    }
    for (let i = 0; i < 400; i += 3) {
      const got = await c.node('n2').coordinator.execute(`k${i}`, { op: 'get' }, { r: 3 });
      assert.ok(got?.kind === 'cart', `k${i}: ${JSON.stringify(got)?.slice(0, 200)}`);
      assert.deepEqual(cartItems(got.c), { [`sku${i}`]: 1 });
    }
  });

  it('advances the id epoch before it drops opaque records, so dropped dots are never minted again (kv679)', async () => {
    const c = new HandoffCluster(names(4));
    for (let i = 0; i < 200; i++) await put(c, `n${1 + (i % 4)}`, `k${i}`, `v${i}`);
    const before = c.ring();
    c.members.push({ id: asNodeId('n5'), region: 'r1', joinedAtMs: 100 });
    const after = c.ring();
    c.addNode('n5', before);
    c.switchRing(after);
    await c.settle();
    let checked = 0;
    for (const raw of names(4)) {
      const n = c.node(raw);
      const firstRemove = n.events.indexOf('remove-opaque');
      if (firstRemove < 0) continue;
      assert.ok(n.events.indexOf('epoch') >= 0 && n.events.indexOf('epoch') < firstRemove, `${raw}: ${n.events.slice(0, 5)}`);
      assert.equal(n.storage.getMeta('epoch'), String(n.ids.currentEpoch()), 'the epoch is durable');
      checked++;
    }
    assert.ok(checked > 0, 'some node dropped opaque records');
    // Move back: a node that dropped a key and replicates it again writes it under a fresh actor.
    const dropper = names(4).find((r) => c.node(r).events.includes('remove-opaque'))!;
    const key = [...Array(200).keys()].map((i) => `k${i}`).find((k) =>
      preferenceList(before, partitionOf(k, 64), 3).includes(asNodeId(dropper)) &&
      !preferenceList(after, partitionOf(k, 64), 3).includes(asNodeId(dropper)))!;
    assert.equal(c.node(dropper).storage.get(key), undefined);
    c.members.pop();
    c.switchRing(before);
    await c.settle();
    c.assertPlaced([key], before);
    const obj = await c.node(dropper).coordinator.execute(key, { op: 'put', ct: 'text/plain', body: text('again'), context: {} });
    assert.ok(obj?.kind === 'opaque');
    const actors = Object.keys(obj.dvv.vv).filter((a) => a.startsWith(`${dropper}~`));
    assert.ok(actors.length >= 2 || !actors.includes(`${dropper}~1`), `old and new epochs both named (${actors})`);
    assert.deepEqual(opaqueValues(await c.node('n1').coordinator.execute(key, { op: 'get' }, { r: 3 })), ['again', key.replace('k', 'v')].sort());
  });

  it('loses no acknowledged write made while the ring changes under the writers', async () => {
    const c = new HandoffCluster(names(5));
    const acked = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      await put(c, `n${1 + (i % 5)}`, `pre${i}`, `p${i}`);
      acked.set(`pre${i}`, `p${i}`);
    }
    const before = c.ring();
    c.members.push({ id: asNodeId('n6'), region: 'r1', joinedAtMs: 100 });
    const after = c.ring();
    c.addNode('n6', before);
    let stop = false;
    const rnd = new Prng(SEED);
    const writers = [1, 2, 3].map(async (w) => {
      for (let i = 0; !stop; i++) {
        const key = `w${w}-${i}`;
        const via = `n${1 + rnd.int(6)}`;
        try {
          await put(c, via, key, `x${i}`);
          acked.set(key, `x${i}`);
        } catch {
          // A write that failed was not acknowledged: it need not survive.
        }
        await new Promise((r) => setImmediate(r));
      }
    });
    // The ring reaches the nodes one by one, as gossip would deliver it.
    for (const raw of ['n6', 'n3', 'n1', 'n5', 'n2', 'n4']) {
      c.switchRing(after, [raw]);
      void c.node(raw).engine.pump();
      await new Promise((r) => setTimeout(r, 15));
    }
    await c.settle();
    while (acked.size < 350) await new Promise((r) => setTimeout(r, 10));
    stop = true;
    await Promise.all(writers);
    await c.settle();
    for (const [key, value] of acked) {
      assert.deepEqual(opaqueValues(await c.node('n4').coordinator.execute(key, { op: 'get' }, { r: 3 })), [value], key);
    }
    c.assertPlaced(acked.keys(), after);
  });

  it('hands everything off when a node leaves, and the leaver ends with no keys', async () => {
    const c = new HandoffCluster(names(5));
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    for (const [i, k] of keys.entries()) await put(c, `n${1 + (i % 5)}`, k, `v${i}`);
    assert.ok(c.node('n3').storage.size() > 0);
    c.members = c.members.filter((m) => m.id !== 'n3');
    c.switchRing(c.ring());
    await c.settle();
    assert.equal(c.node('n3').storage.size(), 0);
    c.assertPlaced(keys, c.ring());
  });

  it('keeps data while a new replica is down, and moves it once the replica is back', async () => {
    const c = new HandoffCluster(names(4));
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    for (const [i, k] of keys.entries()) await put(c, `n${1 + (i % 4)}`, k, `v${i}`);
    const before = c.ring();
    c.members.push({ id: asNodeId('n5'), region: 'r1', joinedAtMs: 100 });
    const after = c.ring();
    c.addNode('n5', before);
    c.hub.setDown(asNodeId('n5'), true);
    const sizes = names(4).map((r) => c.node(r).storage.size());
    c.switchRing(after);
    for (let i = 0; i < 5; i++) await Promise.all(names(4).map((r) => c.node(r).engine.pump()));
    assert.deepEqual(names(4).map((r) => c.node(r).storage.size()), sizes, 'nothing dropped while n5 is down');
    const waiting = c.node('n1').engine.status().partitions.filter((p) => p.targets.some((t) => t.id === 'n5'));
    assert.ok(waiting.length > 0 && waiting.every((p) => p.state === 'waiting'), 'streams to n5 wait');
    c.hub.setDown(asNodeId('n5'), false);
    await c.settle();
    c.assertPlaced(keys, after);
  });

  it('finishes over a lossy network: lost puts are retried, nothing is lost', async () => {
    const c = new HandoffCluster(names(4), { dropRate: 0.03, seed: SEED, requestTimeoutMs: 150 });
    const keys: string[] = [];
    for (let i = 0; i < 100; i++) {
      try {
        await put(c, `n${1 + (i % 4)}`, `k${i}`, `v${i}`);
        keys.push(`k${i}`);
      } catch {
        // lost quorum under drops: not acknowledged
      }
    }
    // Read repair at r=3 first, so every old replica holds every key before the move.
    for (const k of keys) await c.node('n1').coordinator.execute(k, { op: 'get' }, { r: 3 }).catch(() => null);
    const before = c.ring();
    c.members.push({ id: asNodeId('n5'), region: 'r1', joinedAtMs: 100 });
    const after = c.ring();
    c.addNode('n5', before);
    c.switchRing(after);
    await c.settle(25_000);
    for (const k of keys) {
      const replicas = preferenceList(after, partitionOf(k, 64), 3);
      const merged = replicas.map((id) => c.node(id).storage.get(k)).filter((o): o is StoredObject => o !== undefined);
      assert.ok(merged.length > 0, `${k} survives`);
      // A put whose forward was lost may have been coordinated twice: the same value as two siblings.
      assert.deepEqual([...new Set(opaqueValues(merged.reduce(mergeObjects)))], [k.replace('k', 'v')]);
      for (const raw of names(5)) {
        if (!replicas.includes(asNodeId(raw))) assert.equal(c.node(raw).storage.get(k), undefined, `${k} left on ${raw}`);
      }
    }
  });

  it('hands on a key that reaches a node after it dropped the partition (a coordinator with a stale ring)', async () => {
    const c = new HandoffCluster(names(4));
    const before = c.ring();
    c.members.push({ id: asNodeId('n5'), region: 'r1', joinedAtMs: 100 });
    const after = c.ring();
    c.addNode('n5', before);
    c.switchRing(after);
    await c.settle();
    // Find a node and a key it replicated under the old ring but not the new one.
    const plan = transferPlan(before, after, 3).find((t) => t.removed.length > 0)!;
    const old = plan.removed[0]!;
    let key = '';
    for (let i = 0; !key; i++) if (partitionOf(`late${i}`, 64) === plan.partition) key = `late${i}`;
    // A coordinator still on the old ring writes there.
    await c.node(old).replica.apply(key, { kind: 'cart', c: cartAddDelta('sku', 2, `${old}~0`, 1) });
    assert.ok(c.node(old).storage.get(key));
    await c.settle();
    c.assertPlaced([key], after);
  });

  it('resumes after a restart from its saved plan', async () => {
    const c = new HandoffCluster(names(4));
    const keys = Array.from({ length: 120 }, (_, i) => `k${i}`);
    for (const [i, k] of keys.entries()) await put(c, `n${1 + (i % 4)}`, k, `v${i}`);
    const before = c.ring();
    c.members.push({ id: asNodeId('n5'), region: 'r1', joinedAtMs: 100 });
    const after = c.ring();
    c.addNode('n5', before);
    c.hub.setDown(asNodeId('n5'), true);
    c.switchRing(after);
    const saved = new Map(names(4).map((r) => [r, c.node(r).engine.snapshot()]));
    assert.ok([...saved.values()].some((s) => Object.keys(s).length > 0));
    // "Restart" every old node: fresh engines that know only the saved plan and today's ring.
    for (const r of names(4)) {
      const n = c.node(r);
      const fresh = c.engineFor(n);
      fresh.restore(saved.get(r)!);
      assert.deepEqual(fresh.snapshot(), saved.get(r));
      n.engine = fresh;
    }
    c.hub.setDown(asNodeId('n5'), false);
    await c.settle();
    c.assertPlaced(keys, after);
  });
});
