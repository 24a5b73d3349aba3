/**
 * Anti-entropy benchmark (issue 3, docs/anti-entropy.md): bytes two replicas
 * exchange to find and repair 1, 100 and 10,000 differing keys out of
 * 1,000,000, with the real hash trees, the real level-by-level compare and
 * the real peer messages packed as the transport packs them.
 *
 * Two layouts of the same 1M keys:
 *   - cluster: the keys spread evenly over Q = 256 partitions (the default;
 *     key i goes to partition i mod Q, which spreads them as evenly as the
 *     ring's MD5 placement and saves hashing 1M keys twice), one
 *     tree per partition of the default shape (16 x 16 x 16 = 4096
 *     segments); the figure is one full round of exchanges, every partition
 *     once, as a node's rotation performs it;
 *   - one tree: all 1M keys in a single tree of 16^5 segments, to show how
 *     the shape should follow the keys per partition.
 * Divergence: half the differing keys changed on one side, a quarter missing
 * on each side. Repair bytes are the 'get'/'put' messages that move a 100-byte
 * opaque value per key, as partition-exchange.ts sends them.
 *
 * Run after building: `node dist/bench/anti-entropy-bench.js [keys] [seed]`.
 * Pure and in-process: no sockets, no storage.
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_CONFIG } from '../src/core/config';
import { asActorId, asPartitionId, type PartitionId } from '../src/core/ids';
import { Prng } from '../src/core/prng';
import { dvvUpdate, emptyDvv } from '../src/clock/dvv';
import { emptyVv } from '../src/clock/version-vector';
import type { OpaqueValue, StoredObject } from '../src/crdt/stored-object';
import { HashTree, itemHash, type TreeShape } from '../src/replication/anti-entropy/hash-tree';
import { answerTreeQuery, compareTrees, type RemoteTree, type TreeDiff } from '../src/replication/anti-entropy/tree-compare';
import { peerMsgBytes, treeAnswerMsg, treeQueryMsg } from '../src/replication/anti-entropy/anti-entropy-peer';

const KEYS = Number(process.argv[2] ?? 1_000_000);
const SEED = Number(process.argv[3] ?? 42);
const DIFFS = [0, 1, 100, 10_000].filter((d) => d <= KEYS / 4);

const keyOf = (i: number): string => `session:${i.toString(36).padStart(6, '0')}`;
const value: StoredObject = {
  kind: 'opaque',
  dvv: dvvUpdate(emptyDvv<OpaqueValue>(), emptyVv(), { ct: 'application/octet-stream', b: new Uint8Array(100).fill(7) }, asActorId('n1.3')),
};

interface Layout {
  name: string;
  shape: TreeShape;
  /** partition -> [replica A's tree, replica B's tree] */
  trees: Map<PartitionId, [HashTree, HashTree]>;
  partitionOfKey: (i: number) => PartitionId;
}

function remoteOf(tree: HashTree, p: PartitionId, meter: { bytes: number; rounds: number }): RemoteTree {
  return async (q) => {
    const a = answerTreeQuery(tree, q);
    meter.bytes += peerMsgBytes(treeQueryMsg(p, tree.shape, q)) + peerMsgBytes(treeAnswerMsg(a));
    meter.rounds++;
    return a;
  };
}

/** The 'get'/'put' messages partition-exchange.ts sends for the keys of one diff. */
function repairBytes(diff: TreeDiff): number {
  const get = (k: string): number => peerMsgBytes({ type: 'get', key: k, own: true }) + peerMsgBytes({ type: 'get-ok', obj: value });
  const put = (k: string): number => peerMsgBytes({ type: 'put', key: k, obj: value }) + peerMsgBytes({ type: 'put-ok' });
  let bytes = 0;
  for (const k of diff.onlyLocal) bytes += put(k);
  for (const k of diff.onlyRemote) bytes += get(k);
  for (const k of diff.different) bytes += get(k) + put(k); // concurrent versions: merged both ways
  return bytes;
}

