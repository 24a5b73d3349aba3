/**
 * The storage port (DESIGN.md layer 5). Each node keeps every object it
 * replicates in memory, with a durable copy underneath: reads are synchronous
 * map look-ups, and a write's promise resolves only once it is committed
 * (group commit batches many writes into one transaction). A replica
 * acknowledges a write only after that promise resolves (Dynamo 4.5).
 *
 * The value type is a parameter: storage neither reads nor merges values; the
 * replication layer does, before it calls put().
 */
import type { NodeId, PartitionId } from './ids';

export interface RecordMeta {
  partition: PartitionId;
  /** Wall-clock ms after which the record may be swept, or null for never. */
  expiresAtMs: number | null;
}

/** A write held for an unreachable owner (Dynamo 4.6, hinted handoff). */
export interface Hint<T> {
  id: number;
  /** The preference-list node the write was meant for. */
  target: NodeId;
  key: string;
  value: T;
  partition: PartitionId;
}

export interface Storage<T> {
  get(key: string): T | undefined;
  metaOf(key: string): RecordMeta | undefined;
  /** Store the value; resolves once it is durable. */
  put(key: string, value: T, meta: RecordMeta): Promise<void>;
  /** Remove the record; resolves once the removal is durable. */
  remove(key: string): Promise<void>;
  size(): number;
  keys(): IterableIterator<string>;
  keysInPartition(partition: PartitionId): Iterable<string>;

  /** Store a hint durably; resolves with its id once committed. */
  addHint(target: NodeId, key: string, value: T, partition: PartitionId): Promise<number>;
  /** Pending hints, oldest first, optionally only those for one target. */
  hints(target?: NodeId, limit?: number): Hint<T>[];
  hintCount(): number;
  removeHints(ids: readonly number[]): Promise<void>;

  /** Small durable settings: membership, ring, id epochs. */
  getMeta(name: string): string | undefined;
  setMeta(name: string, value: string): Promise<void>;

  close(): Promise<void>;
}
