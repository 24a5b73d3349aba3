/**
 * The in-memory view of a node's records that both storage engines serve
 * reads from (DESIGN.md layer 5): key -> value and meta, plus the two
 * secondary indexes the upper layers need cheaply: keys by ring partition
 * (anti-entropy trees and partition handoff walk one partition at a time,
 * Dynamo 4.7 and 4.9) and keys by expiry (TTL sweeps).
 */
import { assert } from '../core/assert';
import type { PartitionId } from '../core/ids';
import type { RecordMeta } from '../core/storage-port';
import { ExpiryIndex } from './expiry-index';
import { ShardedMap } from './sharded-map';

interface Entry<T> {
  value: T;
  meta: RecordMeta;
}

const NO_KEYS: ReadonlySet<string> = new Set<string>();

export class RecordMap<T> {
  /** Sharded: a million-key Map's rehash is a pause no caller can split (sharded-map.ts). */
  private readonly entries = new ShardedMap<Entry<T>>();
  private readonly byPartition = new Map<PartitionId, Set<string>>();
  private readonly expiry = new ExpiryIndex();

  get(key: string): T | undefined {
    return this.entries.get(key)?.value;
  }

  metaOf(key: string): RecordMeta | undefined {
    return this.entries.get(key)?.meta;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Insert or replace; keeps both indexes in step with the record's meta. */
  set(key: string, value: T, meta: RecordMeta): void {
    assertValidMeta(meta);
    const old = this.entries.get(key);
    if (old !== undefined && old.meta.partition === meta.partition && old.meta.expiresAtMs === meta.expiresAtMs) {
      // The usual rewrite of a record (a session saved again, same expiry):
      // both indexes already hold it where it belongs.
      old.value = value;
      return;
    }
    const frozen: RecordMeta = Object.freeze({ partition: meta.partition, expiresAtMs: meta.expiresAtMs });
    if (old !== undefined) this.unindex(key, old.meta);
    this.entries.set(key, { value, meta: frozen });
    let keys = this.byPartition.get(frozen.partition);
    if (keys === undefined) {
      keys = new Set();
      this.byPartition.set(frozen.partition, keys);
    }
    keys.add(key);
    if (frozen.expiresAtMs !== null) this.expiry.add(key, frozen.expiresAtMs);
  }

  delete(key: string): boolean {
    const old = this.entries.get(key);
    if (old === undefined) return false;
    this.unindex(key, old.meta);
    this.entries.delete(key);
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.byPartition.clear();
    this.expiry.clear();
  }

  /** A live iterator: keys removed during iteration are skipped (Map semantics). */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /**
   * One partition's keys. Each iteration looks the partition up afresh and
   * walks the live set, so the result can be iterated more than once and
   * keys removed meanwhile are skipped (Set semantics); nothing is copied.
   */
  keysInPartition(partition: PartitionId): Iterable<string> {
    return {
      [Symbol.iterator]: (): Iterator<string> =>
        (this.byPartition.get(partition) ?? NO_KEYS).values(),
    };
  }

  /** Up to `limit` keys whose expiresAtMs <= nowMs (see ExpiryIndex.expired). */
  expiredKeys(nowMs: number, limit: number): string[] {
    return this.expiry.expired(nowMs, limit);
  }

  private unindex(key: string, meta: RecordMeta): void {
    const keys = this.byPartition.get(meta.partition);
    assert(keys !== undefined && keys.delete(key), 'partition index out of sync');
    if (keys.size === 0) this.byPartition.delete(meta.partition);
    if (meta.expiresAtMs !== null) {
      assert(this.expiry.delete(key, meta.expiresAtMs), 'expiry index out of sync');
    }
  }
}

/** A malformed meta is a caller bug, not an operating error (STYLE.md 6). */
export function assertValidMeta(meta: RecordMeta): void {
  assert(Number.isInteger(meta.partition) && meta.partition >= 0, `bad partition ${String(meta.partition)}`);
  assert(
    meta.expiresAtMs === null || Number.isFinite(meta.expiresAtMs),
    `bad expiresAtMs ${String(meta.expiresAtMs)}`,
  );
}
