/**
 * Tombstone reaping end to end (issue 14 part 2): three real node processes
 * with a short --tombstone-grace-s. 200 /kv keys are written, one node is
 * killed (SIGKILL), the keys are deleted; nothing is reaped while that node
 * is away, however long past the grace; once it is back, every key is gone
 * from every replica (GET /admin/replicas/KEY) within two minutes and reads
 * 404 through every node: the returning node's old values do not come back.
 */
import { strict as assert } from 'node:assert';
import { ProcessCluster, sleep, waitFor } from './process-cluster';

const KEYS = 200;
const GRACE_S = 1;

interface ReplicasBody {
  replicas: Array<{ node: string; reachable: boolean; present: boolean; bytes?: number; digest?: string }>;
}

interface TombstoneStatus {
  held: number;
  reaped: number;
}

async function tombstones(c: ProcessCluster, id: string): Promise<TombstoneStatus> {
  const st = (await c.status(id)) as unknown as { tombstones: TombstoneStatus };
  return st.tombstones;
}

async function replicasOf(c: ProcessCluster, via: string, key: string): Promise<ReplicasBody> {
  const res = await fetch(c.url(via, `/admin/replicas/${encodeURIComponent(key)}`));
  assert.equal(res.status, 200);
  return (await res.json()) as ReplicasBody;
}

describe('cluster: deleted keys are reaped on every replica and stay deleted (3 processes)', function () {
  this.timeout(120_000);
  let c: ProcessCluster;

  before(async () => {
    c = await ProcessCluster.create({ nodes: 3, extraArgs: ['--tombstone-grace-s', String(GRACE_S)] });
    c.startAll();
    await c.waitConverged();
  });

  after(async function () {
    await c.teardown(this.currentTest?.state === 'failed', 3000);
  });

  it('reaps 200 deletes everywhere, also after a node that was down during them returns, and reads 404', async () => {
    const nodes = ['n1', 'n2', 'n3'];
    const keys = Array.from({ length: KEYS }, (_, i) => `reap-${i}`);
    await Promise.all(keys.map(async (key, i) => {
      const res = await fetch(c.url(nodes[i % 3]!, `/kv/${key}`), { method: 'PUT', body: `value-${i}`, headers: { 'Content-Type': 'text/plain' } });
      await res.arrayBuffer();
      assert.equal(res.status, 204, `put ${key}`);
    }));
    const before = await replicasOf(c, 'n1', keys[0]!);
    assert.ok(before.replicas.every((r) => r.present && typeof r.bytes === 'number' && r.bytes > 0), 'bytes beside digest');

    await c.kill('n3');
    const deleteStart = Date.now();
    for (let i = 0; i < KEYS; i += 20) {
      await Promise.all(keys.slice(i, i + 20).map(async (key, j) => {
        const res = await fetch(c.url(j % 2 ? 'n1' : 'n2', `/kv/${key}`), { method: 'DELETE' });
        await res.arrayBuffer();
        assert.ok(res.status >= 200 && res.status < 300, `delete ${key}: ${res.status}`);
      }));
    }
    const deletedAt = Date.now();
    const deleteMs = deletedAt - deleteStart;

    // n3 missed every delete: three graces later nothing is reaped anywhere.
    await sleep(3 * GRACE_S * 1000 + 500);
    for (const id of ['n1', 'n2']) {
      const t = await tombstones(c, id);
      assert.equal(t.reaped, 0, `${id} reaped nothing while n3 was down`);
      assert.equal(t.held, KEYS, `${id} holds every tombstone`);
    }

    c.start('n3');
    const restartedAt = Date.now();
    await c.waitConverged();
    let pending = new Set(keys);
    await waitFor('every key absent on every replica', async () => {
      const left = new Set<string>();
      for (let i = 0; i < keys.length; i += 25) {
        const chunk = [...pending].slice(i, i + 25);
        await Promise.all(chunk.map(async (key) => {
          const body = await replicasOf(c, 'n1', key);
          if (!body.replicas.every((r) => r.reachable && !r.present)) left.add(key);
        }));
      }
      pending = left;
      return left.size === 0;
    }, 120_000, 250);
    const reapedAt = Date.now();
    const held = await Promise.all(nodes.map((id) => tombstones(c, id)));

    for (const id of nodes) {
      for (const key of keys) {
        const res = await fetch(c.url(id, `/kv/${key}?r=3`));
        await res.arrayBuffer();
        assert.equal(res.status, 404, `${key} via ${id}`);
      }
    }
    // After a few more anti-entropy rounds and hint ticks, still nothing is back.
    await sleep(2000);
    for (const id of nodes) assert.equal((await c.status(id)).keys, 0, `${id} holds no key`);
    const metrics = await (await fetch(c.url('n1', '/metrics'))).text();
    assert.match(metrics, /ringstore_tombstones_reaped_total\{[^}]*\} 200/);
    assert.match(metrics, /ringstore_tombstones_held\{[^}]*\} 0/);
    console.log(`      deletes ${deleteMs} ms; n3 down ${restartedAt - deletedAt} ms after them; ` +
      `reaped everywhere ${reapedAt - restartedAt} ms after n3's restart (${reapedAt - deletedAt} ms after the deletes); ` +
      `tombstones held then ${held.map((t) => t.held).join('/')}, reaped ${held.map((t) => t.reaped).join('/')}`);
  });
});
