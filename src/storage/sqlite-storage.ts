/**
 * The production storage engine (DESIGN.md layer 5) on SQLite through the
 * `sqlite3` package. Every record, hint and meta value is held in memory, so
 * reads are map look-ups; SQLite is the durable copy underneath, read only at
 * open(). A write's promise resolves only once its transaction has committed
 * (Dynamo 4.5: a replica acknowledges after the write is durable).
 *
 * Group commit: writes queue up in a batch while the previous transaction
 * runs; one flush at a time writes a whole batch as a few multi-row INSERT OR
 * REPLACE / DELETE ... IN statements inside one transaction, then resolves
 * every promise of the batch. One statement per row costs a round trip to
 * sqlite3's worker thread each (~25k rows/s measured); 500 rows per statement
 * reach ~330k rows/s (DESIGN.md "Reference figures"), and one fsync per batch
 * instead of per write is what makes synchronous=FULL affordable. A batch
 * that fits one statement (the usual one: a few hundred puts) runs as that
 * statement alone, which SQLite makes a transaction of its own; a larger one
 * queues BEGIN and its statements together, then COMMIT. Either way a commit
 * waits for one or two event-loop wake-ups, not one per statement.
 *
 * A failed transaction is rolled back and every writer in it gets a
 * StorageError; the batch's writes stay in the live view (they were never
 * acknowledged, so holding them is as legitimate as losing them in a crash),
 * and the next batch is tried afresh.
 */
import type { Database, Statement } from 'sqlite3';
import { assert } from '../core/assert';
import { DEFAULT_CONFIG } from '../core/config';
import { StorageError } from '../core/errors';
import { asNodeId, asPartitionId } from '../core/ids';
import type { RecordMeta } from '../core/storage-port';
import { BatchedStorage } from './batched-storage';
import { all, closeDatabase, each, exec, finalize, openDatabase, prepare, run, runStatement } from './sqlite-async';
import type { StorageStats } from './storage-stats';
import { decodeValue } from './value-codec';
import { WriteBatch } from './write-batch';

/** SQLite `PRAGMA synchronous` levels a node may run with (docs/operations.md, Durability). */
export type SqliteSynchronous = 'FULL' | 'NORMAL';

export interface SqliteStorageOptions {
  /** Rows per transaction at most (default: DEFAULT_CONFIG.commitBatchMax). */
  commitBatchMax?: number;
  /**
   * FULL (default) fsyncs the WAL at every commit, so an acknowledged write
   * survives power loss; NORMAL fsyncs only at checkpoints, so the last
   * commits may be lost on power loss (never on a process crash).
   */
  synchronous?: SqliteSynchronous;
  /** Called with the number of records loaded so far, while open() loads them. */
  onProgress?: (loaded: number) => void;
}

/**
 * Rows per multi-row statement. SQLite allows 32766 bound variables per
 * statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32); 500 rows of at most 5
 * columns stay far below it, and larger statements were not faster.
 */
const ROWS_PER_STATEMENT = 500;
const PROGRESS_EVERY_ROWS = 10_000;
/** How long a write waits for a lock held by another connection (a backup, a test's reader). */
const BUSY_TIMEOUT_MS = 5000;

/**
 * kv is a WITHOUT ROWID table: the key's B-tree holds the row, so an upsert
 * rewrites one leaf page. A rowid table with a TEXT PRIMARY KEY keeps the key
 * in a separate index, and INSERT OR REPLACE then touches the index leaf, the
 * old row's leaf and the new row's: 42 us of CPU per row against 24-28 in
 * 12-row commits with synchronous=FULL (docs/benchmarks.md). Files written by
 * earlier versions are converted once at open (migrateKvLayout).
 */
const KV_COLUMNS = 'key TEXT PRIMARY KEY, partition INTEGER NOT NULL, expires INTEGER, value BLOB NOT NULL';

