/**
 * One anti-entropy exchange of one partition between this replica and
 * another (Dynamo 4.7): compare the two hash trees (tree-compare.ts), then
 * repair every differing key both ways. Repair sends objects, never
 * decisions: this side merges the other's object into its own copy
 * (Replica.apply) and sends the merged object back (a 'put', which the other
 * side merges too), so a repair can only add causal history, and running it
 * twice, or at the same time as a write, read repair or hinted handoff, is
 * harmless (every path ends in the same join, crdt/stored-object.ts).
 *
 * Expired sessions are not repaired: they read as absent everywhere and
 * each replica sweeps its own (replication/ttl-sweep.ts); copying one to a
 * replica that already swept it would only make it sweep it again.
 *
 * Pure apart from the injected peer and replica: time comes in as nowMs.
 */
import { assert } from '../../core/assert';
import { mergeObjects, objectDigest, objectExpiresAtMs, type StoredObject } from '../../crdt/stored-object';
import type { HashTree } from './hash-tree';
import { compareTrees, type CompareOptions, type RemoteTree } from './tree-compare';

/** The other replica, for one exchange of one partition. */
export interface ExchangePeer {
  /** Its tree of the partition (riak_core's Remote). */
  readonly tree: RemoteTree;
  /** Its copy of `key` (null when it has none). */
  fetch(key: string): Promise<StoredObject | null>;
  /** Merge `obj` into its copy of `key`; resolves once durable there. */
  push(key: string, obj: StoredObject): Promise<void>;
}

/** This replica: its own copy of a key, and the merge-and-store every write path uses. */
export interface LocalReplica {
  own(key: string): StoredObject | undefined;
  apply(key: string, obj: StoredObject): Promise<StoredObject>;
}

export interface ExchangeOptions extends CompareOptions {
  nowMs: number;
  /** Keys repaired at the same time. */
  repairConcurrency?: number;
}

export interface ExchangeResult {
  /** Keys whose states differed in the trees. */
  differing: number;
  /** Keys this side changed by merging the other's object. */
  pulled: number;
  /** Keys sent to the other side (merged objects). */
  pushed: number;
  /** Keys changed on at least one side. */
  repaired: number;
  /** Keys found different whose object had expired: left to the sweeps. */
  expired: number;
  /** Tree queries sent. */
  rounds: number;
  /** True when the compare stopped at keysMax: more differences remain. */
  truncated: boolean;
}

export async function exchangePartition(
  tree: HashTree, local: LocalReplica, peer: ExchangePeer, options: ExchangeOptions,
): Promise<ExchangeResult> {
  const { nowMs } = options;
  const diff = await compareTrees(tree, peer.tree, options);
  const result: ExchangeResult = {
    differing: diff.onlyLocal.length + diff.onlyRemote.length + diff.different.length,
    pulled: 0,
    pushed: 0,
    repaired: 0,
    expired: 0,
    rounds: diff.rounds,
    truncated: diff.truncated,
  };
  const live = (o: StoredObject): boolean => {
    const exp = objectExpiresAtMs(o);
    if (exp !== null && exp <= nowMs) {
      result.expired++;
      return false;
    }
    return true;
  };

  const pushOnly = async (key: string): Promise<void> => {
    const mine = local.own(key);
    if (!mine || !live(mine)) return; // removed since the compare, or expired
    await peer.push(key, mine);
    result.pushed++;
    result.repaired++;
  };
  const reconcile = async (key: string): Promise<void> => {
    const theirs = await peer.fetch(key);
    if (!theirs) return pushOnly(key);
    const mine = local.own(key);
    let merged = mine ? mergeObjects(mine, theirs) : theirs;
    if (!live(merged)) return;
    let changed = false;
    if (!mine || objectDigest(mine) !== objectDigest(merged)) {
      // apply() merges into the copy as it is now, which a write may have moved on.
      merged = await local.apply(key, theirs);
      result.pulled++;
      changed = true;
    }
    if (objectDigest(theirs) !== objectDigest(merged)) {
      await peer.push(key, merged);
      result.pushed++;
      changed = true;
    }
    if (changed) result.repaired++;
  };

  const jobs: Array<() => Promise<void>> = [
    ...diff.onlyLocal.map((k) => () => pushOnly(k)),
    ...diff.onlyRemote.map((k) => () => reconcile(k)),
    ...diff.different.map((k) => () => reconcile(k)),
  ];
  await runPool(jobs, options.repairConcurrency ?? 32);
  return result;
}

/**
 * Run the jobs with at most `limit` in flight. After a failure (the peer went
 * away, most likely) no new job starts; rejects with the first failure once
 * the running ones have settled.
 */
async function runPool(jobs: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  assert(Number.isInteger(limit) && limit >= 1, 'concurrency must be a positive integer');
  let next = 0;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (next < jobs.length && failure === null) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (failure !== null) throw failure;
}
