/**
 * Dynamo 4.7 end to end: silent divergence heals. Three real node processes
 * with a short anti-entropy interval; one is stopped, rows are deleted from
 * its SQLite file and others rolled back to an older version (as a bad
 * restore would), and no client touches those keys again. After the restart
 * only anti-entropy can repair them: within a bounded time every replica
 * holds every key at its newest version again.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { all, closeDatabase, openDatabase, run } from '../../src/storage/sqlite-async';
import { ProcessCluster, waitFor } from './process-cluster';

const KEYS = 300;
const DELETED = Array.from({ length: 100 }, (_, i) => key(100 + i));
const ROLLED_BACK = Array.from({ length: 20 }, (_, i) => key(i));
const HEAL_BOUND_MS = 30_000;

function key(i: number): string {
  return `ae-${String(i).padStart(3, '0')}`;
}

interface ReplicasBody {
  replicas: Array<{ node: string; present: boolean; digest?: string }>;
}

interface AntiEntropyBody {
  exchanges: number;
  keysRepaired: number;
  bytesExchanged: number;
  tree: string;
}

describe('cluster: anti-entropy heals rows deleted or rolled back in a replica\'s SQLite file (Dynamo 4.7)', function () {
  this.timeout(120_000);
  let c: ProcessCluster;

  before(async () => {
    c = await ProcessCluster.create({ nodes: 3, extraArgs: ['--anti-entropy-interval-ms', '20', '--partitions', '32'] });
    c.startAll();
    await c.waitConverged();
  });

  after(async function () {
    await c.teardown(this.currentTest?.state === 'failed', 3000);
  });

  async function put(via: string, k: string, value: string, context?: string): Promise<void> {
    const res = await fetch(c.url(via, `/kv/${k}`), {
      method: 'PUT', body: value, headers: { 'Content-Type': 'text/plain', ...(context ? { 'X-Ringstore-Context': context } : {}) },
    });
    await res.arrayBuffer();
    assert.equal(res.status, 204, `put ${k}`);
  }

  /** Each replica's own copy, by digest, without a read that would repair it. */
  async function replicas(k: string): Promise<ReplicasBody['replicas']> {
    const res = await fetch(c.url('n1', `/admin/replicas/${k}`));
    assert.equal(res.status, 200);
    return ((await res.json()) as ReplicasBody).replicas;
  }

  async function converged(keys: string[]): Promise<boolean> {
    for (const k of keys) {
      const reps = await replicas(k);
      if (reps.length !== 3 || !reps.every((r) => r.present && r.digest === reps[0]!.digest)) return false;
    }
    return true;
  }

  it('repairs every key within a bounded time after the replica restarts', async () => {
    const all3 = ['n1', 'n2', 'n3'];
    for (let i = 0; i < KEYS; i++) await put(all3[i % 3]!, key(i), `v-${i}`);
    await waitFor('every write on every replica', async () => {
      for (const id of all3) if ((await c.status(id)).keys !== KEYS) return false;
      return true;
    });

    // Keep n3's copies of the first keys, then move those keys on.
    const db3 = path.join(c.spec('n3').dataDir, 'ringstore.db');
    const reader = await openDatabase(db3);
    const old = await all<{ key: string; value: Buffer }>(reader, `SELECT key, value FROM kv WHERE key IN (${ROLLED_BACK.map(() => '?').join(',')})`, ROLLED_BACK);
    await closeDatabase(reader);
    assert.equal(old.length, ROLLED_BACK.length);
    for (const [i, k] of ROLLED_BACK.entries()) {
      const got = await fetch(c.url('n1', `/kv/${k}`));
      await got.arrayBuffer();
      await put('n2', k, `new-${i}`, got.headers.get('x-ringstore-context')!);
    }
    await waitFor('the new versions on every replica', () => converged(ROLLED_BACK));

    // Stopped, n3 loses 100 rows and 20 rows go back to their old version.
    await c.kill('n3');
    const writer = await openDatabase(db3);
    await run(writer, `DELETE FROM kv WHERE key IN (${DELETED.map(() => '?').join(',')})`, DELETED);
    for (const row of old) await run(writer, 'UPDATE kv SET value = ? WHERE key = ?', [row.value, row.key]);
    const [{ n }] = await all<{ n: number }>(writer, 'SELECT count(*) AS n FROM kv');
    await closeDatabase(writer);
    assert.equal(n, KEYS - DELETED.length);

    c.start('n3');
    const restarted = Date.now();
    await c.waitConverged();
    await waitFor('n3 holds every key again', async () => (await c.status('n3')).keys === KEYS, HEAL_BOUND_MS);
    await waitFor('every replica holds the newest version of every key', () => converged([...ROLLED_BACK, ...DELETED]), HEAL_BOUND_MS);
    const healMs = Date.now() - restarted;
    console.log(`      healed ${DELETED.length} deleted and ${ROLLED_BACK.length} rolled-back rows in ${healMs} ms after the restart`);
    assert.ok(healMs < HEAL_BOUND_MS);
    assert.ok(await converged(Array.from({ length: KEYS }, (_, i) => key(i))), 'every key agrees on every replica');

    // The values are the newest ones, read through n3.
    for (const [i, k] of ROLLED_BACK.entries()) {
      const res = await fetch(c.url('n3', `/kv/${k}?r=3`));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), `new-${i}`);
    }

    const ae = await Promise.all(all3.map(async (id) => ((await c.status(id)) as unknown as { antiEntropy: AntiEntropyBody }).antiEntropy));
    const repaired = ae.reduce((s, x) => s + x.keysRepaired, 0);
    assert.ok(repaired >= DELETED.length + ROLLED_BACK.length, `anti-entropy repaired ${repaired} keys`);
    assert.ok(ae.every((x) => x.exchanges > 0 && x.bytesExchanged > 0 && x.tree === 'ae1-16-3'));
    const metrics = await (await fetch(c.url('n3', '/metrics'))).text();
    assert.match(metrics, /ringstore_anti_entropy_keys_repaired\{[^}]*\} \d+/);
  });
});
