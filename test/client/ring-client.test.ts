/**
 * RingClient against three real in-process nodes (ws + SQLite on 127.0.0.1):
 * the data operations, client-driven routing to a key's replicas (Dynamo
 * 4.5, 6.4), failover when a node closes, and connect/disconnect events.
 */
import { strict as assert } from 'node:assert';
import { RingClient } from '../../src/client/ring-client';
import type { RingstoreError } from '../../src/core/errors';
import { TokenTable } from '../../src/node/auth';
import { waitFor } from '../cluster/process-cluster';
import { makeCerts, type TestCerts } from '../transport/tls-certs';
import { InProcessCluster } from './in-process-cluster';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

async function clientRequestsAt(c: InProcessCluster, i: number): Promise<number> {
  const metric = c.nodes[i]!.metrics.registry.getSingleMetric('ringstore_client_requests_total');
  const values = (await metric!.get()).values;
  return values.filter((v) => v.labels.type === 'op').reduce((s, v) => s + v.value, 0);
}

describe('client/ring-client: RingClient over the /client WebSocket API', function () {
  this.timeout(30_000);
  let cluster: InProcessCluster;
  let client: RingClient;

  before(async () => {
    cluster = await InProcessCluster.start({ nodes: 3, config: { scanPageMax: 7 } });
    client = new RingClient({ nodes: cluster.addrs(), timeoutMs: 3000 });
    await client.ready();
  });

  after(async () => {
    await client?.close();
    await cluster?.close();
  });

  it('puts and gets opaque values with their causal context', async () => {
    const empty = await client.get('greeting');
    assert.deepEqual(empty, { values: [], contentTypes: [], context: '' });
    const { context } = await client.put('greeting', 'hello');
    assert.ok(context.length > 0);
    const got = await client.get('greeting');
    assert.deepEqual(got.values.map(text), ['hello']);
    assert.deepEqual(got.contentTypes, ['text/plain; charset=utf-8']);
    assert.equal(got.context, context);
    await client.put('greeting', new Uint8Array([1, 2, 3]), { context: got.context });
    const again = await client.get('greeting');
    assert.deepEqual(again.values.map((v) => [...v]), [[1, 2, 3]]);
    assert.deepEqual(again.contentTypes, ['application/octet-stream']);
  });

  it('returns concurrent blind writes as siblings, and a write with their context resolves them', async () => {
    await Promise.all([client.put('sib', 'left'), client.put('sib', 'right')]);
    const both = await client.get('sib');
    assert.deepEqual(both.values.map(text).sort(), ['left', 'right']);
    await client.put('sib', 'merged', { context: both.context });
    assert.deepEqual((await client.get('sib')).values.map(text), ['merged']);
  });

  it('deletes what the context covers and reads the key as absent afterwards', async () => {
    const { context } = await client.put('gone', 'x');
    const del = await client.delete('gone', { context });
    assert.ok(del.context.length > 0);
    const got = await client.get('gone');
    assert.deepEqual(got.values, []);
    assert.ok(got.context.length > 0, 'a deleted key still has a context');
  });

  it('runs cart operations: adds sum, remove and set act on what they observed', async () => {
    assert.deepEqual(await client.cartGet('alice'), {});
    assert.deepEqual(await client.cartAdd('alice', 'sku-1'), { 'sku-1': 1 });
    assert.deepEqual(await client.cartAdd('alice', 'sku-1', 2), { 'sku-1': 3 });
    assert.deepEqual(await client.cartAdd('alice', 'sku-2', 1), { 'sku-1': 3, 'sku-2': 1 });
    assert.deepEqual(await client.cartSet('alice', 'sku-1', 5), { 'sku-1': 5, 'sku-2': 1 });
    assert.deepEqual(await client.cartRemove('alice', 'sku-2'), { 'sku-1': 5 });
    assert.deepEqual(await client.cartGet('alice'), { 'sku-1': 5 });
  });

  it('runs session operations: fields merge, touch only extends, destroy is final', async () => {
    const now = Date.now();
    assert.equal(await client.sessionGet('sess:s1'), null);
    await client.sessionWrite('sess:s1', { set: { user: 'ann', n: 1 }, expiresAtMs: now + 60_000 });
    await client.sessionWrite('sess:s1', { set: { theme: 'dark' }, del: ['n'], expiresAtMs: now + 30_000 });
    const s = await client.sessionGet('sess:s1');
    assert.deepEqual(s?.data, { theme: 'dark', user: 'ann' });
    assert.equal(s?.expiresAtMs, now + 60_000, 'a write never shortens the expiry');
    await client.sessionTouch('sess:s1', now + 120_000);
    assert.equal((await client.sessionGet('sess:s1'))?.expiresAtMs, now + 120_000);
    await client.sessionTouch('sess:missing', now + 120_000);
    assert.equal(await client.sessionGet('sess:missing'), null, 'a touch does not create a session');
    await client.sessionDestroy('sess:s1');
    await client.sessionWrite('sess:s1', { set: { user: 'mallory' }, expiresAtMs: now + 60_000 });
    assert.equal(await client.sessionGet('sess:s1'), null, 'a destroyed session stays destroyed');
    await client.sessionWrite('sess:old', { set: { a: 1 }, expiresAtMs: now - 1 });
    assert.equal(await client.sessionGet('sess:old'), null, 'an expired session reads as absent');
  });

  it('rejects a read of a key holding another value type with RS_ERR_TYPE_MISMATCH', async () => {
    await client.cartAdd('typed', 'x');
    await assert.rejects(client.sessionGet('cart/typed'), (e: RingstoreError) => e.code === 'RS_ERR_TYPE_MISMATCH');
    await assert.rejects(client.get('cart/typed'), (e: RingstoreError) => e.code === 'RS_ERR_TYPE_MISMATCH');
  });

  it('scans live keys with a prefix across pages of every node, leaving out destroyed and expired ones', async () => {
    const now = Date.now();
    const want: string[] = [];
    await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const key = `scan:${String(i).padStart(2, '0')}`;
      if (i % 10 === 3) {
        await client.sessionWrite(key, { set: { a: i }, expiresAtMs: now + 60_000 });
        await client.sessionDestroy(key);
      } else if (i % 10 === 7) {
        await client.sessionWrite(key, { set: { a: i }, expiresAtMs: now - 1 });
      } else {
        await client.sessionWrite(key, { set: { a: i }, expiresAtMs: now + 60_000 });
        want.push(key);
      }
    }));
    await client.put('scanner', 'not under the prefix');
    assert.deepEqual(await client.scanKeys('scan:'), want.sort());
    assert.deepEqual(await client.scanKeys('no-such-prefix:'), []);
  });

  it('surfaces bad input as errors with stable codes and keeps working', async () => {
    await assert.rejects(client.put('big', new Uint8Array(1024 * 1024 + 10)), (e: RingstoreError) => e.code === 'RS_ERR_VALUE_TOO_LARGE');
    await assert.rejects(client.get('k'.repeat(2000)), (e: RingstoreError) => e.code === 'RS_ERR_KEY_TOO_LARGE');
    await assert.rejects(client.put('k', 'v', { context: '!!!' }), (e: RingstoreError) => e.code === 'RS_ERR_BAD_CONTEXT');
    await assert.rejects(client.get('k', { r: 9 }), (e: RingstoreError) => e.code === 'RS_ERR_BAD_REQUEST');
    await assert.rejects(client.cartAdd('c', 'x', 0), (e: RingstoreError) => e.code === 'RS_ERR_BAD_REQUEST');
    await assert.rejects(client.cartAdd('c', 'x'.repeat(300)), (e: RingstoreError) => e.code === 'RS_ERR_BAD_REQUEST');
    await assert.rejects(
      client.sessionWrite('sess:bad', { set: { when: new Date() }, expiresAtMs: Date.now() + 1000 }),
      (e: RingstoreError) => e.code === 'RS_ERR_BAD_REQUEST',
    );
    assert.deepEqual((await client.get('greeting')).values.length, 1);
  });

  it('fails over to the other replicas when a node closes mid-traffic: no request fails', async () => {
    const events: string[] = [];
    client.on('disconnect', () => events.push('disconnect'));
    const now = Date.now();
    let stop = false;
    let done = 0;
    const failures: unknown[] = [];
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const key = `sess:fo-${w}-${i % 5}`;
        try {
          await client.sessionWrite(key, { set: { [`f${i}`]: i }, expiresAtMs: now + 60_000 });
          const s = await client.sessionGet(key);
          assert.equal(s?.data[`f${i}`], i, 'a write is visible to the next read through one client');
          done++;
        } catch (err) {
          failures.push(err);
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    await waitFor('some traffic', () => done > 100, 10_000, 10);
    // A turn's requests all go to one node (turn-affinity.ts): close n1 while it has some.
    await waitFor('requests in flight on n1', () => (client.connections().find((c) => c.id === 'n1')?.pending ?? 0) > 0, 10_000, 1);
    await cluster.stopNode(0);
    const atClose = done;
    await waitFor('traffic after the close', () => done > atClose + 300, 15_000, 10);
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(failures, []);
    assert.deepEqual(events, [], 'losing one node of three is not a disconnect');
    assert.ok(client.stats.retries > 0, 'requests in flight on the closed node were retried elsewhere');
    const n1 = client.connections().find((c) => c.id === 'n1');
    assert.notEqual(n1?.state, 'open');
    await cluster.startNode(0);
    await cluster.waitConverged();
    await waitFor('client reconnected to n1', () => client.connections().find((c) => c.id === 'n1')?.state === 'open', 10_000, 50);
  });

  it("reads its own session writes and orders its saves while every node is cut off from the others", async () => {
    // Each node in its own region, every region cut from the rest: a write is
    // held by the node that took it (degraded), and a turn's requests go to
    // whichever node's turn it is (turn-affinity.ts).
    const all = ['r1', 'r2', 'r3'];
    for (const node of cluster.nodes) node!.network.setFaults({ cut: all.filter((r) => r !== node!.region) });
    const c = new RingClient({ nodes: cluster.addrs(), timeoutMs: 3000 });
    try {
      await c.ready();
      const key = 'sess:cut-off';
      const expiresAtMs = Date.now() + 60_000;
      for (let i = 0; i < 12; i++) {
        await c.sessionWrite(key, { set: { n: i, [`f${i}`]: true }, expiresAtMs });
        assert.equal((await c.sessionGet(key))?.data.n, i, `read ${i} sees write ${i}`);
        await new Promise((resolve) => setImmediate(resolve)); // the next turn: the next node
      }
      assert.ok(c.stats.staleReads > 0, 'reads answered by a node that missed the write were asked again');
      assert.ok(c.stats.degraded > 0);
    } finally {
      await c.close();
      for (const node of cluster.nodes) node!.network.clearFaults();
    }
    // Healed: the saves merge in the order they were made.
    await waitFor('the cut-off writes merged', async () => (await client.sessionGet('sess:cut-off', { r: 3 }))?.data.n === 11, 15_000, 100);
  });

  it('emits disconnect when it loses every node and connect when one returns; requests meanwhile fail with RS_ERR_UNREACHABLE', async () => {
    const c2 = new RingClient({ nodes: [cluster.addrs()[1]!], timeoutMs: 500, reconnectMaxMs: 200 });
    try {
      await c2.ready();
      const events: string[] = [];
      c2.on('disconnect', () => events.push('disconnect'));
      c2.on('connect', () => events.push('connect'));
      await Promise.all([0, 1, 2].map((i) => cluster.stopNode(i)));
      await waitFor('disconnect event', () => events.includes('disconnect'), 5000, 20);
      const t0 = Date.now();
      await assert.rejects(c2.get('greeting'), (e: RingstoreError) => e.code === 'RS_ERR_UNREACHABLE');
      assert.ok(Date.now() - t0 < 3000, 'fails within the timeout, not forever');
      await Promise.all([0, 1, 2].map((i) => cluster.startNode(i)));
      await cluster.waitConverged();
      await waitFor('connect event', () => events.includes('connect'), 10_000, 20);
      assert.deepEqual(events, ['disconnect', 'connect']);
      assert.deepEqual((await c2.get('greeting')).values.length, 1, 'data survived the restart');
    } finally {
      await c2.close();
    }
    await assert.rejects(c2.get('greeting'), (e: RingstoreError) => e.code === 'RS_ERR_CLOSED');
  });
});