/**
 * Expiries are indexed in memory (expiry-index.ts), which is what TTL sweeps
 * read; nothing queries kv by `expires`, so the SQLite index on it that
 * early versions created is dropped: it cost every write a random index-page
 * update in the WAL (docs/benchmarks.md).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (${KV_COLUMNS}) WITHOUT ROWID;
DROP INDEX IF EXISTS kv_expires;
CREATE TABLE IF NOT EXISTS hints (id INTEGER PRIMARY KEY, target TEXT NOT NULL, key TEXT NOT NULL, partition INTEGER NOT NULL, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

interface KvRow {
  key: string;
  partition: number;
  expires: number | null;
  value: Buffer;
}

interface HintRow {
  id: number;
  target: string;
  key: string;
  partition: number;
  value: Buffer;
}

interface MetaRow {
  name: string;
  value: string;
}

export class SqliteStorage<T> extends BatchedStorage<T> {
  private readonly commitBatchMax: number;
  /** Batches not yet committed, oldest first; only the last one takes new writes. */
  private readonly batches: WriteBatch[] = [];
  /** Multi-row statements of the sizes worth keeping (see preparedSize), prepared once (keyed by SQL). */
  private readonly statements = new Map<string, Statement>();
  private flushScheduled = false;
  private flushing = false;
  /** Rows of the batch being committed right now, for stats(). */
  private inFlightRows = 0;
  private idleWaiters: Array<() => void> = [];
  private closing: Promise<void> | null = null;
  private commits = 0;
  private rowsWritten = 0;
  private failedCommits = 0;

  private constructor(
    private readonly db: Database,
    options: SqliteStorageOptions,
  ) {
    super();
    this.commitBatchMax = options.commitBatchMax ?? DEFAULT_CONFIG.commitBatchMax;
    assert(Number.isInteger(this.commitBatchMax) && this.commitBatchMax > 0, 'commitBatchMax must be a positive integer');
  }

  /** Opens or creates the database file and loads everything in it into memory. */
  static async open<T>(path: string, options: SqliteStorageOptions = {}): Promise<SqliteStorage<T>> {
    const synchronous = options.synchronous ?? 'FULL';
    assert(synchronous === 'FULL' || synchronous === 'NORMAL', `bad synchronous ${String(synchronous)}`);
    let db: Database;
    try {
      db = await openDatabase(path);
    } catch (err) {
      throw storageError(`cannot open ${path}`, err);
    }
    try {
      db.configure('busyTimeout', BUSY_TIMEOUT_MS);
      // Statements run one after another in the order they were issued,
      // which lets a commit queue its statements at once (commit()).
      db.serialize();
      const [mode] = await all<{ journal_mode: string }>(db, 'PRAGMA journal_mode=WAL');
      if (mode?.journal_mode.toLowerCase() !== 'wal' && path !== ':memory:') {
        throw new Error(`journal_mode is ${String(mode?.journal_mode)}, not wal`);
      }
      await exec(db, `PRAGMA synchronous=${synchronous}`);
      await migrateKvLayout(db);
      await exec(db, SCHEMA);
      const storage = new SqliteStorage<T>(db, options);
      await storage.load(options.onProgress);
      return storage;
    } catch (err) {
      await closeDatabase(db).catch(() => undefined); // the load error is the one to report
      throw storageError(`cannot load ${path}`, err);
    }
  }

  /** Resolves once every write queued so far has been committed or has failed. */
  async flush(): Promise<void> {
    while (this.flushing || this.batches.length > 0) {
      if (this.flushing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      else await this.flushLoop();
    }
  }

  /**
   * Commits what is queued, then closes the database; every call returns the
   * same promise. Writes made after close() reject with ClosedError.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.closed = true;
    await this.flush();
    try {
      for (const stmt of this.statements.values()) await finalize(stmt);
      this.statements.clear();
      await closeDatabase(this.db);
    } catch (err) {
      throw storageError('close failed', err);
    }
  }

  stats(): StorageStats {
    let pendingOps = 0;
    for (const b of this.batches) pendingOps += b.rows;
    return {
      commits: this.commits,
      rowsWritten: this.rowsWritten,
      pendingOps: pendingOps + this.inFlightRows,
      failedCommits: this.failedCommits,
    };
  }

  // ---- group commit ----

  /** The batch new writes join, and a flush scheduled to pick it up. */
  protected override batch(): WriteBatch {
    let batch = this.batches[this.batches.length - 1];
    if (batch === undefined || batch.rows >= this.commitBatchMax) {
      batch = new WriteBatch();
      this.batches.push(batch);
    }
    if (!this.flushing && !this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate rather than a microtask: the writes of every message
      // handled in this turn of the event loop join the same transaction.
      setImmediate(() => {
        this.flushScheduled = false;
        void this.flushLoop();
      });
    }
    return batch;
  }

  /** Commits batches one at a time until none is left; never rejects. */
  private async flushLoop(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (let batch = this.batches.shift(); batch !== undefined; batch = this.batches.shift()) {
        await this.commit(batch);
      }
    } finally {
      // Reached synchronously after the queue was seen empty, so a write
      // arriving later finds flushing false and schedules its own flush.
      this.flushing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private async commit(batch: WriteBatch): Promise<void> {
    const rows = batch.rows;
    if (rows === 0) {
      // Every write in it cancelled out (a hint added and removed): nothing to make durable.
      batch.resolve();
      return;
    }
    this.inFlightRows = rows;
    try {
      const statements = this.statementsFor(batch);
      // A batch that is one statement of a kept size runs it prepared,
      // preparing it first the first time (one wake-up, once per size).
      const alone = statements.length === 1;
      for (const st of statements) if (preparedSize(st.rows, alone)) await this.prepared(st.sql);
      if (statements.length === 1) {
        // The usual batch: at most ROWS_PER_STATEMENT puts, so one
        // statement. A single statement is a transaction of its own in
        // SQLite (atomic, and fsynced at its end with synchronous=FULL), so
        // it needs no BEGIN and COMMIT, and the commit costs one wake-up of
        // the event loop instead of three. On a busy node each wake-up waited
        // ~10 ms, more than the SQL itself (docs/benchmarks.md).
        await this.runChunk(statements[0]!, true);
      } else {
        // BEGIN and every statement are queued at once (the database runs in
        // serialized mode, set at open, so sqlite3's worker executes them in
        // order), and COMMIT once they all succeeded: two wake-ups.
        const done: Array<Promise<void>> = [run(this.db, 'BEGIN IMMEDIATE')];
        for (const st of statements) done.push(this.runChunk(st, false));
        const failure = (await Promise.allSettled(done)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failure !== undefined) {
          // If ROLLBACK fails too, SQLite has already rolled back (it does on
          // I/O errors and the like); the error to report is the first one.
          await run(this.db, 'ROLLBACK').catch(() => undefined);
          throw failure.reason;
        }
        try {
          await run(this.db, 'COMMIT');
        } catch (err) {
          await run(this.db, 'ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
    } catch (err) {
      this.inFlightRows = 0;
      this.failedCommits++;
      batch.reject(storageError(`commit of ${rows} rows failed`, err));
      return;
    }
    this.inFlightRows = 0;
    this.commits++;
    this.rowsWritten += rows;
    batch.resolve();
  }

  /** The batch as multi-row statements (ROWS_PER_STATEMENT rows each at most), in the order they must run. */
  private statementsFor(batch: WriteBatch): Chunk[] {
    const kvPuts: unknown[] = [];
    const kvDeletes: string[] = [];
    for (const [key, w] of batch.kv) {
      if (w.kind === 'put') kvPuts.push(key, w.partition, w.expiresAtMs, w.bytes);
      else kvDeletes.push(key);
    }
    const hintAdds: unknown[] = [];
    const hintDeletes: number[] = [];
    for (const [id, w] of batch.hints) {
      if (w.kind === 'add') hintAdds.push(id, w.target, w.key, w.partition, w.bytes);
      else hintDeletes.push(id);
    }
    const metaSets: unknown[] = [];
    for (const [name, value] of batch.meta) metaSets.push(name, value);

    const out: Chunk[] = [];
    insertChunks(out, 'INSERT OR REPLACE INTO kv (key, partition, expires, value) VALUES ', 4, kvPuts);
    deleteChunks(out, 'DELETE FROM kv WHERE key IN ', kvDeletes);
    insertChunks(out, 'INSERT OR REPLACE INTO hints (id, target, key, partition, value) VALUES ', 5, hintAdds);
    deleteChunks(out, 'DELETE FROM hints WHERE id IN ', hintDeletes);
    insertChunks(out, 'INSERT OR REPLACE INTO meta (name, value) VALUES ', 2, metaSets);
    return out;
  }

  /** Runs one chunk, through its prepared statement when it has one (see prepared()). */
  private runChunk(st: Chunk, alone: boolean): Promise<void> {
    const stmt = preparedSize(st.rows, alone) ? this.statements.get(st.sql) : undefined;
    return stmt !== undefined ? runStatement(stmt, st.params) : run(this.db, st.sql, st.params);
  }

  /**
   * Statements recur: the small sizes a busy node's group commits have (a
   * dozen or two rows), and full-size ones. Those are prepared once; other
   * sizes are parsed each time (caching every size would keep up to 500
   * statements per kind alive). See preparedSize for when they are used.
   */
  private async prepared(sql: string): Promise<Statement> {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = await prepare(this.db, sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  // ---- loading ----

  private async load(onProgress?: (loaded: number) => void): Promise<void> {
    let loaded = 0;
    await each<KvRow>(this.db, 'SELECT key, partition, expires, value FROM kv', (row) => {
      const meta: RecordMeta = { partition: asPartitionId(row.partition), expiresAtMs: row.expires };
      if (!isValidMeta(meta)) throw new Error(`corrupt kv row ${JSON.stringify(row.key)}`);
      this.records.set(row.key, decodeValue<T>(row.value), meta);
      loaded++;
      if (onProgress !== undefined && loaded % PROGRESS_EVERY_ROWS === 0) onProgress(loaded);
    });
    // Ascending ids: the hint table's insertion order is its age order.
    await each<HintRow>(this.db, 'SELECT id, target, key, partition, value FROM hints ORDER BY id', (row) => {
      if (!Number.isInteger(row.partition) || row.partition < 0) throw new Error(`corrupt hint row ${row.id}`);
      this.hintTable.add({
        id: row.id,
        target: asNodeId(row.target),
        key: row.key,
        partition: asPartitionId(row.partition),
        value: decodeValue<T>(row.value),
      });
    });
    await each<MetaRow>(this.db, 'SELECT name, value FROM meta', (row) => {
      this.metaView.set(row.name, row.value);
    });
    onProgress?.(loaded);
  }
}

/**
 * Statements of up to this many rows are kept prepared, as are full-size
 * ones: a node under load commits batches of 1 to ~30 rows, and preparing
 * (parsing) the same multi-row INSERT for every commit, then finalizing it,
 * was SQLite CPU spent on nothing (docs/benchmarks.md). At most
 * SMALL_STATEMENT_ROWS_MAX + 1 statements per kind of write stay alive.
 *
 * Prepared statements are used only for a batch that is that one statement
 * (its own transaction, the usual case). sqlite3 runs a prepared Statement
 * as soon as it is free, outside the Database's serialized queue, so in a
 * BEGIN ... COMMIT batch it could run before the BEGIN and commit on its
 * own even when the batch then rolls back (seen with a failing batch: its
 * rows were on disk after the ROLLBACK). Those batches go through the
 * Database queue, parsed each time.
 */
const SMALL_STATEMENT_ROWS_MAX = 64;

function preparedSize(rows: number, alone: boolean): boolean {
  return alone && (rows <= SMALL_STATEMENT_ROWS_MAX || rows === ROWS_PER_STATEMENT);
}

/** One multi-row statement of a commit. */
interface Chunk {
  sql: string;
  rows: number;
  params: unknown[];
}

/** `params` holds `width` values per row; ROWS_PER_STATEMENT rows per statement. */
function insertChunks(out: Chunk[], head: string, width: number, params: readonly unknown[]): void {
  const rowCount = params.length / width;
  const tuple = `(${new Array<string>(width).fill('?').join(',')})`;
  for (let start = 0; start < rowCount; start += ROWS_PER_STATEMENT) {
    const n = Math.min(ROWS_PER_STATEMENT, rowCount - start);
    out.push({ sql: head + new Array<string>(n).fill(tuple).join(','), rows: n, params: params.slice(start * width, (start + n) * width) });
  }
}

function deleteChunks(out: Chunk[], head: string, ids: readonly unknown[]): void {
  for (let start = 0; start < ids.length; start += ROWS_PER_STATEMENT) {
    const n = Math.min(ROWS_PER_STATEMENT, ids.length - start);
    out.push({ sql: `${head}(${new Array<string>(n).fill('?').join(',')})`, rows: n, params: ids.slice(start, start + n) });
  }
}

/**
 * Converts a kv table of the rowid layout into the WITHOUT ROWID one, in one
 * transaction: a crash midway leaves the old table as it was.
 */
async function migrateKvLayout(db: Database): Promise<void> {
  const [table] = await all<{ sql: string }>(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'kv'");
  if (table === undefined || /WITHOUT\s+ROWID/i.test(table.sql)) return;
  await exec(
    db,
    `BEGIN IMMEDIATE;
     DROP TABLE IF EXISTS kv_without_rowid;
     CREATE TABLE kv_without_rowid (${KV_COLUMNS}) WITHOUT ROWID;
     INSERT INTO kv_without_rowid (key, partition, expires, value) SELECT key, partition, expires, value FROM kv;
     DROP TABLE kv;
     ALTER TABLE kv_without_rowid RENAME TO kv;
     COMMIT;`,
  ).catch(async (err: unknown) => {
    await exec(db, 'ROLLBACK').catch(() => undefined); // the migration error is the one to report
    throw err;
  });
}

function isValidMeta(meta: RecordMeta): boolean {
  return (
    Number.isInteger(meta.partition) &&
    meta.partition >= 0 &&
    (meta.expiresAtMs === null || Number.isFinite(meta.expiresAtMs))
  );
}

function storageError(what: string, cause: unknown): StorageError {
  const err = new StorageError(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`);
  Object.defineProperty(err, 'cause', { value: cause, enumerable: false });
  return err;
}

