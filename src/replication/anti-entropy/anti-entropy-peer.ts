/**
 * Anti-entropy over the peer protocol (docs/anti-entropy.md): tree queries
 * as 'ae-level' / 'ae-keys' messages, repairs as the core's 'get' and 'put'
 * (so a repaired key is merged by the same Replica.apply as every write),
 * and the validation of everything a peer sends for it. Works over any
 * Network (ws, the in-memory hub, the simulator).
 */
import { Packr } from 'msgpackr';
import { BadRequestError } from '../../core/errors';
import type { NodeId, PartitionId } from '../../core/ids';
import type { Network } from '../../core/network-port';
import type { StoredObject } from '../../crdt/stored-object';
import type { PeerMsg } from '../peer-message';
import { validateStoredObject } from '../wire-validate';
import { treeId, type HashTree, type TreeShape } from './hash-tree';
import type { ExchangePeer } from './partition-exchange';
import { answerTreeQuery, type TreeAnswer, type TreeQuery } from './tree-compare';

/** Most parents or segments one query may name (bounds the answer a peer must build). */
export const QUERY_ITEMS_MAX = 65_536;

export type TreeQueryMsg = Extract<PeerMsg, { type: 'ae-level' | 'ae-keys' }>;

export function isTreeQueryMsg(msg: { type: string }): msg is TreeQueryMsg {
  return msg.type === 'ae-level' || msg.type === 'ae-keys';
}

/** The message asking `query` of the peer's tree of `partition`. */
export function treeQueryMsg(partition: PartitionId, shape: TreeShape, query: TreeQuery): TreeQueryMsg {
  const tree = treeId(shape);
  return query.kind === 'level'
    ? { type: 'ae-level', partition, tree, level: query.level, parents: [...query.parents] }
    : { type: 'ae-keys', partition, tree, segments: [...query.segments] };
}

export function treeAnswerMsg(answer: TreeAnswer): PeerMsg {
  return answer.kind === 'level'
    ? { type: 'ae-level-ok', hashes: answer.hashes }
    : { type: 'ae-keys-ok', counts: [...answer.counts], keys: [...answer.keys], hashes: answer.hashes };
}

/**
 * Check a tree query from a peer: partition in range, a tree built the way
 * ours is, bounded lists of non-negative integers. Ranges within the tree
 * are checked by answerTreeQuery.
 */
export function parseTreeQuery(x: unknown, partitions: number, shape: TreeShape): { partition: PartitionId; query: TreeQuery } {
  if (typeof x !== 'object' || x === null) throw new BadRequestError('malformed anti-entropy query');
  const m = x as Record<string, unknown>;
  if (!Number.isSafeInteger(m.partition) || (m.partition as number) < 0 || (m.partition as number) >= partitions) {
    throw new BadRequestError('anti-entropy query: bad partition');
  }
  if (m.tree !== treeId(shape)) {
    throw new BadRequestError(`anti-entropy query for tree ${JSON.stringify(String(m.tree)).slice(0, 40)}; this node builds ${treeId(shape)}`);
  }
  const partition = m.partition as PartitionId;
  const list = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v) || v.length > QUERY_ITEMS_MAX || !v.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw new BadRequestError(`anti-entropy query: bad ${what}`);
    }
    return v as number[];
  };
  if (m.type === 'ae-level') {
    if (!Number.isSafeInteger(m.level)) throw new BadRequestError('anti-entropy query: bad level');
    return { partition, query: { kind: 'level', level: m.level as number, parents: list(m.parents, 'parents') } };
  }
  if (m.type === 'ae-keys') return { partition, query: { kind: 'keys', segments: list(m.segments, 'segments') } };
  throw new BadRequestError('not an anti-entropy query');
}

/** Check the shape of a peer's answer (its contents are checked against the query by compareTrees). */
export function parseTreeAnswer(x: PeerMsg): TreeAnswer {
  const m = x as unknown as Record<string, unknown>;
  if (m.type === 'ae-level-ok' && m.hashes instanceof Uint8Array) return { kind: 'level', hashes: m.hashes };
  if (
    m.type === 'ae-keys-ok' && m.hashes instanceof Uint8Array &&
    Array.isArray(m.counts) && Array.isArray(m.keys) && m.keys.every((k) => typeof k === 'string')
  ) {
    return { kind: 'keys', counts: m.counts as number[], keys: m.keys as string[], hashes: m.hashes };
  }
  throw new BadRequestError('malformed anti-entropy answer');
}

/** Answer a peer's tree query from `treeOf(partition)`, after validating it. */
export function answerTreeQueryMsg(
  msg: unknown, partitions: number, shape: TreeShape, treeOf: (p: PartitionId) => HashTree,
): PeerMsg {
  const { partition, query } = parseTreeQuery(msg, partitions, shape);
  return treeAnswerMsg(answerTreeQuery(treeOf(partition), query));
}

// The transport's options (transport/frame-codec.ts): plain maps, no records.
const sizer = new Packr({ useRecords: false });

/** Bytes of `msg` packed as the peer protocol packs it (without the few bytes of envelope and frame). */
export function peerMsgBytes(msg: PeerMsg): number {
  return sizer.pack(msg).length;
}

export interface NetworkPeerOptions {
  partition: PartitionId;
  shape: TreeShape;
  timeoutMs: number;
  /** Told the packed size of every message sent and received for this exchange. */
  onBytes?: (bytes: number) => void;
}

/** The other replica `peer` over `network`, for one exchange of one partition. */
export function networkPeer(network: Network<PeerMsg>, peer: NodeId, opts: NetworkPeerOptions): ExchangePeer {
  const request = async (msg: PeerMsg): Promise<PeerMsg> => {
    const reply = await network.request(peer, msg, opts.timeoutMs);
    if (opts.onBytes) opts.onBytes(peerMsgBytes(msg) + peerMsgBytes(reply));
    return reply;
  };
  return {
    tree: async (query) => parseTreeAnswer(await request(treeQueryMsg(opts.partition, opts.shape, query))),
    fetch: async (key): Promise<StoredObject | null> => {
      // Its own copy, as its tree describes; hints it holds are hinted handoff's to deliver.
      const reply = await request({ type: 'get', key, own: true });
      if (reply.type !== 'get-ok') throw new BadRequestError(`expected get-ok, got ${String(reply.type).slice(0, 40)}`);
      return reply.obj === null ? null : validateStoredObject(reply.obj);
    },
    push: async (key, obj) => {
      const reply = await request({ type: 'put', key, obj });
      if (reply.type !== 'put-ok') throw new BadRequestError(`expected put-ok, got ${String(reply.type).slice(0, 40)}`);
    },
  };
}
