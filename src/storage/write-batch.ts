/**
 * One group-commit batch (DESIGN.md "Durability": a write is acknowledged
 * only after its storage commit, and group commit batches many writes into
 * one transaction). It holds the row changes that will become durable
 * together, coalesced per row (the last write to a key wins), and one promise
 * that every caller whose change is in the batch waits on.
 *
 * Sharing one promise per batch instead of one per call keeps the cost of a
 * commit independent of how many callers it acknowledges.
 */
import type { NodeId, PartitionId } from '../core/ids';

export type KvWrite =
  | { kind: 'put'; bytes: Uint8Array; partition: PartitionId; expiresAtMs: number | null }
  | { kind: 'delete' };

export type HintWrite =
  | { kind: 'add'; target: NodeId; key: string; partition: PartitionId; bytes: Uint8Array }
  | { kind: 'delete' };

export class WriteBatch {
  readonly kv = new Map<string, KvWrite>();
  readonly hints = new Map<number, HintWrite>();
  readonly meta = new Map<string, string>();
  /** Settles when the batch is committed (resolves) or lost (rejects). */
  readonly done: Promise<void>;
  private settle!: { resolve: () => void; reject: (err: Error) => void };
  private settled = false;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  /** Rows this batch will write or delete. */
  get rows(): number {
    return this.kv.size + this.hints.size + this.meta.size;
  }

  putKv(key: string, bytes: Uint8Array, partition: PartitionId, expiresAtMs: number | null): void {
    this.kv.set(key, { kind: 'put', bytes, partition, expiresAtMs });
  }

  removeKv(key: string): void {
    this.kv.set(key, { kind: 'delete' });
  }

  addHint(id: number, target: NodeId, key: string, partition: PartitionId, bytes: Uint8Array): void {
    this.hints.set(id, { kind: 'add', target, key, partition, bytes });
  }

  removeHint(id: number): void {
    // Ids are never reused while running, so a hint added in this very batch
    // was never written before: dropping the add is the whole removal.
    if (this.hints.get(id)?.kind === 'add') this.hints.delete(id);
    else this.hints.set(id, { kind: 'delete' });
  }

  setMeta(name: string, value: string): void {
    this.meta.set(name, value);
  }

  resolve(): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.resolve();
  }

  reject(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.reject(err);
  }
}
