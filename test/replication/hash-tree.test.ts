/**
 * The per-partition hash tree and its level-by-level comparison (Dynamo 4.7;
 * riak_core hashtree:compare). Pure: trees in memory, the remote side a
 * function answering from another tree.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asPartitionId } from '../../src/core/ids';
import { HashTree, itemHash, type TreeShape } from '../../src/replication/anti-entropy/hash-tree';
import { answerTreeQuery, compareTrees, type RemoteTree } from '../../src/replication/anti-entropy/tree-compare';
import { peerMsgBytes, treeAnswerMsg, treeQueryMsg } from '../../src/replication/anti-entropy/anti-entropy-peer';

const SEED = Number(process.env.SEED ?? Date.now() % 2 ** 31);

/** The other tree as a remote function, counting the packed bytes of every query and answer. */
function remoteOf(tree: HashTree, meter = { bytes: 0, rounds: 0 }): RemoteTree {
  return async (q) => {
    const a = answerTreeQuery(tree, q);
    meter.bytes += peerMsgBytes(treeQueryMsg(asPartitionId(0), tree.shape, q)) + peerMsgBytes(treeAnswerMsg(a));
    meter.rounds++;
    return a;
  };
}

function treeOf(shape: TreeShape, items: Iterable<[string, string]>): HashTree {
  const t = new HashTree(shape);
  for (const [k, d] of items) t.insert(k, d);
  return t;
}

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

/** Two replicas' contents: a common base, then per-key divergence. */
const replicasArb = fc.record({
  base: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 300 }),
  // For each base key: 0 same, 1 changed on B, 2 missing on A, 3 missing on B.
  fates: fc.array(fc.constantFrom(0, 0, 0, 1, 2, 3), { minLength: 300, maxLength: 300 }),
  extraB: fc.uniqueArray(fc.string({ minLength: 13, maxLength: 20 }), { maxLength: 20 }),
  shape: fc.constantFrom<TreeShape>({ fanout: 2, depth: 1 }, { fanout: 4, depth: 3 }, { fanout: 16, depth: 2 }, { fanout: 16, depth: 3 }),
});

