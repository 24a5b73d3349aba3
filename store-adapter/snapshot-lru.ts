/**
 * A bounded map of field snapshots by session id, recently used first: the
 * store's fallback memory of what it loaded (or last saved) for a sid, used
 * when the session object handed to set() does not carry its own snapshot.
 *
 * Two generations instead of an exact LRU: new and used entries go into
 * `young`; when it holds half the bound, it becomes `old` and the previous
 * old generation is dropped whole (with a bound of 1 there is no old
 * generation). A hit in `old` moves the entry up. So at most `max` entries
 * are held, and an entry is always kept while fewer than max/2 other uses
 * (sets, and gets that found their entry) came after its own last use; a
 * delete frees no room early. A set does not remove an older copy
 * from `old`: get() looks in `young` first, so that copy is never seen, and
 * it goes with its generation. An exact LRU on a Map re-inserts the key on
 * every use (a delete and a set per get and per set); here a use is one Map
 * write at most, which the bench client's profile showed as a share of its
 * Map operations (docs/benchmarks.md).
 */
import type { FieldSnapshot } from './field-diff';

export class SnapshotLru {
  private young = new Map<string, FieldSnapshot>();
  private old = new Map<string, FieldSnapshot>();
  private readonly generationMax: number;

  constructor(private readonly max: number) {
    this.generationMax = Math.max(1, Math.floor(max / 2));
  }

  get(sid: string): FieldSnapshot | undefined {
    const v = this.young.get(sid);
    if (v !== undefined) return v;
    const o = this.old.get(sid);
    if (o !== undefined) {
      this.old.delete(sid);
      this.put(sid, o);
    }
    return o;
  }

  set(sid: string, snapshot: FieldSnapshot): void {
    if (this.max <= 0) return;
    this.put(sid, snapshot);
  }

  delete(sid: string): void {
    this.young.delete(sid);
    this.old.delete(sid);
  }

  /** Entries held, counting a key once even when `old` still has a stale copy of it. */
  get size(): number {
    let n = this.young.size;
    for (const k of this.old.keys()) if (!this.young.has(k)) n++;
    return n;
  }

  private put(sid: string, snapshot: FieldSnapshot): void {
    if (this.young.size >= this.generationMax && !this.young.has(sid)) {
      this.old = this.max > 1 ? this.young : new Map();
      this.young = new Map();
    }
    this.young.set(sid, snapshot);
  }
}