describe('client/ring-client: routing by region on a 4-node, N=2 ring', function () {
  this.timeout(30_000);
  let cluster: InProcessCluster;

  before(async () => {
    cluster = await InProcessCluster.start({ nodes: 4, regions: ['east', 'west'], config: { n: 2, r: 1, w: 1 } });
  });

  after(async () => {
    await cluster?.close();
  });

  it('sends every request to a replica of its key in its own region, so nothing is forwarded', async () => {
    const client = new RingClient({ nodes: [cluster.addrs()[0]!], region: 'west' });
    try {
      await client.ready();
      await waitFor('all four nodes connected', () => client.connections().filter((c) => c.state === 'open').length === 4, 5000, 20);
      const westIdx = cluster.specs.map((s, i) => (s.region === 'west' ? i : -1)).filter((i) => i >= 0);
      const before = await Promise.all(cluster.nodes.map((_, i) => clientRequestsAt(cluster, i)));
      const forwardedBefore = cluster.nodes.map((n) => n!.coordinator.stats.forwarded);
      for (let i = 0; i < 80; i++) await client.put(`k-${i}`, `v-${i}`);
      for (let i = 0; i < 80; i++) assert.deepEqual((await client.get(`k-${i}`)).values.map(text), [`v-${i}`]);
      const after = await Promise.all(cluster.nodes.map((_, i) => clientRequestsAt(cluster, i)));
      const served = after.map((a, i) => a - before[i]!);
      assert.equal(served.reduce((s, x) => s + x, 0), 160);
      for (let i = 0; i < served.length; i++) {
        if (!westIdx.includes(i)) assert.equal(served[i], 0, `east node ${cluster.specs[i]!.id} served no request`);
      }
      assert.ok(westIdx.every((i) => served[i]! > 0), 'both west nodes coordinate their share');
      assert.deepEqual(cluster.nodes.map((n) => n!.coordinator.stats.forwarded), forwardedBefore, 'no put was forwarded');
    } finally {
      await client.close();
    }
  });
});