describe('replication/anti-entropy/hash-tree (Dynamo 4.7)', () => {
  before(() => console.log(`      hash-tree property seed: ${SEED} (replay with SEED=${SEED})`));

  it('finds exactly the keys whose states differ, and which side holds them', async () => {
    await fc.assert(
      fc.asyncProperty(replicasArb, async ({ base, fates, extraB, shape }) => {
        const a = new Map<string, string>();
        const b = new Map<string, string>();
        const want = { onlyLocal: [] as string[], onlyRemote: [] as string[], different: [] as string[] };
        base.forEach((k, i) => {
          const fate = fates[i]!;
          if (fate !== 2) a.set(k, 'v1');
          if (fate !== 3) b.set(k, fate === 1 ? 'v2' : 'v1');
          if (fate === 1) want.different.push(k);
          if (fate === 2) want.onlyRemote.push(k);
          if (fate === 3) want.onlyLocal.push(k);
        });
        for (const k of extraB) {
          b.set(k, 'x');
          want.onlyRemote.push(k);
        }
        const diff = await compareTrees(treeOf(shape, a), remoteOf(treeOf(shape, b)));
        assert.deepEqual(sorted(diff.onlyLocal), sorted(want.onlyLocal));
        assert.deepEqual(sorted(diff.onlyRemote), sorted(want.onlyRemote));
        assert.deepEqual(sorted(diff.different), sorted(want.different));
        assert.equal(diff.truncated, false);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('gives the same hashes at every level whatever the order of inserts, replaces and removes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('d1', 'd2', null)), { maxLength: 200 }),
        (ops) => {
          const shape = { fanout: 4, depth: 3 };
          const incremental = new HashTree(shape);
          const final = new Map<string, string>();
          for (const [k, d] of ops) {
            if (d === null) {
              incremental.remove(k);
              final.delete(k);
            } else {
              incremental.insert(k, d);
              final.set(k, d);
            }
          }
          const fresh = treeOf(shape, [...final].reverse());
          assert.equal(incremental.size, final.size);
          for (let level = 0; level <= shape.depth; level++) {
            const parents = level === 0 ? [] : [...Array(incremental.nodesAt(level - 1)).keys()];
            assert.ok(incremental.childHashes(level, parents).equals(fresh.childHashes(level, parents)), `level ${level}`);
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('keeps an empty tree all zero and tells a one-key difference at the root', () => {
    const shape = { fanout: 16, depth: 3 };
    const empty = new HashTree(shape);
    assert.ok(empty.rootHash().equals(Buffer.alloc(8)));
    const one = treeOf(shape, [['k', 'd']]);
    assert.ok(!one.rootHash().equals(empty.rootHash()));
    one.remove('k');
    assert.ok(one.rootHash().equals(empty.rootHash()), 'removing the only key empties the tree again');
    assert.notEqual(itemHash('k', 'd1'), itemHash('k', 'd2'));
    assert.notEqual(itemHash('k1', 'd'), itemHash('k2', 'd'));
  });

  it('costs one round trip of a root hash when the trees are equal, at any size', async () => {
    const shape = { fanout: 16, depth: 3 };
    for (const n of [10, 20_000]) {
      const items = Array.from({ length: n }, (_, i) => [`key-${i}`, `d${i % 7}`] as [string, string]);
      const a = treeOf(shape, items);
      const meter = { bytes: 0, rounds: 0 };
      const diff = await compareTrees(a, remoteOf(a.clone(), meter));
      assert.equal(diff.onlyLocal.length + diff.onlyRemote.length + diff.different.length, 0);
      assert.equal(meter.rounds, 1);
      assert.ok(meter.bytes < 100, `${meter.bytes} bytes for equal trees of ${n} keys`);
    }
  });

  it('exchanges bytes that grow with the differing keys, not with the keys stored', async () => {
    const shape = { fanout: 16, depth: 3 };
    const cost = async (stored: number, differing: number): Promise<number> => {
      const a = treeOf(shape, Array.from({ length: stored }, (_, i) => [`key-${i}`, 'v1'] as [string, string]));
      const b = a.clone();
      // Spread the differing keys over the key space: every stride-th key changed.
      const stride = Math.floor(stored / differing);
      for (let i = 0; i < differing; i++) b.insert(`key-${i * stride}`, 'v2');
      const meter = { bytes: 0, rounds: 0 };
      const diff = await compareTrees(a, remoteOf(b, meter));
      assert.equal(diff.different.length, differing);
      return meter.bytes;
    };
    const small = await cost(2_000, 10);
    const large = await cost(50_000, 10);
    const many = await cost(50_000, 100);
    // 25x the data, same divergence: the leaf lists grow with keys per segment
    // (here from ~0.5 to ~12), not with the whole data set.
    assert.ok(large < 3 * small, `10 differing keys: ${small} bytes among 2k keys, ${large} among 50k`);
    // A full key list of 50k keys would be over 50k * 16 bytes.
    assert.ok(large < 50_000, `10 of 50k differing cost ${large} bytes`);
    // 10x the divergence costs about 10x (between 4x and 12x: shared upper levels make it sublinear).
    assert.ok(many > 4 * large && many < 12 * large, `10 differing: ${large} bytes, 100 differing: ${many}`);
  });

  it('stops listing segments once keysMax differing keys are found', async () => {
    const shape = { fanout: 16, depth: 2 };
    const a = treeOf(shape, Array.from({ length: 2000 }, (_, i) => [`k${i}`, 'v1'] as [string, string]));
    const b = a.clone();
    for (let i = 0; i < 2000; i++) b.insert(`k${i}`, 'v2');
    const diff = await compareTrees(a, remoteOf(b), { keysMax: 100, segmentsPerQueryMax: 4 });
    assert.equal(diff.truncated, true);
    assert.ok(diff.different.length >= 100 && diff.different.length < 400, `${diff.different.length} keys found`);
  });

  it('rejects a malformed answer or query instead of trusting it', async () => {
    const a = treeOf({ fanout: 4, depth: 2 }, [['k', 'd']]);
    await assert.rejects(compareTrees(a, async () => ({ kind: 'level', hashes: new Uint8Array(3) })), { code: 'RS_ERR_BAD_REQUEST' });
    const b = treeOf({ fanout: 4, depth: 2 }, [['other', 'd']]);
    const lying: RemoteTree = async (q) => {
      const ans = answerTreeQuery(b, q);
      if (ans.kind !== 'keys' || q.kind !== 'keys') return ans;
      // A key list that names a key outside the segment it claims.
      let stranger = 0;
      while (q.segments.includes(b.segmentOf(`stranger-${stranger}`))) stranger++;
      return { ...ans, keys: ans.keys.map(() => `stranger-${stranger}`) };
    };
    await assert.rejects(compareTrees(a, lying), { code: 'RS_ERR_BAD_REQUEST' });
    assert.throws(() => answerTreeQuery(a, { kind: 'level', level: 2, parents: [99] }), { code: 'RS_ERR_BAD_REQUEST' });
    assert.throws(() => answerTreeQuery(a, { kind: 'keys', segments: [16] }), { code: 'RS_ERR_BAD_REQUEST' });
    // Repeated or unordered node numbers could make an answer larger than the tree.
    assert.throws(() => answerTreeQuery(a, { kind: 'keys', segments: [3, 3] }), { code: 'RS_ERR_BAD_REQUEST' });
    assert.throws(() => answerTreeQuery(a, { kind: 'level', level: 2, parents: [2, 1] }), { code: 'RS_ERR_BAD_REQUEST' });
  });
});
