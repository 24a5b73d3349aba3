/**
 * Gossip target choice (Dynamo 4.8.1 random peers; Cassandra's extras for
 * down members and seeds), with a seeded Random so runs replay.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asNodeId, type NodeId } from '../../src/core/ids';
import { Prng } from '../../src/core/prng';
import { chooseGossipTargets, type GossipCandidate } from '../../src/membership/gossip-targets';
import type { Liveness } from '../../src/membership/liveness';

const SELF = asNodeId('self');
const ids = (n: number, prefix = 'n'): NodeId[] => Array.from({ length: n }, (_, i) => asNodeId(`${prefix}${i}`));
const cands = (xs: NodeId[], state: Liveness): GossipCandidate[] => xs.map((id) => ({ id, state }));

describe('membership/gossip-targets (Dynamo 4.8.1: gossip with random peers)', () => {
  it('picks `fanout` distinct live peers, never itself', () => {
    const live = ids(10);
    const got = chooseGossipTargets(SELF, [{ id: SELF, state: 'alive' }, ...cands(live, 'alive')], [], 3, new Prng(1));
    assert.equal(got.length, 3);
    assert.equal(new Set(got).size, 3);
    assert.ok(got.every((id) => live.includes(id)));
  });

  it('asks suspects too: an answer clears the suspicion', () => {
    const got = chooseGossipTargets(SELF, cands(ids(2), 'suspect'), [], 3, new Prng(1));
    assert.deepEqual([...got].sort(), ids(2));
  });

  it('always adds the seeds whose ids are not known yet', () => {
    const seeds = [asNodeId('seed@h:1'), asNodeId('seed@h:2')];
    const got = chooseGossipTargets(SELF, cands(ids(5), 'alive'), seeds, 2, new Prng(7));
    assert.equal(got.length, 4);
    assert.ok(seeds.every((s) => got.includes(s)));
  });

  it('falls back to down members when nobody is alive (a restart into a stale table)', () => {
    const got = chooseGossipTargets(SELF, cands(ids(6), 'down'), [], 3, new Prng(3));
    assert.equal(got.length, 3);
    assert.equal(new Set(got).size, 3);
  });

  it('tries a down member now and then, about down/(live+1) of the rounds', () => {
    const live = cands(ids(4), 'alive');
    const down = cands(ids(2, 'd'), 'down');
    const rnd = new Prng(11);
    let withDown = 0;
    const rounds = 5000;
    for (let i = 0; i < rounds; i++) {
      if (chooseGossipTargets(SELF, [...live, ...down], [], 2, rnd).some((id) => id.startsWith('d'))) withDown++;
    }
    const rate = withDown / rounds;
    assert.ok(Math.abs(rate - 2 / 5) < 0.03, `down member tried in ${rate} of rounds, expected 0.4`);
  });

  it('spreads its choices evenly over the live peers', () => {
    const live = ids(10);
    const counts = new Map<NodeId, number>(live.map((id) => [id, 0]));
    const rnd = new Prng(5);
    const rounds = 10_000;
    for (let i = 0; i < rounds; i++) {
      for (const id of chooseGossipTargets(SELF, cands(live, 'alive'), [], 3, rnd)) counts.set(id, counts.get(id)! + 1);
    }
    for (const [id, c] of counts) assert.ok(Math.abs(c / rounds - 0.3) < 0.02, `${id} chosen in ${c / rounds} of rounds`);
  });

  it('returns distinct known ids, at most fanout + 1 + seeds, the same for the same seed', () => {
    const state = fc.constantFrom<Liveness>('alive', 'suspect', 'down');
    fc.assert(fc.property(
      fc.array(state, { maxLength: 30 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 3 }), fc.integer(),
      (states, fanout, nSeeds, seed) => {
        const members = states.map((s, i) => ({ id: asNodeId(`m${i}`), state: s }));
        const seeds = ids(nSeeds, 'seed@');
        const a = chooseGossipTargets(SELF, members, seeds, fanout, new Prng(seed));
        const b = chooseGossipTargets(SELF, members, seeds, fanout, new Prng(seed));
        assert.deepEqual(a, b);
        assert.equal(new Set(a).size, a.length);
        assert.ok(!a.includes(SELF));
        assert.ok(a.length <= fanout + 1 + nSeeds);
        const known = new Set<string>([...members.map((m) => m.id), ...seeds]);
        assert.ok(a.every((id) => known.has(id)));
        const live = members.filter((m) => m.state !== 'down').length;
        assert.ok(a.length >= Math.min(fanout, live > 0 ? live : members.length) + nSeeds);
      },
    ), { numRuns: 300 });
  });
});
