/**
 * The replica side of the protocol: merging incoming versions into the local
 * store and holding hints for unreachable owners (Dynamo 4.6). Every path
 * that moves data between replicas (coordinated writes, read repair, hinted
 * handoff, anti-entropy) ends in apply(), which merges, so applying the same
 * version twice or out of order is harmless.
 */
import type { NodeId, PartitionId } from '../core/ids';
import type { Storage } from '../core/storage-port';
import { mergeObjects, objectExpiresAtMs, type StoredObject } from '../crdt/stored-object';
import { partitionOf } from '../ring/partitioner';

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
  /** Told of every change to this node's own copies (anti-entropy trees, anti-entropy/partition-trees.ts). */
  private readonly changeListeners: Array<(key: string, obj: StoredObject | undefined) => void> = [];

  constructor(
    readonly self: NodeId,
    private readonly storage: Storage<StoredObject>,
    private readonly partitions: number,
  ) {
    for (const h of storage.hints()) this.indexHint(h.id, h.target, h.key, h.value);
  }

  partitionOf(key: string): PartitionId {
    return partitionOf(key, this.partitions);
  }

  /** This node's own copy merged with any hinted copies it holds. */
  read(key: string): StoredObject | null {
    let obj = this.storage.get(key) ?? null;
    const held = this.hintsByKey.get(key);
    if (held) for (const h of held.values()) obj = obj ? mergeObjects(obj, h.obj) : h.obj;
    return obj;
  }

  /** This node's own copy only. */
  own(key: string): StoredObject | undefined {
    return this.storage.get(key);
  }

  /** Merge `incoming` into the local copy; resolves once the result is durable. */
  async apply(key: string, incoming: StoredObject): Promise<StoredObject> {
    const local = this.storage.get(key);
    const merged = local ? mergeObjects(local, incoming) : incoming;
    // Always write, even when nothing changed: an earlier write of the same
    // version may still be waiting for its commit, and the ack must not
    // overtake it.
    const durable = this.storage.put(key, merged, { partition: this.partitionOf(key), expiresAtMs: objectExpiresAtMs(merged) });
    // Storage's view already holds `merged`; listeners see what reads see.
    for (const listener of this.changeListeners) listener(key, merged);
    await durable;
    return merged;
  }

  /** Remove this node's own copy (sweeps, tombstone collection); resolves once durable. */
  async remove(key: string): Promise<void> {
    const durable = this.storage.remove(key);
    for (const listener of this.changeListeners) listener(key, undefined);
    await durable;
  }

  /** Call `listener` after every apply() and remove(), with the key's new own copy (undefined once removed). */
  onChange(listener: (key: string, obj: StoredObject | undefined) => void): void {
    this.changeListeners.push(listener);
  }

  /** Store a version meant for `target` until it can be handed off. */
  async holdHint(target: NodeId, key: string, obj: StoredObject): Promise<void> {
    const id = await this.storage.addHint(target, key, obj, this.partitionOf(key));
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
      if (key === undefined) continue;
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

  private indexHint(id: number, target: NodeId, key: string, obj: StoredObject): void {
    let held = this.hintsByKey.get(key);
    if (!held) this.hintsByKey.set(key, (held = new Map()));
    held.set(id, { target, obj });
    this.hintKeyById.set(id, key);
    this.hintTargets.set(target, (this.hintTargets.get(target) ?? 0) + 1);
  }
}
