import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asPartitionId, type PartitionId } from '../../src/core/ids';
import { emptySession, sessionWrite } from '../../src/crdt/session';
import type { StoredObject } from '../../src/crdt/stored-object';
import { PartitionTrees } from '../../src/replication/anti-entropy/partition-trees';
import { partitionOf } from '../../src/ring/partitioner';
import { RecordMap } from '../../src/storage/record-map';

const Q = 4;
const SHAPE = { fanout: 4, depth: 2 };

function session(v: number): StoredObject {
  return { kind: 'session', s: sessionWrite(emptySession(), { set: { v } }, 1_000 + v, 'n1', 1_000) };
}

class Source {
  readonly records = new RecordMap<StoredObject>();
  put(key: string, v: number): void {
    this.records.set(key, session(v), { partition: partitionOf(key, Q), expiresAtMs: null });
  }
  get(key: string): StoredObject | undefined {
    return this.records.get(key);
  }
  keysInPartition(p: PartitionId): Iterable<string> {
    return this.records.keysInPartition(p);
  }
}

/** The root of partition p's tree built in one go from `src` as it is now. */
function oneShotRoot(src: Source, p: PartitionId): string {
  return new PartitionTrees(src, { partitions: Q, shape: SHAPE, rebuildMs: 1e9 }).tree(p, 0).rootHash().toString('hex');
}

type Change = { key: string; v: number | null };
const changeArb: fc.Arbitrary<Change> = fc.record({ key: fc.integer({ min: 0, max: 60 }).map((i) => `k${i}`), v: fc.option(fc.integer({ min: 0, max: 9 })) });

describe('PartitionTrees.prepare (sliced builds)', () => {
  it('yields between slices and ends equal to a one-go build, whatever changes land meanwhile', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 60 }),
      fc.array(fc.array(changeArb, { maxLength: 4 }), { maxLength: 30 }),
      fc.integer({ min: 1, max: 5 }),
      async (initial, changesPerYield, sliceKeys) => {
        const src = new Source();
        for (const i of initial) src.put(`k${i}`, i % 10);
        const trees = new PartitionTrees(src, { partitions: Q, shape: SHAPE, rebuildMs: 1e9, sliceKeys });
        const p = asPartitionId(0);
        let yields = 0;
        const yieldTurn = async (): Promise<void> => {
          // Changes a writer makes while the build is paused go through the replica, which reports them.
          for (const c of changesPerYield[yields] ?? []) {
            if (c.v === null) src.records.delete(c.key);
            else src.put(c.key, c.v);
            trees.noteChange(c.key);
          }
          yields++;
        };
        const keysAtStart = [...src.keysInPartition(p)].length;
        await trees.prepare(p, () => 0, yieldTurn);
        assert.ok(yields >= Math.floor(keysAtStart / sliceKeys) - 1, `${yields} yields for ${keysAtStart} keys in slices of ${sliceKeys}`);
        assert.equal(trees.tree(p, 0).rootHash().toString('hex'), oneShotRoot(src, p));
        assert.equal(trees.stats().builds, 1);
      },
    ), { numRuns: 200 });
  });

  it('shares one build between concurrent callers and skips a fresh tree', async () => {
    const src = new Source();
    for (let i = 0; i < 100; i++) src.put(`k${i}`, i % 10);
    const trees = new PartitionTrees(src, { partitions: Q, shape: SHAPE, rebuildMs: 1000, sliceKeys: 7 });
    const p = partitionOf('k1', Q);
    let yields = 0;
    const yieldTurn = async (): Promise<void> => { yields++; };
    await Promise.all([trees.prepare(p, () => 0, yieldTurn), trees.prepare(p, () => 0, yieldTurn)]);
    const once = yields;
    assert.ok(once > 0);
    assert.equal(trees.stats().builds, 1);
    await trees.prepare(p, () => 999, yieldTurn);
    assert.equal(yields, once, 'a fresh tree is not rebuilt');
    await trees.prepare(p, () => 1000, yieldTurn);
    assert.equal(trees.stats().builds, 2);
    assert.equal(trees.stats().rebuilds, 1);
  });

  it('does not install a tree whose partition was dropped while it was being built', async () => {
    const src = new Source();
    for (let i = 0; i < 50; i++) src.put(`k${i}`, 1);
    const trees = new PartitionTrees(src, { partitions: Q, shape: SHAPE, rebuildMs: 1000, sliceKeys: 2 });
    const p = partitionOf('k1', Q);
    await trees.prepare(p, () => 0, async () => { trees.drop(p); });
    assert.equal(trees.has(p), false);
    assert.equal(trees.stats().builds, 0);
  });
});
