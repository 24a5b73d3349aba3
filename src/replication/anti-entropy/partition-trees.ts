/**
 * The hash trees of one node, one per partition it holds (Dynamo 4.7: "each
 * node maintains a separate Merkle tree for each key range"), kept in step
 * with its storage.
 *
 * - Built lazily: a partition's tree is built from storage the first time an
 *   exchange needs it (at startup nothing is hashed, so a restart costs
 *   nothing until anti-entropy runs).
 * - Kept up to date on write: every change the replica makes (Replica.apply,
 *   Replica.remove) is reported through noteChange(), which marks the key
 *   dirty in its partition's tree; the dirty keys are rehashed from storage
 *   just before the tree is used. Hashing at exchange time rather than in
 *   the write path keeps SHA-1 of the object off the latency of writes, and
 *   a key written many times between two exchanges is hashed once.
 * - Rebuilt when stale: a tree older than `rebuildMs` is rebuilt from
 *   storage on its next use, as riak_core expires its trees, so a change
 *   that bypassed the replica (a sweep or a repair tool writing storage
 *   directly) is noticed within that bound.
 *
 * Pure: time comes in as nowMs; storage is read through a small interface.
 */
import { assert } from '../../core/assert';
import type { PartitionId } from '../../core/ids';
import { objectDigest, type StoredObject } from '../../crdt/stored-object';
import { partitionOf } from '../../ring/partitioner';
import { HashTree, type TreeShape } from './hash-tree';

/** What the trees read from storage: a node's own copies, not hints. */
export interface TreeSource {
  get(key: string): StoredObject | undefined;
  keysInPartition(partition: PartitionId): Iterable<string>;
}

export interface PartitionTreesOptions {
  /** Q, to map keys to partitions. */
  partitions: number;
  shape: TreeShape;
  /** Age after which a tree is rebuilt from storage on its next use. */
  rebuildMs: number;
}

export interface PartitionTreesStats {
  /** Trees currently held. */
  trees: number;
  /** Keys in those trees. */
  keys: number;
  /** Trees built from storage since start (first builds and rebuilds). */
  builds: number;
  /** Of those, rebuilds of a stale tree. */
  rebuilds: number;
  /** Dirty keys rehashed since start. */
  rehashed: number;
}

interface Entry {
  tree: HashTree;
  builtAtMs: number;
  dirty: Set<string>;
}

export class PartitionTrees {
  private readonly entries = new Map<PartitionId, Entry>();
  private builds = 0;
  private rebuilds = 0;
  private rehashed = 0;

  constructor(private readonly source: TreeSource, private readonly opts: PartitionTreesOptions) {
    assert(opts.rebuildMs > 0, 'rebuildMs must be positive');
    new HashTree(opts.shape); // validates the shape early
  }

  get shape(): TreeShape {
    return this.opts.shape;
  }

  /** The replica changed `key` (wrote or removed it). */
  noteChange(key: string): void {
    const e = this.entries.get(partitionOf(key, this.opts.partitions));
    if (e) e.dirty.add(key);
  }

  /** Whether partition `p`'s tree is built (tests, status). */
  has(p: PartitionId): boolean {
    return this.entries.has(p);
  }

  /** Partition `p`'s tree, current with storage as of now. */
  tree(p: PartitionId, nowMs: number): HashTree {
    let e = this.entries.get(p);
    if (e && nowMs - e.builtAtMs >= this.opts.rebuildMs) {
      this.rebuilds++;
      e = undefined;
    }
    if (!e) {
      e = this.build(p, nowMs);
      this.entries.set(p, e);
      return e.tree;
    }
    if (e.dirty.size > 0) {
      for (const key of e.dirty) {
        const obj = this.source.get(key);
        if (obj) e.tree.insert(key, objectDigest(obj));
        else e.tree.remove(key);
      }
      this.rehashed += e.dirty.size;
      e.dirty.clear();
    }
    return e.tree;
  }

  /** Forget partition `p`'s tree (no longer replicated here, or to force a rebuild). */
  drop(p: PartitionId): void {
    this.entries.delete(p);
  }

  /** Forget every tree whose partition `keep` rejects. */
  retain(keep: (p: PartitionId) => boolean): void {
    for (const p of [...this.entries.keys()]) if (!keep(p)) this.entries.delete(p);
  }

  stats(): PartitionTreesStats {
    let keys = 0;
    for (const e of this.entries.values()) keys += e.tree.size;
    return { trees: this.entries.size, keys, builds: this.builds, rebuilds: this.rebuilds, rehashed: this.rehashed };
  }

  private build(p: PartitionId, nowMs: number): Entry {
    const tree = new HashTree(this.opts.shape);
    for (const key of this.source.keysInPartition(p)) {
      const obj = this.source.get(key);
      if (obj) tree.insert(key, objectDigest(obj));
    }
    this.builds++;
    return { tree, builtAtMs: nowMs, dirty: new Set() };
  }
}
