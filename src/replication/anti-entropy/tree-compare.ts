/**
 * Comparing two replicas' hash trees of one partition, level by level
 * (Dynamo 4.7; riak_core hashtree:compare(Tree, Remote)). The local tree is
 * an object; the other replica's is only a `remote` function answering
 * queries (STYLE.md 7), so the same code runs over ws, over the in-memory
 * network, in the simulator and in the benchmark.
 *
 * The walk: compare the roots; for every level below, ask the remote for the
 * children of the nodes that differed one level up and keep the children
 * that differ; at the leaves, ask for the (key, item hash) lists of the
 * differing segments and compare them key by key. Each differing key costs
 * at most `depth` runs of `fanout` hashes plus its segment's key list, and
 * equal subtrees are never opened, so the bytes exchanged grow with the
 * number of differing keys (and the keys sharing their segments), not with
 * the number of keys stored. Equal trees cost one round trip of a root hash.
 *
 * answerTreeQuery() is the other side: what a replica answers from its own
 * tree.
 */
import { assert } from '../../core/assert';
import { BadRequestError } from '../../core/errors';
import { HashTree, NODE_HASH_BYTES, readItemHash, writeItemHash } from './hash-tree';

/** What one replica asks another about its tree of the partition being compared. */
export type TreeQuery =
  /** The hashes at `level` of the children of `parents` (level 0: the root, no parents). */
  | { readonly kind: 'level'; readonly level: number; readonly parents: readonly number[] }
  /** The keys and item hashes of leaf segments. */
  | { readonly kind: 'keys'; readonly segments: readonly number[] };

export type TreeAnswer =
  /** fanout hashes of 8 bytes per parent (one for the root), in the order asked. */
  | { readonly kind: 'level'; readonly hashes: Uint8Array }
  /**
   * counts[i] keys of segments[i], all lists concatenated in `keys`, with
   * their item hashes (8 bytes each, same order) in `hashes`.
   */
  | { readonly kind: 'keys'; readonly counts: readonly number[]; readonly keys: readonly string[]; readonly hashes: Uint8Array };

/** The other replica's tree, as riak_core's Remote fun. */
export type RemoteTree = (query: TreeQuery) => Promise<TreeAnswer>;

export interface CompareOptions {
  /** Parents per level query; a level with more differing nodes takes several round trips. */
  parentsPerQueryMax?: number;
  /** Segments per key-list query. */
  segmentsPerQueryMax?: number;
  /** Stop after finding this many differing keys (the rest are found by a later exchange). */
  keysMax?: number;
}

export const COMPARE_DEFAULTS: Required<CompareOptions> = {
  parentsPerQueryMax: 2048,
  segmentsPerQueryMax: 512,
  keysMax: Number.POSITIVE_INFINITY,
};

export interface TreeDiff {
  /** Keys only the local tree holds. */
  readonly onlyLocal: string[];
  /** Keys only the remote tree holds. */
  readonly onlyRemote: string[];
  /** Keys both hold, with different item hashes (different object states). */
  readonly different: string[];
  /** Queries sent (round trips). */
  readonly rounds: number;
  /** True when keysMax stopped the walk before every differing segment was listed. */
  readonly truncated: boolean;
}