describe('client/ring-client: bearer tokens on nodes with access control (docs/security.md)', function () {
  this.timeout(30_000);
  const WRITER = 'writer-token-0123456789';
  const READER = 'reader-token-0123456789';
  let cluster: InProcessCluster;

  before(async () => {
    cluster = await InProcessCluster.start({
      nodes: 3, nodeOptions: { tokens: TokenTable.parse(`write ${WRITER}\nread ${READER}\n`) },
    });
  });

  after(async () => {
    await cluster?.close();
  });

  it('connects with a token, is held to its scope, and cannot connect without one', async () => {
    const writer = new RingClient({ nodes: cluster.addrs(), token: WRITER });
    const reader = new RingClient({ nodes: cluster.addrs(), token: READER });
    const anonymous = new RingClient({ nodes: cluster.addrs(), timeoutMs: 500, reconnectMaxMs: 100 });
    try {
      await writer.put('tok', 'v');
      assert.deepEqual((await reader.get('tok')).values.map(text), ['v']);
      await assert.rejects(reader.put('tok', 'w'), (e: RingstoreError) => e.code === 'RS_ERR_FORBIDDEN');
      await assert.rejects(anonymous.get('tok'), (e: RingstoreError) => e.code === 'RS_ERR_UNREACHABLE' && /401/.test(e.message));
    } finally {
      await Promise.all([writer.close(), reader.close(), anonymous.close()]);
    }
  });
});

