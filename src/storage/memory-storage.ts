/**
 * The in-memory twin of the storage port (STYLE.md 11, after TigerBeetle's
 * testing/storage.zig), for unit tests and the deterministic simulator.
 *
 * It keeps two states: the live view that reads are served from (every write
 * shows there at once, as in SqliteStorage) and a durable snapshot holding
 * only what has been committed, stored as msgpack bytes exactly as SQLite
 * would hold them. Writes wait in one pending batch until the injected
 * `schedule` runs its commit, which copies the batch into the snapshot and
 * resolves every promise of the batch together (group commit, DESIGN.md
 * "Durability"). The simulator decides when commits happen by passing a
 * `schedule` that runs on its virtual event queue.
 *
 * Crash and restart: `crash()` discards everything not yet committed (the
 * pending batch's promises reject with ClosedError, the live view goes back
 * to the durable snapshot) and closes this instance for good; `reopen()` then
 * returns a new instance built from the durable snapshot, as a restarted
 * process would find its data file. A fresh object, rather than the same one
 * revived, means a crashed node's leftover callbacks that still hold the old
 * instance get ClosedError instead of writing into its successor.
 */
import { assert } from '../core/assert';
import { ClosedError, StorageError } from '../core/errors';
import type { NodeId, PartitionId } from '../core/ids';
import type { RecordMeta } from '../core/storage-port';
import { BatchedStorage } from './batched-storage';
import type { StorageStats } from './storage-stats';
import { ShardedMap } from './sharded-map';
import { decodeValue } from './value-codec';
import { WriteBatch } from './write-batch';

export interface MemoryStorageOptions {
  /**
   * Decides when a pending batch commits: called once per batch, with the
   * function that commits it. Default: a microtask (Promise.resolve().then),
   * so all writes made in one synchronous run share one commit.
   */
  schedule?: (commit: () => void) => void;
}

interface DurableRecord {
  bytes: Uint8Array;
  meta: RecordMeta;
}

interface DurableHint {
  target: NodeId;
  key: string;
  partition: PartitionId;
  bytes: Uint8Array;
}

/** What a restart finds: committed rows only, as bytes. */
interface DurableState {
  /** Sharded like RecordMap: a sweep emptying a million-key Map pauses on its rehash (sharded-map.ts). */
  kv: ShardedMap<DurableRecord>;
  hints: Map<number, DurableHint>;
  meta: Map<string, string>;
}

const defaultSchedule = (commit: () => void): void => {
  void Promise.resolve().then(commit);
};

export class MemoryStorage<T> extends BatchedStorage<T> {
  private readonly durable: DurableState = { kv: new ShardedMap(), hints: new Map(), meta: new Map() };
  private readonly schedule: (commit: () => void) => void;
  private pending: WriteBatch | null = null;
  private failNext: string | null = null;
  private commits = 0;
  private rowsWritten = 0;
  private failedCommits = 0;

  constructor(private readonly options: MemoryStorageOptions = {}) {
    super();
    this.schedule = options.schedule ?? defaultSchedule;
  }

  /** Commits what is pending, then refuses further writes. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const batch = this.pending;
    this.commitNow();
    this.closed = true;
    // A failed final commit is reported to the writers, and to close() too.
    return batch === null ? Promise.resolve() : batch.done;
  }

  // ---- simulation and test controls ----

  /** Commits the pending batch now instead of waiting for `schedule`. */
  commitNow(): void {
    if (this.pending !== null) this.commit(this.pending);
  }

  /**
   * The next commit fails: its promises reject with StorageError and nothing
   * of it reaches the snapshot. Like SqliteStorage after a failed transaction,
   * the live view keeps those writes (they were never acknowledged, so a
   * replica may hold them or not, exactly as after a crash).
   */
  failNextCommit(message = 'injected commit failure'): void {
    this.failNext = message;
  }

