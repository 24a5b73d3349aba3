/**
 * A network partition between regions (issue 3, point 5; DESIGN.md
 * Protocols): links cut in the transport (POST /admin/faults on both
 * sides) never block writes on either side (sloppy quorum, Dynamo 4.6);
 * each side holds the other down, yet the ring does not move; after the
 * heal every node is alive everywhere, hints drain, and every acknowledged
 * write is on every replica. Prints the time the cluster takes to converge
 * after the heal.
 */
import { strict as assert } from 'node:assert';
import { sleep, waitFor } from './process-cluster';
import { MemberCluster, readBack, replicaCopiesMissing, Writers } from './membership-cluster';

async function faults(c: MemberCluster, id: string, body: unknown): Promise<void> {
  const res = await fetch(c.url(id, '/admin/faults'), body === null
    ? { method: 'DELETE' }
    : { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  await res.arrayBuffer();
  assert.equal(res.status, 200);
}

describe('cluster: a partition between regions heals without losing a write', function () {
  this.timeout(60_000);
  let c: MemberCluster;

  before(async () => {
    // n1, n4 in r1; n2, n5 in r2; n3 in r3.
    c = await MemberCluster.create({ nodes: 5, regions: ['r1', 'r2', 'r3'] });
    c.start('n1', ['n1']);
    for (const id of ['n2', 'n3', 'n4', 'n5']) c.start(id, ['n1']);
    await c.waitConverged(c.ids(), 30_000);
  });

  after(async function () {
    if (this.currentTest?.state === 'failed') c.dumpLogs(3000);
    await c.stopAll();
    c.cleanup();
  });

  it('accepts writes on both sides of a cut, then converges after the heal with every write on every replica', async () => {
    const sideA = ['n1', 'n4'];
    const sideB = ['n2', 'n3', 'n5'];
    const ring = (await c.status('n1')).ringVersion;
    for (const id of sideA) await faults(c, id, { cut: ['r2', 'r3'] });
    for (const id of sideB) await faults(c, id, { cut: ['r1'] });
    const cutAt = Date.now();
    const a = new Writers(c, { workers: 3, prefix: 'sideA', via: () => sideA });
    const b = new Writers(c, { workers: 3, prefix: 'sideB', via: () => sideB });
    a.start();
    b.start();
    await waitFor('each side holds the other down', async () => {
      const all = await Promise.all(c.ids().map((id) => c.status(id)));
      return all.every((st) => st.members.every((m) =>
        (sideA.includes(st.id) === sideA.includes(m.id)) ? m.state === 'alive' : m.state === 'down'));
    }, 15_000, 100);
    const splitMs = Date.now() - cutAt;
    await sleep(2000);
    await Promise.all([a.stop(), b.stop()]);
    assert.equal(a.failed + b.failed, 0, `writes refused during the partition: side A ${a.failed}, side B ${b.failed}`);
    assert.ok(a.acked.size > 20 && b.acked.size > 20, `acknowledged: side A ${a.acked.size}, side B ${b.acked.size}`);
    for (const st of await Promise.all(c.ids().map((id) => c.status(id)))) assert.equal(st.ringVersion, ring, `${st.id}'s ring moved`);
    const held = (await Promise.all(c.ids().map((id) => c.status(id)))).reduce((s, st) => s + st.hints.pending, 0);

    for (const id of c.ids()) await faults(c, id, null);
    const healedAt = Date.now();
    const { ms: aliveMs } = await c.waitConverged(c.ids(), 20_000);
    await c.waitHandoffDone(c.ids(), 30_000);
    const drainedMs = Date.now() - healedAt;
    console.log(`      cut: each side held the other down after ${splitMs} ms; ${a.acked.size} + ${b.acked.size} writes acknowledged, ` +
      `none refused; ${held} hints held`);
    console.log(`      heal: all alive everywhere after ${aliveMs} ms, hints drained after ${drainedMs} ms`);

    const written = new Map([...a.acked, ...b.acked]);
    const bad = await readBack(c, written, c.ids(), 3);
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${written.size} acknowledged writes not read back at r=3`);
    await sleep(500);
    await c.stopAll('SIGTERM');
    const missing = await replicaCopiesMissing(c, written);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} (key, replica) copies missing after the heal`);
  });
});
