/**
 * A string-keyed map split over many small Maps by a hash of the key.
 *
 * Why: a V8 Map is one hash table that is rebuilt whole when it grows, and
 * again when deletes leave it under a quarter full. At a million keys one
 * rebuild is a synchronous pause of 30-190 ms (bench/sweep-bench.ts before
 * this class: a TTL sweep's largest batch took 193 ms), which no batching of
 * the caller's work can split. Spread over 256 shards, each rebuild touches
 * ~1/256 of the keys (the same sweep's largest batch: see
 * docs/sessions-ttl.md). Shards are made on first use, so a small map costs
 * a few Maps, not 256.
 */
import { assert } from '../core/assert';

/** FNV-1a over UTF-16 code units: cheap, and spreads session ids evenly. */
export function shardHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class ShardedMap<V> {
  private readonly shards: Array<Map<string, V> | undefined>;
  private readonly mask: number;
  private count = 0;

  /** `shardCount` must be a power of two (the shard is picked with a mask). */
  constructor(shardCount = 256) {
    assert(Number.isInteger(shardCount) && shardCount > 0 && (shardCount & (shardCount - 1)) === 0,
      'shardCount must be a power of two');
    this.shards = new Array<Map<string, V> | undefined>(shardCount).fill(undefined);
    this.mask = shardCount - 1;
  }

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    return this.shards[shardHash(key) & this.mask]?.get(key);
  }

  has(key: string): boolean {
    return this.shards[shardHash(key) & this.mask]?.has(key) ?? false;
  }

  set(key: string, value: V): this {
    const i = shardHash(key) & this.mask;
    let shard = this.shards[i];
    if (shard === undefined) {
      shard = new Map();
      this.shards[i] = shard;
    }
    const before = shard.size;
    shard.set(key, value);
    this.count += shard.size - before;
    return this;
  }

  delete(key: string): boolean {
    const i = shardHash(key) & this.mask;
    const shard = this.shards[i];
    if (shard === undefined || !shard.delete(key)) return false;
    this.count--;
    // An emptied shard is dropped rather than kept as an empty table.
    if (shard.size === 0) this.shards[i] = undefined;
    return true;
  }

  clear(): void {
    this.shards.fill(undefined);
    this.count = 0;
  }

  /**
   * A live iterator over the keys, shard by shard. Like a Map's, it skips
   * keys deleted after it started; a key added meanwhile may or may not be
   * visited.
   */
  *keys(): IterableIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  /** A live iterator over [key, value], with the keys() guarantees. */
  *entries(): IterableIterator<[string, V]> {
    for (let i = 0; i < this.shards.length; i++) {
      const shard = this.shards[i];
      if (shard === undefined) continue;
      for (const entry of shard) yield entry;
    }
  }
}
