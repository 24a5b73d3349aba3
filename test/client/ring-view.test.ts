/**
 * The client's routing (src/client/ring-view.ts): a key's first choices are
 * exactly its preference list (Dynamo 4.3, 6.4 client-driven coordination),
 * own-region replicas first when the client names a region; and a ring
 * reply from the network is validated before it is used.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { ringViewOf, routeKey } from '../../src/client/ring-view';
import { asNodeId } from '../../src/core/ids';
import { partitionOf } from '../../src/ring/partitioner';
import { preferenceList } from '../../src/ring/preference-list';
import { buildRing } from '../../src/ring/ring';

function ringReply(nodes: number, regions: string[], n: number): Record<string, unknown> {
  const members = Array.from({ length: nodes }, (_, i) => ({ id: `n${i + 1}`, region: regions[i % regions.length]!, joinedAtMs: 1000 + i }));
  const ring = buildRing(members.map((m) => ({ ...m, id: asNodeId(m.id) })), 64);
  return {
    type: 'ring-ok',
    self: { id: 'n1', addr: '127.0.0.1:1', region: regions[0] },
    members: members.map((m, i) => ({ id: m.id, addr: `127.0.0.1:${7000 + i}`, region: m.region, state: 'alive' })),
    ring: { q: ring.q, owners: [...ring.owners], version: ring.version, members },
    quorum: { n, r: 1, w: 1 },
    limits: { keyBytesMax: 1024, valueBytesMax: 1 << 20, frameBytesMax: 1 << 26 },
  };
}

describe('client/ring-view: routing by the ring (Dynamo 6.4, client-driven coordination)', () => {
  it('tries the key\'s N replicas first, then every other node once, for any key', () => {
    const seed = Date.now() % 2 ** 31;
    console.log(`      fast-check seed ${seed}`);
    const reply = ringReply(6, ['a', 'b', 'c'], 3);
    const view = ringViewOf(reply);
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 40 }), (key) => {
      const order = routeKey(view, key, null);
      const expected = preferenceList(view.ring, partitionOf(key, view.ring.q), 3);
      assert.deepEqual(order.slice(0, 3), expected);
      assert.equal(new Set(order).size, 6);
    }), { seed, numRuns: 300 });
  });

  it('puts the replicas in its own region first when given a region, keeping the same replica set', () => {
    const view = ringViewOf(ringReply(4, ['east', 'west'], 2));
    for (let i = 0; i < 200; i++) {
      const key = `k-${i}`;
      const plain = routeKey(view, key, null);
      const west = routeKey(view, key, 'west');
      assert.deepEqual(new Set(west.slice(0, 2)), new Set(plain.slice(0, 2)));
      assert.equal(view.members.get(west[0]!)!.region, 'west', 'N=2 over two regions puts one replica in each');
    }
  });

  it('gives the same order on every call, whatever a caller does to an order it was given', () => {
    const view = ringViewOf(ringReply(5, ['east', 'west'], 3));
    for (const region of [null, 'east', 'west']) {
      for (let i = 0; i < 100; i++) {
        const key = `k-${i}`;
        const first = routeKey(view, key, region);
        const expected = [...first];
        first.reverse();
        first.push(asNodeId('intruder'));
        assert.deepEqual(routeKey(view, key, region), expected);
      }
    }
  });

  it('rejects malformed ring replies with RS_ERR_BAD_FRAME', () => {
    const good = ringReply(3, ['r1'], 3);
    const mutations: Array<(r: Record<string, any>) => void> = [
      (r) => { r.ring = null; },
      (r) => { r.ring.q = 0; },
      (r) => { r.ring.owners = r.ring.owners.slice(1); },
      (r) => { r.ring.owners[0] = 'stranger'; },
      (r) => { r.ring.members = []; },
      (r) => { r.ring.members[1].id = r.ring.members[0].id; },
      (r) => { r.quorum = { n: 0 }; },
      (r) => { r.limits = {}; },
      (r) => { r.members = 'all of them'; },
    ];
    for (const mutate of mutations) {
      const r = JSON.parse(JSON.stringify(good)) as Record<string, any>;
      mutate(r);
      assert.throws(() => ringViewOf(r), (e: { code?: string }) => e.code === 'RS_ERR_BAD_FRAME', mutate.toString());
    }
    assert.equal(ringViewOf(good).ring.q, 64);
  });
});