function build(name: string, shape: TreeShape, hashes: Float64Array, partitionOfKey: (i: number) => PartitionId): Layout {
  const started = performance.now();
  const one = new Map<PartitionId, HashTree>();
  for (let i = 0; i < hashes.length; i++) {
    const p = partitionOfKey(i);
    let tree = one.get(p);
    if (!tree) one.set(p, (tree = new HashTree(shape)));
    tree.insertItem(keyOf(i), hashes[i]!);
  }
  // Replica B starts as a copy of A; clone() also hashes the inner levels,
  // so the first compare is not charged for it.
  const trees = new Map<PartitionId, [HashTree, HashTree]>();
  for (const [p, a] of one) trees.set(p, [a, a.clone()]);
  console.log(`\n${name}: built two replicas' trees in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { name, shape, trees, partitionOfKey };
}

async function run(layout: Layout, hashes: Float64Array): Promise<void> {
  const segments = layout.shape.fanout ** layout.shape.depth;
  console.log(`${layout.name}: ${KEYS.toLocaleString('en-US')} keys, ${layout.trees.size} tree(s) of ${layout.shape.fanout}^${layout.shape.depth} = ${segments} segments (${(KEYS / layout.trees.size / segments).toFixed(2)} keys per segment)`);
  console.log('| differing keys | round trips | tree bytes | tree bytes / key beyond equal trees | repair bytes | total bytes | total / key | compare ms |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  let equalBytes = 0;
  for (const d of DIFFS) {
    const rng = new Prng(SEED + d);
    const picked = new Set<number>();
    while (picked.size < d) picked.add(rng.int(KEYS));
    // Diverge: change on B, remove from B, or remove from A; undone afterwards.
    const undo: Array<() => void> = [];
    let n = 0;
    for (const i of picked) {
      const [a, b] = layout.trees.get(layout.partitionOfKey(i))!;
      const k = keyOf(i);
      const h = hashes[i]!;
      const fate = n++ % 4;
      if (fate <= 1) {
        b.insertItem(k, itemHash(k, 'newer'));
        undo.push(() => b.insertItem(k, h));
      } else if (fate === 2) {
        b.remove(k);
        undo.push(() => b.insertItem(k, h));
      } else {
        a.remove(k);
        undo.push(() => a.insertItem(k, h));
      }
    }
    const meter = { bytes: 0, rounds: 0 };
    let found = 0;
    let repair = 0;
    const started = performance.now();
    for (const [p, [a, b]] of layout.trees) {
      const diff = await compareTrees(a, remoteOf(b, p, meter));
      found += diff.onlyLocal.length + diff.onlyRemote.length + diff.different.length;
      repair += repairBytes(diff);
    }
    const ms = performance.now() - started;
    if (found !== d) throw new Error(`found ${found} differing keys, expected ${d}`);
    for (const u of undo) u();
    if (d === 0) equalBytes = meter.bytes;
    const per = (x: number): string => (d === 0 ? '-' : (x / d).toFixed(0));
    console.log(`| ${d.toLocaleString('en-US')} | ${meter.rounds} | ${meter.bytes.toLocaleString('en-US')} | ${per(meter.bytes - equalBytes)} | ${repair.toLocaleString('en-US')} | ${(meter.bytes + repair).toLocaleString('en-US')} | ${per(meter.bytes + repair)} | ${ms.toFixed(0)} |`);
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const hashes = new Float64Array(KEYS);
  const q = DEFAULT_CONFIG.partitions;
  for (let i = 0; i < KEYS; i++) hashes[i] = itemHash(keyOf(i), 'v1');
  console.log(`anti-entropy bench: seed ${SEED}, item hashes of ${KEYS.toLocaleString('en-US')} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const naive = (() => {
    let bytes = 0;
    for (let i = 0; i < KEYS; i++) bytes += Buffer.byteLength(keyOf(i)) + 1 + 9;
    return bytes;
  })();
  console.log(`for scale: a flat list of every key with an 8-byte hash is ~${naive.toLocaleString('en-US')} bytes each way`);

  const shape: TreeShape = { fanout: DEFAULT_CONFIG.antiEntropyTreeFanout, depth: DEFAULT_CONFIG.antiEntropyTreeDepth };
  let layout: Layout | null = build(`cluster (Q=${q}, default shape)`, shape, hashes, (i) => asPartitionId(i % q));
  await run(layout, hashes);
  layout = null;
  const single = build('one tree (all keys in one partition)', { fanout: 16, depth: 5 }, hashes, () => asPartitionId(0));
  await run(single, hashes);
  const mem = process.memoryUsage();
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s, peak-ish RSS ${(mem.rss / 2 ** 20).toFixed(0)} MB`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
