/**
 * The replica side of the protocol: merging incoming versions into the local
 * store and holding hints for unreachable owners (Dynamo 4.6). Every path
 * that moves data between replicas (coordinated writes, read repair, hinted
 * handoff, anti-entropy, partition handoff) ends in apply(), which merges, so
 * applying the same version twice or out of order is harmless.
 *
 * apply() also refuses two kinds of copy, acknowledging them all the same
 * (the sender has nothing to retry): a session already expired by this
 * node's clock (it reads as absent everywhere and would only be swept again;
 * DESIGN.md "Expired sessions are never handed to another replica"), and an
 * opaque copy that the context of a tombstone this node reaped dominates
 * (tombstone-reaper.ts: a late hint or an old owner's handoff must not bring
 * a deleted value back). Reaped contexts are kept, durably in storage meta,
 * for `reapedMemoryMs` and at most `reapedMemoryMax` of them.
 */
import type { Clock } from '../core/clock';
import type { NodeId, PartitionId } from '../core/ids';
import type { Storage } from '../core/storage-port';
import { dvvDescends, dvvEquals, dvvSync, type Dvv } from '../clock/dvv';
import { vvDescends, vvMerge, type VersionVector } from '../clock/version-vector';
import {
  isTombstoneOnly, mergeObjects, objectExpiresAtMs, type OpaqueValue, type StoredObject,
} from '../crdt/stored-object';
import { partitionOf } from '../ring/partitioner';

/** Storage meta entry holding the reaped contexts: JSON [[key, vv, atMs], ...], oldest first. */
export const REAPED_META = 'tombstones.reaped';

export interface ReplicaOptions {
  /** This node's clock; without one, expired sessions are not refused (some unit tests). */
  clock?: Clock;
  /** How long a reaped tombstone's context is remembered (ms). */
  reapedMemoryMs?: number;
  /** Reaped contexts remembered at most. */
  reapedMemoryMax?: number;
}

export interface ReplicaStats {
  /** Copies refused because they were expired sessions. */
  refusedExpired: number;
  /** Copies refused because a reaped tombstone's context dominated them. */
  refusedReaped: number;
  /** Tombstones this node has reaped since start. */
  reaped: number;
}

interface Reaped {
  vv: VersionVector;
  atMs: number;
}

interface HeldHint {
  target: NodeId;
  obj: StoredObject;
}

export class Replica {
  /** key -> hint id -> held version: lets a fallback answer reads for keys it holds hints for. */
  private readonly hintsByKey = new Map<string, Map<number, HeldHint>>();
  /** target -> number of hints held for it. */
  private readonly hintTargets = new Map<NodeId, number>();
  private readonly hintKeyById = new Map<number, string>();
  /** Hints dropped before holdHint() indexed them (see holdHint). */
  private readonly droppedUnindexed = new Set<number>();
  /** Told of every change to this node's own copies (anti-entropy trees, anti-entropy/partition-trees.ts). */
  private readonly changeListeners: Array<(key: string, obj: StoredObject | undefined) => void> = [];
  /** Keys whose own copy is an opaque tombstone with no live sibling. */
  private readonly tombstones = new Set<string>();
  /** key -> context of a tombstone reaped here, oldest first (Map order). */
  private readonly reaped = new Map<string, Reaped>();
  private readonly clock: Clock | undefined;
  private readonly reapedMemoryMs: number;
  private readonly reapedMemoryMax: number;
  readonly stats: ReplicaStats = { refusedExpired: 0, refusedReaped: 0, reaped: 0 };

  constructor(
    readonly self: NodeId,
    private readonly storage: Storage<StoredObject>,
    private readonly partitions: number,
    opts: ReplicaOptions = {},
  ) {
    this.clock = opts.clock;
    this.reapedMemoryMs = opts.reapedMemoryMs ?? 24 * 60 * 60 * 1000;
    this.reapedMemoryMax = opts.reapedMemoryMax ?? 100_000;
    for (const h of storage.hints()) this.indexHint(h.id, h.target, h.key, h.value);
    for (const key of storage.keys()) {
      const obj = storage.get(key);
      if (obj && obj.kind === 'opaque' && isTombstoneOnly(obj)) this.tombstones.add(key);
    }
    this.loadReaped(storage.getMeta(REAPED_META));
  }

  partitionOf(key: string): PartitionId {
    return partitionOf(key, this.partitions);
  }

