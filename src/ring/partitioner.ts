/**
 * Key to partition: Dynamo 6.2 strategy 3 divides the hash space into Q equal
 * partitions, and a key belongs to the partition its hash falls in.
 *
 * The hash is MD5 of the key's UTF-8 bytes (as in Dynamo 4.2), of which the
 * first 4 bytes are read as a big-endian uint32 h. Partition p covers the hash
 * range [p * 2^32 / q, (p + 1) * 2^32 / q), so p = floor(h * q / 2^32): it uses
 * the top bits of the hash, is uniform for any q (not only powers of two), and
 * keeps partitions contiguous arcs of the hash circle.
 */
import { createHash } from 'node:crypto';
import { assert } from '../core/assert';
import { asPartitionId, type PartitionId } from '../core/ids';

/**
 * Largest Q accepted. Keeps h * q below 2^53 (exact in a double) with a wide
 * margin, and bounds the per-ring arrays every node keeps.
 */
export const PARTITIONS_MAX = 1 << 16;

const HASH_SPACE = 2 ** 32;

/**
 * Hashes of recent keys. A request's key is hashed several times on its way
 * through a node (coordinator, replica, anti-entropy bookkeeping) and the
 * same session keys come back request after request; an MD5 through
 * node:crypto costs a few µs each, a Map look-up a fraction of that. Bounded:
 * emptied when full, so memory stays at HASH_CACHE_MAX keys.
 */
const hashCache = new Map<string, number>();
const HASH_CACHE_MAX = 1 << 16;

/** The first 32 bits of MD5(UTF-8 key), as an unsigned integer. */
export function hashKey(key: string): number {
  let h = hashCache.get(key);
  if (h === undefined) {
    h = createHash('md5').update(key, 'utf8').digest().readUInt32BE(0);
    if (hashCache.size >= HASH_CACHE_MAX) hashCache.clear();
    hashCache.set(key, h);
  }
  return h;
}

/** Asserts q is a valid partition count. */
export function assertPartitionCount(q: number): void {
  assert(Number.isInteger(q) && q >= 1 && q <= PARTITIONS_MAX,
    `partition count must be an integer in [1, ${PARTITIONS_MAX}], got ${q}`);
}

/** The partition a hash value falls in, for a ring of q partitions. */
export function partitionOfHash(hash: number, q: number): PartitionId {
  assert(Number.isInteger(hash) && hash >= 0 && hash < HASH_SPACE, `hash must be a uint32, got ${hash}`);
  return asPartitionId(Math.floor((hash * q) / HASH_SPACE));
}

/** The partition that holds `key`, for a ring of q partitions. */
export function partitionOf(key: string, q: number): PartitionId {
  assertPartitionCount(q);
  return partitionOfHash(hashKey(key), q);
}
