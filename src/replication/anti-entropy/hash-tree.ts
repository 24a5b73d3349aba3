/**
 * The hash tree one replica keeps for one ring partition (Dynamo 4.7,
 * "Handling permanent failures: replica synchronization"; the layout follows
 * riak_core's hashtree.erl: a fixed number of leaf segments, keys bucketed by
 * a hash of the key, inner levels of fixed width).
 *
 * Shape: a complete `fanout`-ary tree of `depth` levels below the root, so
 * `fanout ** depth` leaf segments. A key lives in the segment named by the
 * top bits of a 32-bit hash of the key alone (never of its value), so two
 * replicas put the same key in the same segment whatever version they hold.
 * Nodes are numbered per level: node i at level L has children i*fanout ..
 * i*fanout + fanout - 1 at level L + 1; the root is node 0 of level 0.
 *
 * Hashes are 8 bytes, stored big-endian in one Buffer per level, so a run of
 * sibling hashes is both the input of their parent's hash and the bytes sent
 * on the wire, whatever the machine's byte order.
 *
 * - An item is a key with the digest of the object stored under it
 *   (crdt/stored-object.ts objectDigest); its hash is 53 bits of
 *   SHA-1(key, 0, digest), held as a JS number.
 * - A leaf's hash is the XOR of its items' hashes. XOR makes the leaf
 *   independent of insertion order and lets an insert, replace or remove
 *   update it in O(1) without rehashing the segment (riak rehashes the whole
 *   segment's sorted list instead). Each key appears once per tree, and two
 *   different item sets XOR alike with probability 2^-53, for honest data;
 *   this tree tells replicas apart, it does not resist an attacker.
 * - An inner node's hash is the first 8 bytes of SHA-1 of its children's
 *   hashes, or zero when every child is zero (an empty subtree), so empty
 *   partitions compare equal without hashing. Inner hashes are recomputed
 *   lazily: a leaf change marks its ancestors dirty, and reading a hash
 *   first rehashes the dirty nodes, bottom up (riak's update_tree).
 *
 * Pure: no I/O, no clock. partition-trees.ts keeps one tree per partition
 * in step with storage; tree-compare.ts exchanges trees level by level.
 */
import * as crypto from 'node:crypto';
import { assert } from '../../core/assert';

const { createHash } = crypto;
/** SHA-1 of bytes or a UTF-8 string; the one-shot crypto.hash (Node 20.12+) is about twice as fast as a Hash object. */
const sha1 = typeof crypto.hash === 'function'
  ? (data: string | Buffer): Buffer => crypto.hash('sha1', data, 'buffer')
  : (data: string | Buffer): Buffer => createHash('sha1').update(data).digest();

export interface TreeShape {
  /** Children per inner node: a power of two from 2 to 256. */
  readonly fanout: number;
  /** Levels below the root; fanout ** depth leaf segments, at most 2^24. */
  readonly depth: number;
}

/** Bytes of one node hash, on the wire and in memory. */
export const NODE_HASH_BYTES = 8;
/** Largest number of leaf segments a tree may have (bounds its memory: 8 bytes each plus a slot). */
export const TREE_SEGMENTS_MAX = 1 << 24;

const HI_MOD = 2 ** 21;
const LO_MOD = 2 ** 32;

/** Throws (assert) unless `shape` is a valid tree shape. */
export function assertTreeShape(shape: TreeShape): void {
  const { fanout, depth } = shape;
  assert(Number.isInteger(fanout) && fanout >= 2 && fanout <= 256 && (fanout & (fanout - 1)) === 0,
    `tree fanout must be a power of two from 2 to 256, got ${fanout}`);
  assert(Number.isInteger(depth) && depth >= 1, `tree depth must be a positive integer, got ${depth}`);
  assert(fanout ** depth <= TREE_SEGMENTS_MAX, `tree has ${fanout}^${depth} segments; the limit is ${TREE_SEGMENTS_MAX}`);
}

/** Names the shape and the hash functions, so replicas never compare trees built differently. */
export function treeId(shape: TreeShape): string {
  return `ae1-${shape.fanout}-${shape.depth}`;
}

/**
 * 32-bit hash of the key that picks its segment: FNV-1a over UTF-16 code
 * units, finished with MurmurHash3's fmix32 so the top bits are well mixed.
 * It must not be the partitioner's MD5 prefix: every key of a partition
 * shares those top bits.
 */
export function segmentHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The 53-bit hash of one item: a key with the digest of its object. */
export function itemHash(key: string, digest: string): number {
  const d = sha1(`${key}\0${digest}`);
  return (d.readUInt32BE(0) & (HI_MOD - 1)) * LO_MOD + d.readUInt32BE(4);
}

/** Write a 53-bit item hash as 8 big-endian bytes. */
export function writeItemHash(buf: Uint8Array, offset: number, h: number): void {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  view.writeUInt32BE(Math.floor(h / LO_MOD), offset);
  view.writeUInt32BE(h % LO_MOD, offset + 4);
}