  /**
   * Loses every uncommitted write: pending promises reject with ClosedError,
   * reads show the durable snapshot, and this instance takes no more writes.
   * Use reopen() for the restarted node's storage.
   */
  crash(): void {
    if (this.closed) return;
    this.closed = true;
    const batch = this.pending;
    this.pending = null;
    this.restoreLiveView();
    batch?.reject(new ClosedError('storage'));
  }

  /** A new instance holding exactly what was committed here (after crash() or close()). */
  reopen(): MemoryStorage<T> {
    assert(this.closed, 'reopen() a storage that is still open: crash() or close() it first');
    const next = new MemoryStorage<T>(this.options);
    for (const [key, rec] of this.durable.kv.entries()) next.durable.kv.set(key, rec);
    for (const id of [...this.durable.hints.keys()].sort((a, b) => a - b)) {
      next.durable.hints.set(id, this.durable.hints.get(id)!);
    }
    for (const [name, value] of this.durable.meta) next.durable.meta.set(name, value);
    next.restoreLiveView();
    return next;
  }

  /** crash() then reopen(): what the simulator does to a node that dies. */
  crashAndRecover(): MemoryStorage<T> {
    this.crash();
    return this.reopen();
  }

  /** The committed value of a key, as a restart would read it (tests, invariant checks). */
  durableGet(key: string): T | undefined {
    const rec = this.durable.kv.get(key);
    return rec === undefined ? undefined : decodeValue<T>(rec.bytes);
  }

  /** Whether a hint id is committed. */
  durableHasHint(id: number): boolean {
    return this.durable.hints.has(id);
  }

  durableMeta(name: string): string | undefined {
    return this.durable.meta.get(name);
  }

  stats(): StorageStats {
    return {
      commits: this.commits,
      rowsWritten: this.rowsWritten,
      pendingOps: this.pending?.rows ?? 0,
      failedCommits: this.failedCommits,
    };
  }

  // ---- internals ----

  protected override batch(): WriteBatch {
    if (this.pending === null) {
      const batch = new WriteBatch();
      this.pending = batch;
      // The commit is bound to its batch: if commitNow() or crash() has
      // already dealt with it, the scheduled call does nothing.
      this.schedule(() => {
        if (this.pending === batch) this.commit(batch);
      });
    }
    return this.pending;
  }

  private commit(batch: WriteBatch): void {
    assert(this.pending === batch, 'only the pending batch commits');
    this.pending = null;
    if (this.failNext !== null) {
      const message = this.failNext;
      this.failNext = null;
      this.failedCommits++;
      batch.reject(new StorageError(`commit failed: ${message}`));
      return;
    }
    for (const [key, w] of batch.kv) {
      if (w.kind === 'put') {
        this.durable.kv.set(key, { bytes: w.bytes, meta: { partition: w.partition, expiresAtMs: w.expiresAtMs } });
      } else {
        this.durable.kv.delete(key);
      }
    }
    for (const [id, w] of batch.hints) {
      if (w.kind === 'add') {
        this.durable.hints.set(id, { target: w.target, key: w.key, partition: w.partition, bytes: w.bytes });
      } else {
        this.durable.hints.delete(id);
      }
    }
    for (const [name, value] of batch.meta) this.durable.meta.set(name, value);
    this.commits++;
    this.rowsWritten += batch.rows;
    batch.resolve();
  }

  /** Rebuilds the live view from the durable snapshot, decoding every value. */
  private restoreLiveView(): void {
    this.records.clear();
    this.hintTable.clear();
    this.metaView.clear();
    for (const [key, rec] of this.durable.kv.entries()) {
      this.records.set(key, decodeValue<T>(rec.bytes), rec.meta);
    }
    const ids = [...this.durable.hints.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const h = this.durable.hints.get(id)!;
      this.hintTable.add({ id, target: h.target, key: h.key, partition: h.partition, value: decodeValue<T>(h.bytes) });
    }
    for (const [name, value] of this.durable.meta) this.metaView.set(name, value);
  }
}

