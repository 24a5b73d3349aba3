/**
 * What both storage engines share (DESIGN.md layer 5): reads are served from
 * memory (the RecordMap of records, the hint table, the meta view), and every
 * write changes memory at once and joins the engine's open WriteBatch, whose
 * promise settles when that batch is durable. The engines differ only in how
 * a batch becomes durable (`batch()`, their commit) and in closing.
 */
import { assert } from '../core/assert';
import { ClosedError } from '../core/errors';
import type { NodeId, PartitionId } from '../core/ids';
import type { Hint, RecordMeta, Storage } from '../core/storage-port';
import { HintTable } from './hint-table';
import { assertValidMeta, RecordMap } from './record-map';
import { encodeValue } from './value-codec';
import type { WriteBatch } from './write-batch';

export abstract class BatchedStorage<T> implements Storage<T> {
  protected readonly records = new RecordMap<T>();
  protected readonly hintTable = new HintTable<T>();
  protected readonly metaView = new Map<string, string>();
  /** Set by close() (and MemoryStorage's crash()): writes then reject with ClosedError. */
  protected closed = false;

  /** The batch new writes join; it becomes durable at the engine's next commit. */
  protected abstract batch(): WriteBatch;

  abstract close(): Promise<void>;

  // ---- reads: memory ----

  get(key: string): T | undefined {
    return this.records.get(key);
  }

  metaOf(key: string): RecordMeta | undefined {
    return this.records.metaOf(key);
  }

  size(): number {
    return this.records.size;
  }

  keys(): IterableIterator<string> {
    return this.records.keys();
  }

  keysInPartition(partition: PartitionId): Iterable<string> {
    return this.records.keysInPartition(partition);
  }

  /** Up to `limit` keys whose expiresAtMs <= nowMs, for TTL sweeps. */
  expiredKeys(nowMs: number, limit: number): string[] {
    return this.records.expiredKeys(nowMs, limit);
  }

  hints(target?: NodeId, limit?: number): Hint<T>[] {
    return this.hintTable.list(target, limit);
  }

  hintCount(): number {
    return this.hintTable.size;
  }

  getMeta(name: string): string | undefined {
    return this.metaView.get(name);
  }

  // ---- writes: memory now, durable at the batch's commit ----

  put(key: string, value: T, meta: RecordMeta): Promise<void> {
    if (this.closed) return closedPromise();
    assertValidMeta(meta);
    const bytes = encodeValue(value);
    const batch = this.batch();
    batch.putKv(key, bytes, meta.partition, meta.expiresAtMs);
    this.records.set(key, value, meta);
    return batch.done;
  }

  remove(key: string): Promise<void> {
    if (this.closed) return closedPromise();
    // Queued even when the key is absent from memory: an earlier removal of
    // it may still be uncommitted, and this promise must not resolve first.
    const batch = this.batch();
    batch.removeKv(key);
    this.records.delete(key);
    return batch.done;
  }

  addHint(target: NodeId, key: string, value: T, partition: PartitionId): Promise<number> {
    if (this.closed) return closedPromise();
    assertValidMeta({ partition, expiresAtMs: null });
    const bytes = encodeValue(value);
    const id = this.hintTable.allocateId();
    const batch = this.batch();
    batch.addHint(id, target, key, partition, bytes);
    this.hintTable.add({ id, target, key, value, partition });
    return batch.done.then(() => id);
  }

  removeHints(ids: readonly number[]): Promise<void> {
    if (this.closed) return closedPromise();
    if (ids.length === 0) return Promise.resolve();
    const batch = this.batch();
    for (const id of ids) {
      assert(Number.isSafeInteger(id), `bad hint id ${String(id)}`);
      batch.removeHint(id);
      this.hintTable.remove(id);
    }
    return batch.done;
  }

  setMeta(name: string, value: string): Promise<void> {
    if (this.closed) return closedPromise();
    assert(typeof value === 'string', 'meta values are strings');
    const batch = this.batch();
    batch.setMeta(name, value);
    this.metaView.set(name, value);
    return batch.done;
  }
}

function closedPromise<R>(): Promise<R> {
  return Promise.reject(new ClosedError('storage'));
}
