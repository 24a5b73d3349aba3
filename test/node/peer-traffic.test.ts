/**
 * The `traffic` section of /admin/status: bytes to and from the other nodes,
 * by their region, and the part that crosses regions.
 */
import { strict as assert } from 'node:assert';
import { peerTrafficByRegion } from '../../src/node/peer-traffic';
import { InProcessCluster } from './in-process-cluster';

interface Traffic {
  byRegion: Record<string, { bytesSent: number; bytesReceived: number }>;
  crossRegion: { bytesSent: number; bytesReceived: number };
}

describe('node/peer-traffic', function () {
  this.timeout(30_000);

  it('sums peers by region and counts the other regions as cross-region', () => {
    const t = peerTrafficByRegion({
      a: { region: 'r1', bytesSent: 10, bytesReceived: 1 },
      b: { region: 'r2', bytesSent: 20, bytesReceived: 2 },
      c: { region: 'r2', bytesSent: 30, bytesReceived: 3 },
      d: { region: null, bytesSent: 40, bytesReceived: 4 },
    }, 'r1');
    assert.deepEqual(t.byRegion, {
      r1: { bytesSent: 10, bytesReceived: 1 }, r2: { bytesSent: 50, bytesReceived: 5 }, unknown: { bytesSent: 40, bytesReceived: 4 },
    });
    assert.deepEqual(t.crossRegion, { bytesSent: 50, bytesReceived: 5 }, 'r2 only: r1 is local, d not known yet');
  });

  it('counts the bytes a write sends to the replicas in the other regions', async () => {
    const c = await InProcessCluster.start(3);
    try {
      const traffic = (): Traffic => c.nodes[0]!.status().traffic as Traffic;
      const before = traffic();
      const value = 'x'.repeat(20_000);
      for (let i = 0; i < 10; i++) {
        assert.equal((await fetch(c.url(0, `/kv/traffic-${i}?w=3`), { method: 'PUT', body: value })).status, 204);
      }
      const after = traffic();
      // N=3 over three regions: every write goes to the r2 and r3 replicas,
      // from n1 itself or from the replica n1 forwarded it to.
      const sent = after.crossRegion.bytesSent - before.crossRegion.bytesSent;
      const received = after.crossRegion.bytesReceived - before.crossRegion.bytesReceived;
      assert.ok(sent + received >= 10 * 20_000, `n1 moved ${sent} + ${received} bytes across regions for 200 kB of writes`);
      for (const r of ['r2', 'r3']) assert.ok(after.byRegion[r]!.bytesSent > before.byRegion[r]!.bytesSent, `bytes sent to ${r}`);
      assert.equal(after.byRegion.r1, undefined, 'n1 is the only node of r1');
      const peers = Object.values(c.nodes[0]!.network.stats().peers).filter((p) => p.region === 'r2' || p.region === 'r3');
      assert.equal(peers.reduce((t, p) => t + p.bytesSent, 0), after.crossRegion.bytesSent);
    } finally {
      await c.stop();
    }
  });
});
