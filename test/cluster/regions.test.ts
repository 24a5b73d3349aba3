/**
 * Three regions that never wait on each other (DESIGN.md Regions): six real
 * node processes, two per region, N=3 (one replica per region), 40 ms
 * injected between regions, `local` consistency. One region is cut off under
 * write load: both sides take every write; after the heal every replica holds
 * every acknowledged write, a cart edited on both sides holds every add, and
 * a session edited on both sides keeps each side's field changes.
 */
import { strict as assert } from 'node:assert';
import { RingClient } from '../../src/client/ring-client';
import { ProcessCluster, waitFor } from './process-cluster';

const REGIONS = ['ra', 'rb', 'rc'];

interface ReplicasBody {
  replicas: Array<{ node: string; region: string; reachable: boolean; present: boolean; digest?: string }>;
}

describe('cluster: three regions, local quorums, a region cut under load', function () {
  this.timeout(180_000);
  let c: ProcessCluster;

  before(async () => {
    c = await ProcessCluster.create({ nodes: 6, regions: REGIONS });
    c.startAll();
    await c.waitConverged(undefined, 30_000);
  });

  after(async function () {
    await c.teardown(this.currentTest?.state === 'failed', 2000);
  });

  const nodesIn = (region: string) => c.specs.filter((s) => s.region === region).map((s) => s.id);

  async function setFaults(id: string, body: unknown): Promise<void> {
    const res = await fetch(c.url(id, '/admin/faults'), { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 200);
  }

  it('keeps every region writable through a cut and loses nothing after the heal', async () => {
    for (const s of c.specs) {
      const delayMs = Object.fromEntries(REGIONS.filter((r) => r !== s.region).map((r) => [r, 40]));
      await setFaults(s.id, { delayMs });
    }
    const acked = new Map<string, string>();
    const cartAdds: string[] = [];
    const latencies: number[] = [];
    let seq = 0;
    let failures = 0;
    const writer = async (region: string, phase: string, untilMs: number): Promise<number> => {
      const ids = nodesIn(region);
      let count = 0;
      while (Date.now() < untilMs) {
        const i = seq++;
        const key = `${phase}-${region}-${i}`;
        const started = performance.now();
        const res = await fetch(c.url(ids[i % ids.length]!, `/kv/${key}?consistency=local`), { method: 'PUT', body: `v${i}` });
        await res.arrayBuffer();
        latencies.push(performance.now() - started);
        if (res.status === 204) {
          acked.set(key, `v${i}`);
          count += 1;
        } else failures += 1;
        if (i % 10 === 0) {
          const item = `${region}-sku-${i}`;
          const cart = await fetch(c.url(ids[0]!, '/carts/shared?consistency=local'), {
            method: 'POST', body: JSON.stringify({ op: 'add', item, qty: 1 }),
          });
          await cart.arrayBuffer();
          if (cart.status === 200) cartAdds.push(item);
          else failures += 1;
        }
      }
      return count;
    };

    await Promise.all(REGIONS.map((r) => writer(r, 'before', Date.now() + 2000)));

    // One user's session, changed on both sides of the cut through the session
    // client each side's app would use: different fields, and one field both change.
    const clients = ['ra', 'rc'].map((r) => new RingClient({
      nodes: nodesIn(r).map((id) => c.addr(id)), region: r, consistency: 'local',
    }));
    const expiresAtMs = Date.now() + 600_000;
    let lastSeen = '';
    try {
      await clients[0]!.sessionWrite('sess:both', { set: { user: 'ann', both: 'before' }, expiresAtMs });
      await waitFor('the session on every replica', async () => {
        const body = (await (await fetch(c.url('n1', '/admin/replicas/sess:both'))).json()) as ReplicasBody;
        lastSeen = JSON.stringify(body);
        return body.replicas.every((r) => r.present);
      }, 10_000, 100);
    } catch (err) {
      for (const cl of clients) await cl.close();
      console.log(`      last /admin/replicas/sess:both: ${lastSeen}`);
      throw err;
    }
    // Cut region rc off from ra and rb, in both directions.
    for (const s of c.specs) {
      const delayMs = Object.fromEntries(REGIONS.filter((r) => r !== s.region).map((r) => [r, 40]));
      await setFaults(s.id, { delayMs, cut: s.region === 'rc' ? ['ra', 'rb'] : ['rc'] });
    }
    const cutWrites = Promise.all(REGIONS.map((r) => writer(r, 'cut', Date.now() + 5000)));
    try {
      await clients[0]!.sessionWrite('sess:both', { set: { theme: 'dark', both: 'ra' }, del: ['user'], expiresAtMs });
      await new Promise((r) => setTimeout(r, 20));
      await clients[1]!.sessionWrite('sess:both', { set: { lang: 'fr', both: 'rc' }, expiresAtMs });
    } finally {
      for (const cl of clients) await cl.close();
    }
    const during = await cutWrites;
    assert.equal(failures, 0, 'every write was acknowledged, on both sides of the cut');
    assert.ok(during[2]! > 0 && during[0]! > 0, `both sides took writes during the cut (${during.join('/')})`);

    const healStarted = Date.now();
    for (const s of c.specs) assert.equal((await fetch(c.url(s.id, '/admin/faults'), { method: 'DELETE' })).status, 200);
    await waitFor('every hint handed off', async () => {
      for (const s of c.specs) if ((await c.status(s.id)).hints.pending !== 0) return false;
      return true;
    }, 60_000, 250);
    const convergeMs = Date.now() - healStarted;

    const sorted = [...latencies].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1);
    console.log(`      local writes: ${latencies.length}, p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms; cut region took ${during[2]} writes; hints drained ${convergeMs} ms after the heal`);

    for (const [key] of acked) {
      const body = (await (await fetch(c.url('n1', `/admin/replicas/${key}`))).json()) as ReplicasBody;
      assert.equal(body.replicas.length, 3);
      assert.deepEqual(body.replicas.map((r) => r.region).sort(), REGIONS, `${key}: one replica per region`);
      for (const r of body.replicas) assert.ok(r.present, `${key} present on ${r.node}`);
      assert.equal(new Set(body.replicas.map((r) => r.digest)).size, 1, `${key}: replicas identical`);
    }
    for (const [key, value] of [...acked].filter((_, i) => i % 10 === 0)) {
      assert.equal(await (await fetch(c.url('n2', `/kv/${key}`))).text(), value);
    }
    const cart = (await (await fetch(c.url('n3', '/carts/shared?r=3'))).json()) as { items: Record<string, number> };
    for (const item of cartAdds) assert.equal(cart.items[item], 1, `cart holds ${item}`);

    const sessionReplicas = (await (await fetch(c.url('n1', '/admin/replicas/sess:both'))).json()) as ReplicasBody;
    assert.equal(new Set(sessionReplicas.replicas.map((r) => r.digest)).size, 1, 'the session is the same on every replica');
    const reader = new RingClient({ nodes: nodesIn('rb').map((id) => c.addr(id)), region: 'rb' });
    try {
      const merged = await reader.sessionGet('sess:both', { r: 3 });
      // Each side's fields survive; `both`, changed on both sides, keeps the later write (rc's);
      // the field ra deleted stays deleted.
      assert.deepEqual(merged?.data, { theme: 'dark', lang: 'fr', both: 'rc' });
    } finally {
      await reader.close();
    }
  });
});
