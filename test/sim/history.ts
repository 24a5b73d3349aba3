/**
 * What the simulated clients did and what they were told: one record per
 * client operation, the model the invariants are checked against (in the
 * manner of Jepsen's histories). An operation is acknowledged only when its
 * coordinator answered and was still the same incarnation when it did; a
 * failed or cut-off operation is "maybe applied", which the checks allow for
 * (it may have reached some replicas, and may supersede or add to what is
 * there).
 */
import type { NodeId } from '../../src/core/ids';
import type { Dot } from '../../src/clock/dot';
import type { VersionVector } from '../../src/clock/version-vector';
import { vvCovers } from '../../src/clock/version-vector';
import type { StoredObject } from '../../src/crdt/stored-object';
import type { CartDot } from '../../src/crdt/cart';

export type OpKind =
  | 'get'
  | 'put'
  | 'delete'
  | 'cart-add'
  | 'cart-remove'
  | 'cart-set'
  | 'session-write'
  | 'session-touch'
  | 'session-destroy';

export type Outcome = 'pending' | 'ok' | 'failed' | 'unknown';

export interface OpRecord {
  readonly id: number;
  readonly kind: OpKind;
  readonly key: string;
  readonly node: NodeId;
  readonly startMs: number;
  endMs: number | null;
  outcome: Outcome;
  error?: string;
  /** What the coordinator answered (acknowledged writes and successful reads). */
  result?: StoredObject | null;

  /** Opaque put: the body, unique in the run, which identifies the write's sibling. */
  value?: string;
  /** Opaque put/delete: the context sent; null for a delete that lets the coordinator read. */
  context?: VersionVector | null;
  /** Opaque put/delete, once acknowledged: the dot the write got, when it can be told apart. */
  dot?: Dot;

  /** Cart: the item; for add/set also the quantity, unique in the run, which identifies the add. */
  item?: string;
  qty?: number;
  /** Cart add/set, once acknowledged: the dot the coordinator minted for the entry. */
  addDot?: CartDot;

  /** Session write: fields set (to values unique in the run) and deleted. */
  set?: Record<string, string>;
  del?: string[];
  expiresAtMs?: number;
}

export function isWrite(op: OpRecord): boolean {
  return op.kind !== 'get';
}

export function isAcked(op: OpRecord): boolean {
  return op.outcome === 'ok';
}

export class History {
  readonly ops: OpRecord[] = [];
  private readonly byKey = new Map<string, OpRecord[]>();
  private nextId = 1;
  private pending = 0;

  begin(fields: Omit<OpRecord, 'id' | 'endMs' | 'outcome'>): OpRecord {
    const op: OpRecord = { ...fields, id: this.nextId++, endMs: null, outcome: 'pending' };
    this.ops.push(op);
    this.pending++;
    let list = this.byKey.get(op.key);
    if (!list) this.byKey.set(op.key, (list = []));
    list.push(op);
    return op;
  }

  keys(): string[] {
    return [...this.byKey.keys()].sort();
  }

  ofKey(key: string): readonly OpRecord[] {
    return this.byKey.get(key) ?? [];
  }

  /** Record how `op` ended, at `endMs`. */
  settle(op: OpRecord, outcome: Exclude<Outcome, 'pending'>, endMs: number): void {
    if (op.outcome === 'pending') this.pending--;
    op.outcome = outcome;
    op.endMs = endMs;
  }

  pendingCount(): number {
    return this.pending;
  }

  /**
   * An operation, other than `w`, that may legitimately have replaced the
   * opaque write `w` (dot `d`): one that carried a context covering d, or a
   * delete without context whose own read may have seen w (it ended, or may
   * still be running, after w began).
   */
  supersederOf(w: OpRecord, d: Dot): OpRecord | undefined {
    return this.ofKey(w.key).find((x) => {
      if (x === w || (x.kind !== 'put' && x.kind !== 'delete')) return false;
      if (x.context === null) return (x.endMs ?? Infinity) > w.startMs;
      return x.context !== undefined && vvCovers(x.context, d);
    });
  }
}
