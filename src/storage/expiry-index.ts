/**
 * Expiry index: finds the keys whose expiry has passed, in bounded batches,
 * for the replicas' TTL sweeps (DESIGN.md "session" values; Dynamo has no TTL,
 * this follows Cassandra's per-replica expiry of TTL'd cells).
 *
 * Keys are grouped into buckets of `bucketMs` by expiry time, and the bucket
 * numbers are kept in a sorted array. A sweep walks the buckets from the
 * oldest and stops at `nowMs` or after `limit` keys, so its cost is bounded by
 * what it returns plus one partly expired bucket, never by the number of
 * live keys. With 30-minute sessions and 1 s buckets there are ~1,800
 * buckets, so inserting a new bucket number into the array is cheap.
 *
 * The index does not own the expiry of a key: the caller (RecordMap) passes
 * the old expiry to delete(), which saves a second key -> expiry map.
 */
import { assert } from '../core/assert';
import { ShardedMap } from './sharded-map';

/**
 * Shards per bucket. When every session of a busy second expires together,
 * one bucket holds them all; sharding it keeps each table rebuild small
 * while the sweep empties it (sharded-map.ts). 16, not 256, because there
 * are ~1,800 buckets and each shard is a Map of its own.
 */
const BUCKET_SHARDS = 16;

export class ExpiryIndex {
  /** bucket number -> (key -> expiresAtMs) */
  private readonly buckets = new Map<number, ShardedMap<number>>();
  /** The bucket numbers in `buckets`, ascending. */
  private readonly order: number[] = [];
  private count = 0;

  constructor(private readonly bucketMs = 1000) {
    assert(Number.isInteger(bucketMs) && bucketMs > 0, 'bucketMs must be a positive integer');
  }

  /** Number of keys indexed. */
  get size(): number {
    return this.count;
  }

  add(key: string, expiresAtMs: number): void {
    assert(Number.isFinite(expiresAtMs), 'expiresAtMs must be finite');
    const b = this.bucketOf(expiresAtMs);
    let bucket = this.buckets.get(b);
    if (bucket === undefined) {
      bucket = new ShardedMap(BUCKET_SHARDS);
      this.buckets.set(b, bucket);
      this.order.splice(this.lowerBound(b), 0, b);
    }
    assert(!bucket.has(key), `key ${JSON.stringify(key)} is already indexed at this expiry`);
    bucket.set(key, expiresAtMs);
    this.count++;
  }

  /** Remove a key that was added with this expiry; false if it was not there. */
  delete(key: string, expiresAtMs: number): boolean {
    const b = this.bucketOf(expiresAtMs);
    const bucket = this.buckets.get(b);
    if (bucket === undefined || bucket.get(key) !== expiresAtMs) return false;
    bucket.delete(key);
    this.count--;
    if (bucket.size === 0) {
      this.buckets.delete(b);
      const i = this.lowerBound(b);
      assert(this.order[i] === b, 'expiry bucket order out of sync');
      this.order.splice(i, 1);
    }
    return true;
  }

  /**
   * Up to `limit` keys whose expiry is at or before `nowMs`, oldest buckets
   * first. The keys stay indexed until the caller removes or re-expires them,
   * so calling again without doing so returns the same keys.
   */
  expired(nowMs: number, limit: number): string[] {
    assert(Number.isInteger(limit) && limit >= 0, 'limit must be a non-negative integer');
    const out: string[] = [];
    const last = this.bucketOf(nowMs);
    for (const b of this.order) {
      if (b > last || out.length >= limit) break;
      const bucket = this.buckets.get(b)!;
      for (const [key, at] of bucket.entries()) {
        if (out.length >= limit) break;
        // Only the last bucket can hold keys that are not yet expired.
        if (at <= nowMs) out.push(key);
      }
    }
    return out;
  }

  clear(): void {
    this.buckets.clear();
    this.order.length = 0;
    this.count = 0;
  }

  private bucketOf(ms: number): number {
    return Math.floor(ms / this.bucketMs);
  }

  /** First index in `order` whose bucket number is >= b. */
  private lowerBound(b: number): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid]! < b) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
