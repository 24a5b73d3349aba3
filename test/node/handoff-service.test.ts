/**
 * The handoff service on real nodes in one process (docs/membership.md):
 * leave through the admin API, its refusal for the last member, and what
 * /admin/status reports about members and handoff.
 */
import { strict as assert } from 'node:assert';
import { asNodeId } from '../../src/core/ids';
import { waitFor } from '../cluster/process-cluster';
import { InProcessCluster } from './in-process-cluster';

describe('node/handoff-service (Dynamo 4.9 handoff, leave)', function () {
  this.timeout(30_000);

  it('refuses to let the last member leave', async () => {
    const c = await InProcessCluster.start(1);
    try {
      const res = await fetch(c.url(0, '/admin/leave'), { method: 'POST' });
      assert.equal(res.status, 409);
      assert.equal(((await res.json()) as { code: string }).code, 'RS_ERR_LEAVE_REFUSED');
      assert.equal(c.nodes[0]!.isLeaving(), false);
    } finally {
      await c.stop();
    }
  });

  it('leaves: the node turns leaving everywhere, drops out of every ring, hands its keys off and reports done', async () => {
    const c = await InProcessCluster.start(3, { config: { handoffIntervalMs: 100 } });
    try {
      for (let i = 0; i < 60; i++) {
        const res = await fetch(c.url(i % 3, `/kv/k${i}`), { method: 'PUT', body: `v${i}` });
        assert.equal(res.status, 204);
      }
      const [n1, n2, n3] = c.nodes as [typeof c.nodes[0], typeof c.nodes[0], typeof c.nodes[0]];
      assert.equal(n3.storage.size(), 60, 'with N=3 every node holds every key');
      const res = await fetch(c.url(2, '/admin/leave'), { method: 'POST' });
      assert.equal(res.status, 202);
      assert.equal(((await res.json()) as { leave: { state: string } }).leave.state, 'leaving');
      assert.equal((await fetch(c.url(2, '/admin/leave'), { method: 'POST' })).status, 200, 'a second call is harmless');
      await waitFor('n3 leaving everywhere', () =>
        [n1, n2].every((n) => n.memberStateOf(asNodeId('n3')) === 'leaving' && n.currentRing().version === n3.currentRing().version), 10_000);
      assert.ok(!n3.currentRing().members.some((m) => m.id === 'n3'), 'the ring excludes the leaving node');
      await waitFor('n3 done', () => (n3.status() as unknown as { leave: { state: string } }).leave.state === 'done', 15_000);
      assert.equal(n3.storage.size(), 0);
      assert.ok(n3.status().epoch > 1, 'the epoch advanced before opaque records were dropped');
      for (let i = 0; i < 60; i++) {
        const got = await fetch(c.url(0, `/kv/k${i}?r=2`));
        assert.equal(await got.text(), `v${i}`);
      }
      const st = n3.status() as unknown as {
        handoff: { active: number; done: number; total: number; partitions: Array<{ direction: string; state: string }> };
        members: Array<{ id: string; state: string; incarnation: number }>;
      };
      assert.equal(st.handoff.active, 0);
      assert.ok(st.handoff.done > 0 && st.handoff.done === st.handoff.total);
      assert.ok(st.handoff.partitions.every((p) => p.direction === 'out' && p.state === 'done'));
      assert.ok(st.members.every((m) => Number.isInteger(m.incarnation)));
    } finally {
      await c.stop();
    }
  });
});