/** Read an item hash written by writeItemHash; rejects (returns -1) more than 53 bits. */
export function readItemHash(buf: Uint8Array, offset: number): number {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const hi = view.readUInt32BE(offset);
  if (hi >= HI_MOD) return -1;
  return hi * LO_MOD + view.readUInt32BE(offset + 4);
}

export class HashTree {
  readonly shape: TreeShape;
  /** fanout ** depth. */
  readonly segments: number;
  private readonly fanoutBits: number;
  /** Bits of a segment number: fanoutBits * depth (at most 24). */
  private readonly segmentBits: number;
  /** levels[L]: the hashes of level L's fanout ** L nodes, 8 bytes each. */
  private readonly levels: Buffer[];
  /** dirty[L][i] = 1 when inner node i of level L must be rehashed (L < depth). */
  private readonly dirty: Uint8Array[];
  private readonly dirtyList: number[][];
  private readonly zeroChildren: Buffer;

  // Items live in slots of flat arrays, and each segment's items form a
  // linked list through slotNext: a million keys cost a million map entries
  // and a few typed-array cells, not a million small arrays for the GC.
  /** key -> its slot. */
  private readonly slotOf = new Map<string, number>();
  private slotKey: Array<string | undefined> = [];
  private slotHash = new Float64Array(16);
  /** Next slot in the same segment, or -1. */
  private slotNext = new Int32Array(16);
  private readonly freeSlots: number[] = [];
  /** segment -> its first slot, or -1. */
  private readonly segHead: Int32Array;

  constructor(shape: TreeShape) {
    assertTreeShape(shape);
    this.shape = { fanout: shape.fanout, depth: shape.depth };
    this.segments = shape.fanout ** shape.depth;
    this.fanoutBits = Math.log2(shape.fanout);
    this.segmentBits = this.fanoutBits * shape.depth;
    this.levels = [];
    this.dirty = [];
    this.dirtyList = [];
    for (let l = 0; l <= shape.depth; l++) {
      this.levels.push(Buffer.alloc(NODE_HASH_BYTES * shape.fanout ** l));
      if (l < shape.depth) {
        this.dirty.push(new Uint8Array(shape.fanout ** l));
        this.dirtyList.push([]);
      }
    }
    this.segHead = new Int32Array(this.segments).fill(-1);
    this.zeroChildren = Buffer.alloc(NODE_HASH_BYTES * shape.fanout);
  }

  /** Number of keys in the tree. */
  get size(): number {
    return this.slotOf.size;
  }

  /** The leaf segment `key` belongs to. */
  segmentOf(key: string): number {
    return segmentHash(key) >>> (32 - this.segmentBits);
  }

  /** Number of nodes at `level` (0 = root, depth = leaf segments). */
  nodesAt(level: number): number {
    return this.shape.fanout ** level;
  }

  /** The item hash held for `key`, if it is in the tree. */
  itemHashOf(key: string): number | undefined {
    const slot = this.slotOf.get(key);
    return slot === undefined ? undefined : this.slotHash[slot];
  }

  keys(): IterableIterator<string> {
    return this.slotOf.keys();
  }

  /** Insert `key` with the digest of its object, or replace the digest it had. */
  insert(key: string, digest: string): void {
    this.insertItem(key, itemHash(key, digest));
  }

  /** Insert with a precomputed item hash (itemHash(key, digest)). */
  insertItem(key: string, h: number): void {
    assert(Number.isSafeInteger(h) && h >= 0 && h < HI_MOD * LO_MOD, 'item hash must be a 53-bit integer');
    const seg = this.segmentOf(key);
    const slot = this.slotOf.get(key);
    if (slot !== undefined) {
      const old = this.slotHash[slot]!;
      if (old === h) return;
      this.slotHash[slot] = h;
      this.xorLeaf(seg, old, h);
      return;
    }
    const fresh = this.allocSlot();
    this.slotKey[fresh] = key;
    this.slotHash[fresh] = h;
    this.slotNext[fresh] = this.segHead[seg]!;
    this.segHead[seg] = fresh;
    this.slotOf.set(key, fresh);
    this.xorLeaf(seg, h, 0);
  }

  /** Remove `key`; returns whether it was there. */
  remove(key: string): boolean {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return false;
    const seg = this.segmentOf(key);
    // Unlink from the segment's list (segments hold a few keys).
    let prev = -1;
    let at = this.segHead[seg]!;
    while (at !== slot) {
      assert(at !== -1, 'segment list out of sync');
      prev = at;
      at = this.slotNext[at]!;
    }
    if (prev === -1) this.segHead[seg] = this.slotNext[slot]!;
    else this.slotNext[prev] = this.slotNext[slot]!;
    this.xorLeaf(seg, this.slotHash[slot]!, 0);
    this.slotOf.delete(key);
    this.slotKey[slot] = undefined;
    this.freeSlots.push(slot);
    return true;
  }

  /** The root hash (8 bytes; all zero for an empty tree). */
  rootHash(): Buffer {
    this.refresh();
    return Buffer.from(this.levels[0]!);
  }