/** Walk the two trees from the root down; resolves with the keys whose states differ. */
export async function compareTrees(local: HashTree, remote: RemoteTree, options: CompareOptions = {}): Promise<TreeDiff> {
  const opts = { ...COMPARE_DEFAULTS, ...options };
  assert(opts.parentsPerQueryMax >= 1 && opts.segmentsPerQueryMax >= 1 && opts.keysMax >= 1, 'bad compare options');
  const { fanout, depth } = local.shape;
  const diff = { onlyLocal: [] as string[], onlyRemote: [] as string[], different: [] as string[], rounds: 0, truncated: false };
  const ask = async (q: TreeQuery): Promise<TreeAnswer> => {
    diff.rounds++;
    return remote(q);
  };

  const root = await ask({ kind: 'level', level: 0, parents: [] });
  const rootHashes = levelHashes(root, NODE_HASH_BYTES);
  if (local.rootHash().equals(rootHashes)) return diff;

  let differing: number[] = [0];
  for (let level = 1; level <= depth && differing.length > 0; level++) {
    const next: number[] = [];
    for (let from = 0; from < differing.length; from += opts.parentsPerQueryMax) {
      const parents = differing.slice(from, from + opts.parentsPerQueryMax);
      const theirs = levelHashes(await ask({ kind: 'level', level, parents }), parents.length * fanout * NODE_HASH_BYTES);
      const ours = local.childHashes(level, parents);
      for (let i = 0; i < parents.length * fanout; i++) {
        const at = i * NODE_HASH_BYTES;
        if (ours.compare(theirs, at, at + NODE_HASH_BYTES, at, at + NODE_HASH_BYTES) !== 0) {
          next.push(parents[Math.floor(i / fanout)]! * fanout + (i % fanout));
        }
      }
    }
    differing = next;
  }

  const found = (): number => diff.onlyLocal.length + diff.onlyRemote.length + diff.different.length;
  for (let from = 0; from < differing.length; from += opts.segmentsPerQueryMax) {
    if (found() >= opts.keysMax) {
      diff.truncated = true;
      break;
    }
    const segments = differing.slice(from, from + opts.segmentsPerQueryMax);
    const answer = await ask({ kind: 'keys', segments });
    if (answer.kind !== 'keys' || answer.counts.length !== segments.length || answer.hashes.length !== answer.keys.length * NODE_HASH_BYTES) {
      throw new BadRequestError('malformed anti-entropy key list');
    }
    let at = 0;
    segments.forEach((seg, i) => {
      const count = answer.counts[i]!;
      if (!Number.isSafeInteger(count) || count < 0 || at + count > answer.keys.length) {
        throw new BadRequestError('malformed anti-entropy key list counts');
      }
      const seen = new Set<string>();
      for (let j = at; j < at + count; j++) {
        const key = answer.keys[j]!;
        const theirs = readItemHash(answer.hashes, j * NODE_HASH_BYTES);
        if (theirs < 0 || seen.has(key) || local.segmentOf(key) !== seg) throw new BadRequestError('malformed anti-entropy key list entry');
        seen.add(key);
        const ours = local.itemHashOf(key);
        if (ours === undefined) diff.onlyRemote.push(key);
        else if (ours !== theirs) diff.different.push(key);
      }
      for (const key of local.segmentKeys(seg)) if (!seen.has(key)) diff.onlyLocal.push(key);
      at += count;
    });
    if (at !== answer.keys.length) throw new BadRequestError('malformed anti-entropy key list counts');
  }
  return diff;
}

/**
 * What this replica answers to a query about its tree (from a peer, or a
 * test). Node numbers must be strictly increasing (compareTrees asks in that
 * order), so no query can make an answer larger than the tree itself.
 */
export function answerTreeQuery(tree: HashTree, query: TreeQuery): TreeAnswer {
  if (query.kind === 'level') {
    const { level, parents } = query;
    if (!Number.isInteger(level) || level < 0 || level > tree.shape.depth) throw new BadRequestError(`no tree level ${String(level)}`);
    if (level === 0 ? parents.length !== 0 : !ascendingBelow(parents, tree.nodesAt(level - 1))) {
      throw new BadRequestError(`bad parents for tree level ${level}`);
    }
    return { kind: 'level', hashes: tree.childHashes(level, parents) };
  }
  const { segments } = query;
  if (!ascendingBelow(segments, tree.segments)) throw new BadRequestError('bad tree segments');
  const counts: number[] = [];
  const keys: string[] = [];
  for (const seg of segments) {
    const list = tree.segmentKeys(seg);
    counts.push(list.length);
    for (const k of list) keys.push(k);
  }
  const hashes = Buffer.allocUnsafe(keys.length * NODE_HASH_BYTES);
  keys.forEach((k, i) => writeItemHash(hashes, i * NODE_HASH_BYTES, tree.itemHashOf(k)!));
  return { kind: 'keys', counts, keys, hashes };
}

/** Strictly increasing integers in [0, limit). */
function ascendingBelow(xs: readonly number[], limit: number): boolean {
  let prev = -1;
  for (const x of xs) {
    if (!Number.isInteger(x) || x <= prev || x >= limit) return false;
    prev = x;
  }
  return true;
}

function levelHashes(answer: TreeAnswer, bytes: number): Buffer {
  if (answer.kind !== 'level' || answer.hashes.length !== bytes) throw new BadRequestError('malformed anti-entropy level answer');
  const h = answer.hashes;
  return Buffer.isBuffer(h) ? h : Buffer.from(h.buffer, h.byteOffset, h.byteLength);
}
