/**
 * A cart's stored size stays bounded whatever its history (DESIGN.md Data
 * model: cart; issue 14), end to end: three real node processes over
 * WebSocket and SQLite, one cart taken through 3,000 rounds of add then
 * remove of the same item over the HTTP cart API, each request sent to a
 * node picked by a seeded Random (replay with CART_BOUNDED_SEED). Rounds run
 * one after another: a remove observes only the adds that finished before
 * it, so overlapping rounds of one cart would leave adds behind by design
 * (add wins), which is not what this test measures. Afterwards the cart
 * reads empty and every replica's own copy is at most 1 KiB, where the
 * OR-Set before ORSWOT grew by one removed id per round (35,960 bytes at
 * 3,000 rounds). Also prints the per-replica bytes after 10 and 100 rounds.
 */
import { strict as assert } from 'node:assert';
import { Prng } from '../../src/core/prng';
import { ProcessCluster, waitFor } from './process-cluster';

const SEED = process.env.CART_BOUNDED_SEED ? Number(process.env.CART_BOUNDED_SEED) : Date.now() % 2 ** 31;
const ROUNDS = [10, 100, 3000];
const BYTES_MAX = 1024;

interface ReplicaView {
  node: string;
  present: boolean;
  digest?: string;
  bytes?: number;
}

describe(`cluster: a cart's stored size is bounded after thousands of add/remove rounds (issue 14, seed ${SEED})`, function () {
  this.timeout(240_000);
  let c: ProcessCluster;
  const nodes = ['n1', 'n2', 'n3'];

  before(async () => {
    c = await ProcessCluster.create({ nodes: 3 });
    c.startAll();
    await c.waitConverged();
  });

  after(async function () {
    await c.teardown(this.currentTest?.state === 'failed', 3000);
  });

  const cartOp = async (via: string, cart: string, body: object): Promise<Record<string, number>> => {
    const res = await fetch(c.url(via, `/carts/${cart}`), {
      method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' },
    });
    const json = (await res.json()) as { items: Record<string, number> };
    assert.equal(res.status, 200, `${JSON.stringify(body)} on cart ${cart} via ${via}: ${res.status} ${JSON.stringify(json)}`);
    return json.items;
  };

  /** Every replica of key holds its own copy and all hold the same one; their views. */
  const converged = async (key: string): Promise<ReplicaView[]> => {
    let views: ReplicaView[] = [];
    await waitFor(`every replica of ${key} holding the same copy`, async () => {
      const res = await fetch(c.url('n1', `/admin/replicas/${encodeURIComponent(key)}`));
      if (!res.ok) return false;
      views = ((await res.json()) as { replicas: ReplicaView[] }).replicas;
      return views.length === 3 && views.every((r) => r.present) && new Set(views.map((r) => r.digest)).size === 1;
    }, 20_000, 100);
    return views;
  };

  it(`reads empty and keeps every replica's copy within ${BYTES_MAX} bytes after 10, 100 and 3,000 rounds`, async () => {
    const rng = new Prng(SEED);
    const pick = (): string => nodes[rng.int(nodes.length)]!;
    const figures: string[] = [];
    for (const rounds of ROUNDS) {
      const cart = `bounded-${rounds}`;
      const startedAt = Date.now();
      for (let i = 0; i < rounds; i++) {
        const added = await cartOp(pick(), cart, { op: 'add', item: 'sku-1', qty: 1 });
        assert.deepEqual(added, { 'sku-1': 1 }, `round ${i}: the add is in the cart it returns`);
        const removed = await cartOp(pick(), cart, { op: 'remove', item: 'sku-1' });
        assert.deepEqual(removed, {}, `round ${i}: the remove observed the add`);
      }
      const elapsedMs = Date.now() - startedAt;
      const views = await converged(`cart/${cart}`);
      for (const via of nodes) {
        const res = await fetch(c.url(via, `/carts/${cart}?r=3&strict=1`));
        assert.equal(res.status, 200);
        assert.deepEqual(((await res.json()) as { items: unknown }).items, {}, `cart ${cart} reads empty via ${via}`);
      }
      for (const r of views) {
        assert.ok(r.bytes !== undefined && r.bytes <= BYTES_MAX, `${r.node} holds ${r.bytes} bytes of cart ${cart}, more than ${BYTES_MAX}`);
      }
      const perReplica = views.map((r) => `${r.node} ${r.bytes}`).join(', ');
      figures.push(`${rounds} rounds (${rounds * 2} requests, ${elapsedMs} ms, ${(rounds * 2 * 1000 / elapsedMs).toFixed(0)} req/s): ${perReplica} bytes`);
    }
    console.log(`      cart-bounded figures (seed ${SEED}; replay with CART_BOUNDED_SEED=${SEED}):\n${figures.map((f) => `        ${f}`).join('\n')}`);
  });
});
