/**
 * Dynamo 4.6 hints are durable: with four nodes and N=3, writes meant for a
 * dead owner are held by fallback nodes; those fallbacks are themselves
 * killed with SIGKILL and restarted before the owner returns, and the owner
 * still receives every write.
 */
import { strict as assert } from 'node:assert';
import { ProcessCluster, waitFor } from './process-cluster';

describe('cluster: hints survive a SIGKILL of the node holding them (Dynamo 4.6)', function () {
  this.timeout(120_000);
  let c: ProcessCluster;

  before(async () => {
    c = await ProcessCluster.create({ nodes: 4, regions: ['r1'] });
    c.startAll();
    await c.waitConverged();
  });

  after(async function () {
    await c.teardown(this.currentTest?.state === 'failed', 3000);
  });

  it('hands off every hint after the holders restart', async () => {
    await c.kill('n4');
    const written = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const key = `h-${i}`;
      const res = await fetch(c.url(['n1', 'n2', 'n3'][i % 3]!, `/kv/${key}`), { method: 'PUT', body: `v${i}` });
      assert.equal(res.status, 204, `put ${key}`);
      written.set(key, `v${i}`);
    }
    // A fallback's hint may commit just after the client got its W acks.
    await new Promise((r) => setTimeout(r, 500));
    const holders: string[] = [];
    let held = 0;
    for (const id of ['n1', 'n2', 'n3']) {
      const pending = (await c.status(id)).hints.pending;
      held += pending;
      if (pending > 0) holders.push(id);
    }
    assert.ok(held > 0 && holders.length > 0, 'some writes are held only as hints for n4');

    for (const id of holders) {
      await c.kill(id);
      c.start(id);
    }
    await c.waitConverged(['n1', 'n2', 'n3']);
    let after = 0;
    for (const id of holders) after += (await c.status(id)).hints.pending;
    assert.ok(after >= held, `every hint survived the SIGKILL (${after} of ${held})`);

    c.start('n4');
    await c.waitConverged();
    await waitFor('hints handed off', async () => {
      for (const id of ['n1', 'n2', 'n3']) if ((await c.status(id)).hints.pending !== 0) return false;
      return true;
    }, 30_000);
    for (const [key, value] of written) {
      const res = await fetch(c.url('n4', `/kv/${key}?r=3`));
      assert.equal(res.status, 200, key);
      assert.equal(await res.text(), value, key);
    }
  });
});