  /**
   * This node's own copy merged with any hinted copies it holds. For a key
   * whose tombstone it reaped (within the memory window) and holds nothing
   * of since, the reaped context as an object with no siblings: it reads as
   * absent, and a coordinator merging it with other replies strips what the
   * delete had removed from them (a fallback's older hint; found by the
   * simulator, --reap seed 52).
   */
  read(key: string): StoredObject | null {
    let obj = this.storage.get(key) ?? null;
    const reaped = this.reapedContext(key);
    if (obj === null && reaped) obj = { kind: 'opaque', dvv: reapedDvv(reaped) };
    const held = this.hintsByKey.get(key);
    if (held) {
      for (const h of held.values()) obj = obj ? mergeObjects(obj, h.obj) : h.obj;
      // A hint may be older than a tombstone reaped here.
      if (obj && reaped && obj.kind === 'opaque') obj = { kind: 'opaque', dvv: dvvSync(obj.dvv, reapedDvv(reaped)) };
    }
    return obj;
  }

  /** This node's own copy only. */
  own(key: string): StoredObject | undefined {
    return this.storage.get(key);
  }

  /**
   * Merge `incoming` into the local copy; resolves once the result is
   * durable. A refused copy (see the module comment) is not stored: the
   * promise resolves at once with what the merge would have been.
   */
  async apply(key: string, incoming: StoredObject): Promise<StoredObject> {
    const { merged, durable } = this.applyNow(key, incoming);
    await durable;
    return merged;
  }

  /**
   * apply() in two halves: the merge, already in memory (reads see it) when
   * this returns, and the promise of its commit, which is the storage
   * batch's, shared by every write in it (null when the copy was refused
   * and nothing was stored). The peer path answers a put from it without a
   * promise of its own per message.
   */
  applyNow(key: string, incoming: StoredObject): { merged: StoredObject; durable: Promise<void> | null } {
    const local = this.storage.get(key);
    let merged = local ? mergeObjects(local, incoming) : incoming;
    const expiresAtMs = objectExpiresAtMs(merged);
    if (merged.kind === 'session' && this.clock && expiresAtMs !== null && expiresAtMs <= this.clock.nowMs()) {
      // Expired here: reads say absent whatever we store, and the sweep would remove it again.
      this.stats.refusedExpired++;
      return { merged, durable: null };
    }
    const reaped = merged.kind === 'opaque' ? this.reapedContext(key) : undefined;
    if (reaped && merged.kind === 'opaque') {
      merged = { kind: 'opaque', dvv: dvvSync(merged.dvv, reapedDvv(reaped)) };
      if (isTombstoneOnly(merged) && vvDescends(reaped, merged.dvv.vv)) {
        // Everything in it was deleted and reaped here: storing it would only hold the tombstone again.
        this.stats.refusedReaped++;
        return { merged, durable: null };
      }
    }
    // Always write, even when nothing changed: an earlier write of the same
    // version may still be waiting for its commit, and the ack must not
    // overtake it.
    const durable = this.storage.put(key, merged, { partition: this.partitionOf(key), expiresAtMs });
    this.noteTombstone(key, merged);
    // Storage's view already holds `merged`; listeners see what reads see.
    for (const listener of this.changeListeners) listener(key, merged);
    return { merged, durable };
  }

  /** Remove this node's own copy (sweeps, tombstone collection); resolves once durable. */
  async remove(key: string): Promise<void> {
    const durable = this.storage.remove(key);
    this.tombstones.delete(key);
    for (const listener of this.changeListeners) listener(key, undefined);
    await durable;
  }

  /**
   * Keys whose own copy is a tombstone with no live sibling (tombstone-reaper.ts).
   * Partition handoff and the TTL sweep remove records from storage directly,
   * so entries are checked against storage here and stale ones forgotten.
   */
  *tombstoneKeys(): IterableIterator<string> {
    for (const key of this.tombstones) {
      const own = this.storage.get(key);
      if (own && own.kind === 'opaque' && isTombstoneOnly(own)) yield key;
      else this.tombstones.delete(key);
    }
  }

  /** Tombstones held, O(tombstones): reaping keeps them few. */
  tombstoneCount(): number {
    let n = 0;
    for (const _ of this.tombstoneKeys()) n++;
    return n;
  }

  /** Whether this node holds a hint (for any owner) for `key`. */
  holdsHintFor(key: string): boolean {
    return this.hintsByKey.has(key);
  }

  /** The context of a tombstone of `key` reaped here within the memory window, if any. */
  reapedContext(key: string): VersionVector | undefined {
    const r = this.reaped.get(key);
    if (!r) return undefined;
    if (this.clock && this.clock.nowMs() - r.atMs > this.reapedMemoryMs) return undefined;
    return r.vv;
  }

  reapedCount(): number {
    return this.reaped.size;
  }

  /**
   * Whether this node's state has seen the delete `tomb` records: its own
   * copy descends it (the tombstone, or anything written after it), or it
   * reaped a tombstone that covered it; and no hint it holds for the key
   * could still hand an older version around (tombstone-reaper.ts).
   */
  covers(key: string, tomb: Dvv<OpaqueValue>): boolean {
    if (this.holdsHintFor(key)) return false;
    const own = this.storage.get(key);
    if (own && own.kind === 'opaque' && dvvDescends(own.dvv, tomb)) return true;
    // A copy written since the reap need not descend it: the memory filters what the tombstone deleted.
    const reaped = this.reapedContext(key);
    return reaped !== undefined && vvDescends(reaped, tomb.vv);
  }

