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
 * - Built in slices when the caller can wait: `prepare()` hashes
 *   `sliceKeys` keys per turn and yields in between, so a partition of a
 *   node holding a million sessions (~4,000 keys, ~170 ms of hashing) never
 *   holds the event loop for more than one slice. Changes made while it
 *   builds are noted as dirty and rehashed when the tree is next used, so
 *   the result equals a tree built in one go at the end.
 *
 * Pure: time comes in as nowMs (or a now() function for builds that span
 * turns); storage is read through a small interface; yielding is injected.
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
  /** Keys hashed per turn by prepare() (default 64: ~1.5 ms of SHA-1 over canonical forms). */
  sliceKeys?: number;
}

/** Lets the event loop run (the node: setImmediate; tests: a resolved promise). */
export type YieldTurn = () => Promise<void>;

const SLICE_KEYS_DEFAULT = 64;

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

/** A tree being built by prepare(): writes meanwhile land in `dirty`. */
interface Building {
  tree: HashTree;
  dirty: Set<string>;
  done: Promise<void>;
}

export class PartitionTrees {
  private readonly entries = new Map<PartitionId, Entry>();
  private readonly building = new Map<PartitionId, Building>();
  private readonly sliceKeys: number;
  private builds = 0;
  private rebuilds = 0;
  private rehashed = 0;

  constructor(private readonly source: TreeSource, private readonly opts: PartitionTreesOptions) {
    assert(opts.rebuildMs > 0, 'rebuildMs must be positive');
    this.sliceKeys = opts.sliceKeys ?? SLICE_KEYS_DEFAULT;
    assert(Number.isInteger(this.sliceKeys) && this.sliceKeys > 0, 'sliceKeys must be a positive integer');
    new HashTree(opts.shape); // validates the shape early
  }

  get shape(): TreeShape {
    return this.opts.shape;
  }

  /** The replica changed `key` (wrote or removed it). */
  noteChange(key: string): void {
    const p = partitionOf(key, this.opts.partitions);
    this.entries.get(p)?.dirty.add(key);
    this.building.get(p)?.dirty.add(key);
  }

  /**
   * Make partition `p`'s tree present and not stale, building it in slices
   * of `sliceKeys` keys with `yieldTurn()` between them. A later tree(p, t)
   * with t - now() < rebuildMs then returns at once (only dirty keys are
   * rehashed). Concurrent calls for one partition share one build.
   */
  async prepare(p: PartitionId, now: () => number, yieldTurn: YieldTurn): Promise<void> {
    const e = this.entries.get(p);
    if (e && now() - e.builtAtMs < this.opts.rebuildMs) return;
    let b = this.building.get(p);
    if (!b) {
      if (e) this.rebuilds++;
      const fresh: Building = { tree: new HashTree(this.opts.shape), dirty: new Set(), done: Promise.resolve() };
      // Registered before the first key is read, so every change from then on is noted.
      this.building.set(p, fresh);
      fresh.done = this.buildSliced(p, fresh, now, yieldTurn);
      b = fresh;
    }
    await b.done;
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
    this.building.delete(p);
  }

  /** Forget every tree whose partition `keep` rejects. */
  retain(keep: (p: PartitionId) => boolean): void {
    for (const p of [...this.entries.keys()]) if (!keep(p)) this.entries.delete(p);
    for (const p of [...this.building.keys()]) if (!keep(p)) this.building.delete(p);
  }

  stats(): PartitionTreesStats {
    let keys = 0;
    for (const e of this.entries.values()) keys += e.tree.size;
    return { trees: this.entries.size, keys, builds: this.builds, rebuilds: this.rebuilds, rehashed: this.rehashed };
  }

  private async buildSliced(p: PartitionId, b: Building, now: () => number, yieldTurn: YieldTurn): Promise<void> {
    try {
      let inSlice = 0;
      // A live iterator: keys removed while we yield are skipped, keys added
      // are also in `dirty`, so each ends up hashed from its latest value.
      for (const key of this.source.keysInPartition(p)) {
        const obj = this.source.get(key);
        if (obj) b.tree.insert(key, objectDigest(obj));
        if (++inSlice >= this.sliceKeys) {
          inSlice = 0;
          await yieldTurn();
          // Dropped (partition handed away) or superseded meanwhile: stop.
          if (this.building.get(p) !== b) return;
        }
      }
      if (this.building.get(p) !== b) return;
      this.builds++;
      this.entries.set(p, { tree: b.tree, builtAtMs: now(), dirty: b.dirty });
    } finally {
      if (this.building.get(p) === b) this.building.delete(p);
    }
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
