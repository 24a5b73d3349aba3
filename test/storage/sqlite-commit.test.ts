import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { asNodeId, asPartitionId } from '../../src/core/ids';
import { all, closeDatabase, exec, openDatabase } from '../../src/storage/sqlite-async';
import { SqliteStorage } from '../../src/storage/sqlite-storage';

/** The commit paths of SqliteStorage (docs/benchmarks.md): one statement alone, or BEGIN ... COMMIT. */
describe('SqliteStorage commits', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-commit-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  const meta = (p: number, exp: number | null = null) => ({ partition: asPartitionId(p), expiresAtMs: exp });

  it('makes a batch of puts that fits one statement durable (the single-statement path)', async () => {
    const file = path.join(dir, 'small.db');
    const s = await SqliteStorage.open<{ n: number }>(file);
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.put(`k${i}`, { n: i }, meta(i % 7, 1000 + i))));
    const commits = s.stats().commits;
    await s.close();
    const r = await SqliteStorage.open<{ n: number }>(file);
    assert.equal(r.size(), 50);
    assert.deepEqual(r.get('k49'), { n: 49 });
    assert.equal(r.metaOf('k3')?.expiresAtMs, 1003);
    assert.ok(commits >= 1 && commits <= 3, `${commits} commits for 50 puts in one turn`);
    await r.close();
  });

  it('makes a batch of several statements durable as one transaction (puts, deletes, hints and meta)', async () => {
    const file = path.join(dir, 'mixed.db');
    const s = await SqliteStorage.open<{ n: number }>(file, { commitBatchMax: 5000 });
    await s.put('gone', { n: 0 }, meta(1));
    // 1200 puts (three INSERT statements, one of them prepared), a delete, a hint and a meta value, all in one batch.
    const writes: Array<Promise<unknown>> = Array.from({ length: 1200 }, (_, i) => s.put(`k${i}`, { n: i }, meta(i % 5)));
    writes.push(s.remove('gone'), s.addHint(asNodeId('n9'), 'k1', { n: -1 }, asPartitionId(1)), s.setMeta('m', 'v'));
    await Promise.all(writes);
    await s.close();
    const r = await SqliteStorage.open<{ n: number }>(file);
    assert.equal(r.size(), 1200);
    assert.equal(r.get('gone'), undefined);
    assert.deepEqual(r.hints().map((h) => [h.target, h.key]), [['n9', 'k1']]);
    assert.equal(r.getMeta('m'), 'v');
    await r.close();
  });

  it('keeps index positions right when a record is rewritten with the same or another expiry', async () => {
    const s = await SqliteStorage.open<{ n: number }>(path.join(dir, 'idx.db'));
    await s.put('a', { n: 1 }, meta(2, 100));
    await s.put('a', { n: 2 }, meta(2, 100));
    assert.deepEqual(s.get('a'), { n: 2 });
    assert.deepEqual(s.expiredKeys(150, 10), ['a']);
    await s.put('a', { n: 3 }, meta(2, 500));
    assert.deepEqual(s.expiredKeys(150, 10), []);
    assert.deepEqual(s.expiredKeys(600, 10), ['a']);
    await s.put('a', { n: 4 }, meta(3, 500));
    assert.deepEqual([...s.keysInPartition(asPartitionId(2))], []);
    assert.deepEqual([...s.keysInPartition(asPartitionId(3))], ['a']);
    await s.close();
  });

  it('drops the unused kv_expires index of files made by earlier versions', async () => {
    const file = path.join(dir, 'old.db');
    const db = await openDatabase(file);
    await exec(db, `CREATE TABLE kv (key TEXT PRIMARY KEY, partition INTEGER NOT NULL, expires INTEGER, value BLOB NOT NULL);
      CREATE INDEX kv_expires ON kv (expires);`);
    await closeDatabase(db);
    const s = await SqliteStorage.open<{ n: number }>(file);
    await s.close();
    const check = await openDatabase(file);
    const idx = await all<{ name: string }>(check, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'kv_expires'");
    await closeDatabase(check);
    assert.deepEqual(idx, []);
  });
});