describe('client/ring-client: nodes serving TLS (docs/security.md)', function () {
  this.timeout(30_000);
  let certs: TestCerts | null = null;
  let cluster: InProcessCluster;

  before(async function () {
    certs = makeCerts(['127.0.0.1']);
    if (certs === null) this.skip(); // no openssl on this machine
    cluster = await InProcessCluster.start({ nodes: 3, nodeOptions: { tls: { cert: certs!.cert, key: certs!.key, ca: certs!.ca } } });
  });

  after(async () => {
    await cluster?.close();
    certs?.cleanup();
  });

  it('dials wss and verifies the nodes against the given CA; refuses nodes it cannot verify', async () => {
    const client = new RingClient({ nodes: cluster.addrs(), tls: { ca: certs!.ca } });
    const untrusting = new RingClient({ nodes: cluster.addrs(), tls: {}, timeoutMs: 500, reconnectMaxMs: 100 });
    const plain = new RingClient({ nodes: cluster.addrs(), timeoutMs: 500, reconnectMaxMs: 100 });
    try {
      await client.put('secret', 'over tls');
      assert.deepEqual((await client.get('secret')).values.map(text), ['over tls']);
      await assert.rejects(untrusting.get('secret'), (e: RingstoreError) => e.code === 'RS_ERR_UNREACHABLE');
      await assert.rejects(plain.get('secret'), (e: RingstoreError) => e.code === 'RS_ERR_UNREACHABLE');
    } finally {
      await Promise.all([client.close(), untrusting.close(), plain.close()]);
    }
  });
});