  /**
   * The hashes at `level` of the children of `parents` (node numbers at
   * level - 1), fanout hashes per parent, concatenated in the order given.
   * Level 0 is the root: `parents` must then be empty.
   */
  childHashes(level: number, parents: readonly number[]): Buffer {
    assert(Number.isInteger(level) && level >= 0 && level <= this.shape.depth, `bad tree level ${level}`);
    this.refresh();
    if (level === 0) {
      assert(parents.length === 0, 'the root has no parent');
      return Buffer.from(this.levels[0]!);
    }
    const span = NODE_HASH_BYTES * this.shape.fanout;
    const above = this.nodesAt(level - 1);
    const out = Buffer.allocUnsafe(span * parents.length);
    const src = this.levels[level]!;
    parents.forEach((p, i) => {
      assert(Number.isInteger(p) && p >= 0 && p < above, `bad parent ${p} at level ${level - 1}`);
      src.copy(out, i * span, p * span, (p + 1) * span);
    });
    return out;
  }

  /** One node's hash (8 bytes, a copy). */
  nodeHash(level: number, index: number): Buffer {
    assert(Number.isInteger(level) && level >= 0 && level <= this.shape.depth, `bad tree level ${level}`);
    assert(Number.isInteger(index) && index >= 0 && index < this.nodesAt(level), `bad node ${index} at level ${level}`);
    this.refresh();
    const at = index * NODE_HASH_BYTES;
    return Buffer.from(this.levels[level]!.subarray(at, at + NODE_HASH_BYTES));
  }

  /** The keys of one leaf segment (unordered). */
  segmentKeys(seg: number): string[] {
    assert(Number.isInteger(seg) && seg >= 0 && seg < this.segments, `bad segment ${seg}`);
    const out: string[] = [];
    for (let at = this.segHead[seg]!; at !== -1; at = this.slotNext[at]!) out.push(this.slotKey[at]!);
    return out;
  }

  /** An independent copy (tests and the benchmark build one tree and diverge a copy). */
  clone(): HashTree {
    this.refresh();
    const t = new HashTree(this.shape);
    this.levels.forEach((buf, l) => buf.copy(t.levels[l]!));
    for (const [k, slot] of this.slotOf) t.slotOf.set(k, slot);
    t.slotKey = this.slotKey.slice();
    t.slotHash = this.slotHash.slice();
    t.slotNext = this.slotNext.slice();
    t.freeSlots.push(...this.freeSlots);
    t.segHead.set(this.segHead);
    return t;
  }

  private allocSlot(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    const slot = this.slotKey.length;
    this.slotKey.push(undefined);
    if (slot >= this.slotHash.length) {
      const hashes = new Float64Array(this.slotHash.length * 2);
      hashes.set(this.slotHash);
      this.slotHash = hashes;
      const next = new Int32Array(this.slotNext.length * 2);
      next.set(this.slotNext);
      this.slotNext = next;
    }
    return slot;
  }

  /** XOR item hashes `a` and `b` (0 for none) into segment `seg`'s leaf and mark its path dirty. */
  private xorLeaf(seg: number, a: number, b: number): void {
    const leaves = this.levels[this.shape.depth]!;
    const at = seg * NODE_HASH_BYTES;
    const hi = (Math.floor(a / LO_MOD) ^ Math.floor(b / LO_MOD)) >>> 0;
    const lo = ((a % LO_MOD) ^ (b % LO_MOD)) >>> 0;
    leaves.writeUInt32BE((leaves.readUInt32BE(at) ^ hi) >>> 0, at);
    leaves.writeUInt32BE((leaves.readUInt32BE(at + 4) ^ lo) >>> 0, at + 4);
    // Mark the path dirty, bottom up; an already dirty node has dirty ancestors.
    for (let l = this.shape.depth - 1; l >= 0; l--) {
      const i = seg >>> (this.fanoutBits * (this.shape.depth - l));
      const flags = this.dirty[l]!;
      if (flags[i] === 1) break;
      flags[i] = 1;
      this.dirtyList[l]!.push(i);
    }
  }

  /** Rehash dirty inner nodes, deepest level first. */
  private refresh(): void {
    const span = NODE_HASH_BYTES * this.shape.fanout;
    for (let l = this.shape.depth - 1; l >= 0; l--) {
      const list = this.dirtyList[l]!;
      if (list.length === 0) continue;
      const below = this.levels[l + 1]!;
      const here = this.levels[l]!;
      const flags = this.dirty[l]!;
      for (const i of list) {
        flags[i] = 0;
        const children = below.subarray(i * span, (i + 1) * span);
        if (children.equals(this.zeroChildren)) {
          here.fill(0, i * NODE_HASH_BYTES, (i + 1) * NODE_HASH_BYTES);
        } else {
          sha1(children).copy(here, i * NODE_HASH_BYTES, 0, NODE_HASH_BYTES);
        }
      }
      list.length = 0;
    }
  }
}
