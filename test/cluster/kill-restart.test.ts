/**
 * Dynamo 4.6 end to end: three real node processes over WebSocket with SQLite
 * files; one is killed with SIGKILL mid-run; every write still succeeds at
 * N=3, W=2 (sloppy quorum + durable hints); after the restart, hints are
 * handed off and every key reads back from every node with r=3.
 */
import { strict as assert } from 'node:assert';
import { ProcessCluster, waitFor } from './process-cluster';

async function put(c: ProcessCluster, via: string, key: string, value: string): Promise<number> {
  const res = await fetch(c.url(via, `/kv/${encodeURIComponent(key)}`), {
    method: 'PUT', body: value, headers: { 'Content-Type': 'text/plain' },
  });
  await res.arrayBuffer();
  return res.status;
}

describe('cluster: kill -9 one of three nodes (Dynamo 4.6 sloppy quorum, hinted handoff)', function () {
  this.timeout(120_000);
  let c: ProcessCluster;

  before(async () => {
    c = await ProcessCluster.create({ nodes: 3 });
    c.startAll();
    await c.waitConverged();
  });

  after(async function () {
    await c.teardown(this.currentTest?.state === 'failed', 3000);
  });

  it('acknowledges every write while a node is down and loses none after it returns', async () => {
    const written = new Map<string, string>();
    const nodes = ['n1', 'n2', 'n3'];
    for (let i = 0; i < 150; i++) {
      const key = `before-${i}`;
      const value = `v-${i}-${'x'.repeat(i % 50)}`;
      assert.equal(await put(c, nodes[i % 3]!, key, value), 204, `put ${key}`);
      written.set(key, value);
    }

    await c.kill('n3');
    for (let i = 0; i < 150; i++) {
      const key = `during-${i}`;
      const value = `d-${i}`;
      assert.equal(await put(c, i % 2 ? 'n1' : 'n2', key, value), 204, `put ${key} while n3 is down`);
      written.set(key, value);
    }
    // Overwrite some earlier keys with their context while n3 is down.
    for (let i = 0; i < 20; i++) {
      const key = `before-${i}`;
      const got = await fetch(c.url('n1', `/kv/${key}`));
      assert.equal(got.status, 200);
      await got.arrayBuffer();
      const ctx = got.headers.get('x-ringstore-context')!;
      const res = await fetch(c.url('n2', `/kv/${key}`), { method: 'PUT', body: `new-${i}`, headers: { 'X-Ringstore-Context': ctx } });
      assert.equal(res.status, 204);
      written.set(key, `new-${i}`);
    }
    const held = (await c.status('n1')).hints.pending + (await c.status('n2')).hints.pending;
    assert.ok(held >= 170, `survivors hold hints for n3 (got ${held})`);

    c.start('n3');
    await c.waitConverged();
    await waitFor('hints handed off to n3', async () =>
      (await c.status('n1')).hints.pending === 0 && (await c.status('n2')).hints.pending === 0, 30_000);
    assert.ok((await c.status('n3')).keys >= written.size, 'n3 holds every key after handoff');

    for (const id of nodes) {
      for (const [key, value] of written) {
        const res = await fetch(c.url(id, `/kv/${key}?r=3`));
        assert.equal(res.status, 200, `${key} via ${id}`);
        assert.equal(await res.text(), value, `${key} via ${id}`);
      }
    }
  });
});
