import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unpack } from 'msgpackr';
import type { Database } from 'sqlite3';
import { ClosedError, StorageError } from '../../src/core/errors';
import { asNodeId, asPartitionId } from '../../src/core/ids';
import { all, closeDatabase, exec, openDatabase, run } from '../../src/storage/sqlite-async';
import { SqliteStorage } from '../../src/storage/sqlite-storage';
import { A, meta, P0, storageSuite, type Engine, type Val } from './storage-suite';

/** Reads the committed state through a second connection, as another process would. */
async function withConnection<R>(file: string, fn: (db: Database) => Promise<R>): Promise<R> {
  const db = await openDatabase(file);
  try {
    return await fn(db);
  } finally {
    await closeDatabase(db);
  }
}

async function committedValue(file: string, key: string): Promise<unknown> {
  return withConnection(file, async (db) => {
    const rows = await all<{ value: Buffer }>(db, 'SELECT value FROM kv WHERE key = ?', [key]);
    return rows.length === 0 ? undefined : unpack(rows[0]!.value);
  });
}

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Make any insert of the key `poison` fail inside SQLite, as a full disk or a corrupt page would. */
function addPoisonTrigger(file: string): Promise<void> {
  return withConnection(file, (db) =>
    exec(db, `CREATE TRIGGER poison BEFORE INSERT ON kv WHEN NEW.key = 'poison'
              BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`),
  );
}