  /**
   * Drop the tombstones `keys` whose own copy is still exactly `expected`
   * (nothing written since they were confirmed) and no hint is held for:
   * their contexts are remembered durably first, then the records removed.
   * The caller must have advanced the IdMint epoch durably (id-mint.ts).
   * Resolves with the keys removed, once the removals are durable.
   */
  async reap(candidates: ReadonlyArray<{ key: string; expected: Dvv<OpaqueValue> }>, nowMs: number): Promise<string[]> {
    const still = (key: string, expected: Dvv<OpaqueValue>): boolean => {
      const own = this.storage.get(key);
      return own !== undefined && own.kind === 'opaque' && isTombstoneOnly(own) && dvvEquals(own.dvv, expected) && !this.holdsHintFor(key);
    };
    const chosen = candidates.filter((c) => still(c.key, c.expected));
    if (chosen.length === 0) return [];
    for (const c of chosen) {
      const prev = this.reaped.get(c.key);
      this.reaped.delete(c.key);
      this.reaped.set(c.key, { vv: prev ? vvMerge(prev.vv, c.expected.vv) : c.expected.vv, atMs: nowMs });
    }
    this.pruneReaped(nowMs);
    await this.storage.setMeta(REAPED_META, this.reapedJson());
    // Checked again after the await: a write may have landed meanwhile (it stays, and is no resurrection).
    const removed = chosen.filter((c) => still(c.key, c.expected)).map((c) => c.key);
    await Promise.all(removed.map((k) => this.remove(k)));
    this.stats.reaped += removed.length;
    return removed;
  }

  /** Call `listener` after every apply() and remove(), with the key's new own copy (undefined once removed). */
  onChange(listener: (key: string, obj: StoredObject | undefined) => void): void {
    this.changeListeners.push(listener);
  }

  /** Store a version meant for `target` until it can be handed off. */
  async holdHint(target: NodeId, key: string, obj: StoredObject): Promise<void> {
    const id = await this.storage.addHint(target, key, obj, this.partitionOf(key));
    // Storage shows a hint before its commit, so hinted handoff may have
    // delivered and dropped it already (found by the simulator, --reap seed 38).
    if (this.droppedUnindexed.delete(id)) return;
    this.indexHint(id, target, key, obj);
  }

  hintTargetsPending(): Map<NodeId, number> {
    return new Map(this.hintTargets);
  }

  hintCount(): number {
    return this.storage.hintCount();
  }

  async dropHints(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.storage.removeHints(ids);
    for (const id of ids) {
      const key = this.hintKeyById.get(id);
      if (key === undefined) {
        this.droppedUnindexed.add(id);
        continue;
      }
      this.hintKeyById.delete(id);
      const held = this.hintsByKey.get(key);
      const h = held?.get(id);
      if (!held || !h) continue;
      held.delete(id);
      if (held.size === 0) this.hintsByKey.delete(key);
      const left = (this.hintTargets.get(h.target) ?? 1) - 1;
      if (left > 0) this.hintTargets.set(h.target, left);
      else this.hintTargets.delete(h.target);
    }
  }

  private noteTombstone(key: string, obj: StoredObject): void {
    if (obj.kind === 'opaque' && isTombstoneOnly(obj)) this.tombstones.add(key);
    else this.tombstones.delete(key);
  }

  private pruneReaped(nowMs: number): void {
    for (const [key, r] of this.reaped) {
      if (this.reaped.size <= this.reapedMemoryMax && nowMs - r.atMs <= this.reapedMemoryMs) break;
      this.reaped.delete(key);
    }
  }

  private reapedJson(): string {
    return JSON.stringify([...this.reaped].map(([key, r]) => [key, r.vv, r.atMs]));
  }

  private loadReaped(json: string | undefined): void {
    if (!json) return;
    try {
      for (const [key, vv, atMs] of JSON.parse(json) as Array<[string, VersionVector, number]>) this.reaped.set(key, { vv, atMs });
    } catch {
      // Unreadable: start with no memory rather than not at all (the tombstones themselves were confirmed everywhere).
    }
  }

  private indexHint(id: number, target: NodeId, key: string, obj: StoredObject): void {
    let held = this.hintsByKey.get(key);
    if (!held) this.hintsByKey.set(key, (held = new Map()));
    held.set(id, { target, obj });
    this.hintKeyById.set(id, key);
    this.hintTargets.set(target, (this.hintTargets.get(target) ?? 0) + 1);
  }
}

/** A reaped context as an object with no siblings: syncing with it drops every sibling it covers. */
function reapedDvv(vv: VersionVector): Dvv<OpaqueValue> {
  return { siblings: [], vv };
}
