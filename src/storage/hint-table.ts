/**
 * The in-memory view of pending hints (Dynamo 4.6, hinted handoff): writes a
 * node accepted for a preference-list owner that was unreachable, kept until
 * they are handed off. Both storage engines serve hints() from here.
 *
 * Ids are allocated here, in increasing order, so insertion order is age
 * order and "oldest first" needs no sorting. Hints are also grouped by target
 * so that handing off to one recovered node costs O(limit), not O(all hints),
 * even when a long outage has piled up millions of hints for others.
 */
import { assert } from '../core/assert';
import type { NodeId } from '../core/ids';
import type { Hint } from '../core/storage-port';

export class HintTable<T> {
  private readonly all = new Map<number, Hint<T>>();
  private readonly byTarget = new Map<NodeId, Map<number, Hint<T>>>();
  private nextId = 1;
  /** Largest id ever added: a smaller one would break "insertion order is age". */
  private maxAdded = 0;

  /** A fresh id, larger than every id seen so far. */
  allocateId(): number {
    return this.nextId++;
  }

  /**
   * Insert a hint. Ids must arrive in increasing order (allocateId() order,
   * or ascending when loading from disk) because order is age.
   */
  add(hint: Hint<T>): void {
    assert(Number.isSafeInteger(hint.id) && hint.id > 0, `bad hint id ${hint.id}`);
    assert(hint.id > this.maxAdded, `hint id ${hint.id} added out of order`);
    this.maxAdded = hint.id;
    const frozen = Object.freeze({ ...hint });
    this.all.set(hint.id, frozen);
    let forTarget = this.byTarget.get(hint.target);
    if (forTarget === undefined) {
      forTarget = new Map();
      this.byTarget.set(hint.target, forTarget);
    }
    forTarget.set(hint.id, frozen);
    if (hint.id >= this.nextId) this.nextId = hint.id + 1;
  }

  remove(id: number): boolean {
    const hint = this.all.get(id);
    if (hint === undefined) return false;
    this.all.delete(id);
    const forTarget = this.byTarget.get(hint.target)!;
    forTarget.delete(id);
    if (forTarget.size === 0) this.byTarget.delete(hint.target);
    return true;
  }

  has(id: number): boolean {
    return this.all.has(id);
  }

  list(target?: NodeId, limit = Infinity): Hint<T>[] {
    const source = target === undefined ? this.all : this.byTarget.get(target);
    const out: Hint<T>[] = [];
    if (source === undefined) return out;
    for (const hint of source.values()) {
      if (out.length >= limit) break;
      out.push(hint);
    }
    return out;
  }

  get size(): number {
    return this.all.size;
  }

  /** Empties the table and forgets its ids, ready to be loaded again. */
  clear(): void {
    this.all.clear();
    this.byTarget.clear();
    this.nextId = 1;
    this.maxAdded = 0;
  }
}
