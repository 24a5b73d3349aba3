/**
 * Tombstones on a running node (node/tombstone-service.ts, node/replicas-api.ts;
 * issue 14 part 4): /admin/replicas/KEY reports each copy's `bytes` beside its
 * digest, and /admin/status and /metrics count tombstones held and reaped.
 */
import { strict as assert } from 'node:assert';
import { objectByteSize } from '../../src/crdt/stored-object';
import { waitFor } from '../cluster/process-cluster';
import { InProcessCluster } from './in-process-cluster';

interface Replicas { replicas: Array<{ node: string; present: boolean; digest?: string; bytes?: number }> }
interface Tombstones { tombstones: { held: number; reaped: number; graceMs: number; confirmed: number } }

describe('node/tombstone-service (tombstones visible and reaped)', function () {
  this.timeout(60_000);
  let c: InProcessCluster;

  before(async () => {
    c = await InProcessCluster.start(3, { config: { tombstoneGraceMs: 300, tombstoneReapIntervalMs: 100 } });
  });
  after(async () => {
    await c.stop();
  });

  it('reports bytes of each replica\'s own copy beside its digest', async () => {
    await (await fetch(c.url(0, '/kv/sized'), { method: 'PUT', body: 'x'.repeat(1000) })).arrayBuffer();
    const body = (await (await fetch(c.url(1, '/admin/replicas/sized'))).json()) as Replicas;
    assert.equal(body.replicas.length, 3);
    for (const r of body.replicas) {
      assert.ok(r.present && r.digest, `${r.node} holds it`);
      const own = c.nodes.find((n) => n.id === r.node)!.replica.own('sized')!;
      assert.equal(r.bytes, objectByteSize(own));
      assert.ok(r.bytes! > 1000);
    }
  });

  it('counts a delete\'s tombstones while held and once reaped, in /admin/status and /metrics', async () => {
    await (await fetch(c.url(0, '/kv/gone'), { method: 'PUT', body: 'v' })).arrayBuffer();
    const status = async (i: number): Promise<Tombstones['tombstones']> => ((await (await fetch(c.url(i, '/admin/status'))).json()) as Tombstones).tombstones;
    const before = await Promise.all([0, 1, 2].map(status));
    const del = await fetch(c.url(1, '/kv/gone'), { method: 'DELETE' });
    await del.arrayBuffer();
    assert.equal(del.status, 204);
    assert.equal((await status(0)).graceMs, 300);
    await waitFor('tombstone reaped on all three', async () => {
      const now = await Promise.all([0, 1, 2].map(status));
      return now.every((t, i) => t.reaped === before[i]!.reaped + 1 && t.held === 0);
    }, 20_000, 50);
    const body = (await (await fetch(c.url(2, '/admin/replicas/gone'))).json()) as Replicas;
    assert.ok(body.replicas.every((r) => !r.present));
    const metrics = await (await fetch(c.url(0, '/metrics'))).text();
    assert.match(metrics, /ringstore_tombstones_held\{node="n1"\} 0/);
    assert.match(metrics, /ringstore_tombstones_reaped_total\{node="n1"\} [1-9]/);
    assert.match(metrics, /ringstore_copies_refused_total\{reason="reaped",node="n1"\} \d+/);
    assert.equal((await fetch(c.url(0, '/kv/gone?r=3'))).status, 404);
  });
});