describe('SqliteStorage', () => {
  let dir: string;
  let fileSeq = 0;
  const files = new Map<unknown, string>();
  const opened: SqliteStorage<unknown>[] = [];
  const freshFile = (): string => path.join(dir, `store-${++fileSeq}.db`);

  async function openAt<T>(file: string, opts?: Parameters<typeof SqliteStorage.open>[1]): Promise<SqliteStorage<T>> {
    const s = await SqliteStorage.open<T>(file, opts);
    files.set(s, file);
    opened.push(s as SqliteStorage<unknown>);
    return s;
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-storage-'));
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('the Storage port', () => {
    storageSuite({
      modelRuns: 15,
      open: () => openAt<Val>(freshFile()),
      restart: async (s: Engine) => {
        await s.close();
        return openAt<Val>(files.get(s)!);
      },
      durableValue: async (s: Engine, key: string) => (await committedValue(files.get(s)!, key)) as Val | undefined,
      cleanup: async () => {
        for (const s of opened.splice(0)) await s.close();
      },
    });
  });

  it('uses a WAL journal and the requested synchronous level', async () => {
    for (const [level, code] of [['FULL', 2], ['NORMAL', 1]] as const) {
      const file = freshFile();
      const s = await openAt<Val>(file, { synchronous: level });
      const own = (s as unknown as { db: Database }).db; // the engine's own connection
      assert.deepEqual(await all(own, 'PRAGMA synchronous'), [{ synchronous: code }]);
      assert.deepEqual(await withConnection(file, (db) => all(db, 'PRAGMA journal_mode')), [{ journal_mode: 'wal' }]);
    }
  });

  it('resolves a put only once its transaction has committed', async () => {
    const file = freshFile();
    const s = await openAt<Val>(file);
    await withConnection(file, async (other) => {
      // Another connection holds the write lock, so the engine's commit must wait.
      await run(other, 'BEGIN IMMEDIATE');
      let resolved = false;
      const p = s.put('k', { n: 1, s: 'x' }, meta(0)).then(() => {
        resolved = true;
      });
      await tick(150);
      assert.equal(resolved, false);
      assert.deepEqual(await all(other, 'SELECT key FROM kv'), []);
      await run(other, 'COMMIT');
      await p;
      assert.deepEqual(await all(other, 'SELECT key, partition, expires FROM kv'), [
        { key: 'k', partition: 0, expires: null },
      ]);
    });
  });

  it('reopens with every value (bytes too), hint and meta, reporting load progress', async () => {
    const file = freshFile();
    const s = await openAt<Uint8Array>(file);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 12_345; i++) {
      writes.push(s.put(`k${i}`, Uint8Array.of(i & 255, i >> 8), meta(i % 7, i % 3 === 0 ? 1000 + i : null)));
    }
    writes.push(s.addHint(asNodeId('n2'), 'k1', Uint8Array.of(9), asPartitionId(1)));
    writes.push(s.setMeta('ring', '{"v":3}'));
    await Promise.all(writes);
    await s.close();

    const progress: number[] = [];
    const r = await openAt<Uint8Array>(file, { onProgress: (n) => progress.push(n) });
    assert.equal(r.size(), 12_345);
    assert.deepEqual(progress, [10_000, 12_345]);
    for (const i of [0, 1, 255, 256, 12_344]) {
      const v = r.get(`k${i}`);
      assert.ok(v instanceof Uint8Array);
      assert.deepEqual([...v], [i & 255, i >> 8]);
      assert.deepEqual(r.metaOf(`k${i}`), { partition: i % 7, expiresAtMs: i % 3 === 0 ? 1000 + i : null });
    }
    assert.equal([...r.keysInPartition(asPartitionId(3))].length, [...Array(12_345).keys()].filter((i) => i % 7 === 3).length);
    assert.deepEqual(r.expiredKeys(1003, 10).sort(), ['k0', 'k3']);
    assert.equal(r.hintCount(), 1);
    assert.deepEqual([...r.hints()[0]!.value], [9]);
    assert.equal(r.getMeta('ring'), '{"v":3}');
  });

  it('commits 10,000 concurrent puts in far fewer transactions, all readable after reopen', async () => {
    const file = freshFile();
    const s = await openAt<Val>(file);
    const puts = 10_000;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < puts; i++) writes.push(s.put(`key-${i}`, { n: i, s: 'v'.repeat(i % 50) }, meta(i % 16)));
    await Promise.all(writes);
    const { commits, rowsWritten } = s.stats();
    assert.ok(commits < puts / 10, `${commits} commits for ${puts} puts`);
    assert.equal(rowsWritten, puts);
    await s.close();
    const r = await openAt<Val>(file);
    assert.equal(r.size(), puts);
    for (let i = 0; i < puts; i++) assert.deepEqual(r.get(`key-${i}`), { n: i, s: 'v'.repeat(i % 50) });
  });

  it('bounds the rows of one transaction by commitBatchMax', async () => {
    const file = freshFile();
    const s = await openAt<Val>(file, { commitBatchMax: 10 });
    await Promise.all(Array.from({ length: 35 }, (_, i) => s.put(`k${i}`, { n: i, s: '' }, meta(0))));
    assert.ok(s.stats().commits >= 4, `${s.stats().commits} commits`);
    assert.deepEqual(await withConnection(file, (db) => all(db, 'SELECT count(*) AS n FROM kv')), [{ n: 35 }]);
  });

  it('writes large batches as several multi-row statements', async () => {
    const file = freshFile();
    const s = await openAt<Val>(file, { commitBatchMax: 10_000 });
    await Promise.all(Array.from({ length: 1200 }, (_, i) => s.put(`k${i}`, { n: i, s: '' }, meta(i % 3))));
    const hintIds = await Promise.all(Array.from({ length: 1100 }, (_, i) => s.addHint(A, `k${i}`, { n: i, s: 'h' }, P0)));
    // One batch, coalesced to 500 deletes, 700 puts (600 of them replacing a
    // delete queued just before) and 1,050 hint deletes: full 500-row
    // statements, reused, plus odd-sized tails.
    const commitsBefore = s.stats().commits;
    const batch: Promise<void>[] = [];
    for (let i = 0; i < 1100; i++) batch.push(s.remove(`k${i}`));
    batch.push(s.removeHints(hintIds.slice(50)));
    for (let i = 500; i < 1200; i++) batch.push(s.put(`k${i}`, { n: -i, s: 'again' }, meta(0)));
    await Promise.all(batch);
    assert.equal(s.stats().commits - commitsBefore, 1);
    await s.close();
    const r = await openAt<Val>(file);
    assert.equal(r.size(), 700);
    assert.equal(r.get('k499'), undefined);
    assert.deepEqual(r.get('k500'), { n: -500, s: 'again' });
    assert.deepEqual(r.get('k1199'), { n: -1199, s: 'again' });
    assert.deepEqual(r.hints().map((h) => h.id), hintIds.slice(0, 50));
  });

  it('flushes pending writes on close()', async () => {
    const file = freshFile();
    const s = await openAt<Val>(file);
    const p = s.put('late', { n: 1, s: '' }, meta(0));
    await s.close();
    await p;
    assert.deepEqual(await committedValue(file, 'late'), { n: 1, s: '' });
    await assert.rejects(s.put('after', { n: 2, s: '' }, meta(0)), ClosedError);
  });

  it('rejects every write of a failed transaction with StorageError, rolls it back, and carries on', async () => {
    const file = freshFile();
    const s = await openAt<Val>(file);
    await s.put('before', { n: 0, s: '' }, meta(0));
    await addPoisonTrigger(file);
    const failing = [
      s.put('innocent', { n: 1, s: '' }, meta(0)),
      s.put('poison', { n: 2, s: '' }, meta(0)),
      s.setMeta('m', 'lost'),
    ];
    for (const p of failing) {
      await assert.rejects(p, (e: unknown) => e instanceof StorageError && /injected failure/.test(e.message));
    }
    assert.equal(s.stats().failedCommits, 1);
    assert.equal(s.stats().pendingOps, 0);
    // Rolled back as a whole: not even the innocent row of the batch is on disk.
    assert.equal(await committedValue(file, 'innocent'), undefined);
    assert.deepEqual(await withConnection(file, (db) => all(db, 'SELECT * FROM meta')), []);
    // The engine keeps working once the cause is gone.
    await withConnection(file, (db) => exec(db, 'DROP TRIGGER poison'));
    await s.put('after', { n: 3, s: '' }, meta(0));
    assert.deepEqual(await committedValue(file, 'after'), { n: 3, s: '' });
    await s.close();
    const r = await openAt<Val>(file);
    assert.deepEqual([...r.keys()].sort(), ['after', 'before']);
  });

  it('rolls back a batch of more than one full statement as a whole', async () => {
    const file = freshFile();
    const s = await openAt<Val>(file);
    await s.put('before', { n: 0, s: '' }, meta(0));
    await addPoisonTrigger(file);
    // 500 rows fill the first statement; the poisoned row is in the second.
    const puts = Array.from({ length: 500 }, (_, i) => s.put(`bulk-${i}`, { n: i, s: '' }, meta(0)));
    puts.push(s.put('poison', { n: -1, s: '' }, meta(0)));
    const outcomes = await Promise.allSettled(puts);
    assert.ok(outcomes.every((o) => o.status === 'rejected'), 'every write of the batch fails');
    assert.equal(await committedValue(file, 'bulk-0'), undefined, 'the first statement was rolled back too');
    await s.close();
  });

  it('reuses a prepared statement after it failed: a later batch of the same size commits', async () => {
    const file = freshFile();
    const s = await openAt<Val>(file);
    await Promise.all([s.put('a1', { n: 1, s: '' }, meta(0)), s.put('a2', { n: 2, s: '' }, meta(0))]);
    await addPoisonTrigger(file);
    const failing = [s.put('b1', { n: 3, s: '' }, meta(0)), s.put('poison', { n: 4, s: '' }, meta(0))];
    for (const p of failing) await assert.rejects(p, StorageError);
    assert.equal(await committedValue(file, 'b1'), undefined, 'the failed statement is its own transaction');
    await withConnection(file, (db) => exec(db, 'DROP TRIGGER poison'));
    await Promise.all([s.put('c1', { n: 5, s: '' }, meta(0)), s.put('c2', { n: 6, s: '' }, meta(0))]);
    assert.deepEqual(await committedValue(file, 'c2'), { n: 6, s: '' });
    assert.equal(s.stats().failedCommits, 1);
    await s.close();
    const r = await openAt<Val>(file);
    assert.deepEqual([...r.keys()].sort(), ['a1', 'a2', 'c1', 'c2']);
    await r.close();
  });

  it('fails open() with StorageError on a path it cannot create', async () => {
    await assert.rejects(SqliteStorage.open(path.join(dir, 'no-such-dir', 'x.db')), StorageError);
  });

  it('fails open() with StorageError on a value it cannot decode', async () => {
    const file = freshFile();
    const s = await openAt<Val>(file);
    await s.close();
    await withConnection(file, (db) =>
      run(db, 'INSERT INTO kv (key, partition, expires, value) VALUES (?, ?, ?, ?)', ['bad', 0, null, Buffer.from([0x92, 0x01]) /* truncated array */]),
    );
    await assert.rejects(SqliteStorage.open(file), StorageError);
  });
  it('converts a kv table of the old rowid layout at open, keeping every row', async () => {
    const file = freshFile();
    const { pack } = await import('msgpackr');
    await withConnection(file, async (db) => {
      await exec(db, 'CREATE TABLE kv (key TEXT PRIMARY KEY, partition INTEGER NOT NULL, expires INTEGER, value BLOB NOT NULL)');
      await run(db, 'INSERT INTO kv VALUES (?, ?, ?, ?), (?, ?, ?, ?)', [
        'a', 3, null, pack({ n: 1, s: 'one' }), 'b', 5, 4_102_444_800_000, pack({ n: 2, s: 'two' }),
      ]);
    });
    const s = await openAt<Val>(file);
    assert.deepEqual(s.get('a'), { n: 1, s: 'one' });
    assert.deepEqual(s.get('b'), { n: 2, s: 'two' });
    const layout = await withConnection(file, (db) => all<{ sql: string }>(db, "SELECT sql FROM sqlite_master WHERE name = 'kv'"));
    assert.match(layout[0]!.sql, /WITHOUT ROWID/);
    assert.deepEqual(
      await withConnection(file, (db) => all(db, 'SELECT key, partition, expires FROM kv ORDER BY key')),
      [{ key: 'a', partition: 3, expires: null }, { key: 'b', partition: 5, expires: 4_102_444_800_000 }],
    );
    assert.deepEqual(s.metaOf('b'), { partition: 5, expiresAtMs: 4_102_444_800_000 });
    await s.put('c', { n: 3, s: 'three' }, meta(0));
    await s.close();
    const again = await openAt<Val>(file);
    assert.deepEqual([again.get('a'), again.get('c')], [{ n: 1, s: 'one' }, { n: 3, s: 'three' }]);
  });
});
