/**
 * A bounded least-recently-used map of field snapshots by session id: the
 * store's fallback memory of what it loaded (or last saved) for a sid, used
 * when the session object handed to set() does not carry its own snapshot.
 * A Map keeps insertion order, so re-inserting on use makes the first key the
 * least recently used.
 */
import type { FieldSnapshot } from './field-diff';

export class SnapshotLru {
  private readonly map = new Map<string, FieldSnapshot>();

  constructor(private readonly max: number) {}

  get(sid: string): FieldSnapshot | undefined {
    const v = this.map.get(sid);
    if (v !== undefined) {
      this.map.delete(sid);
      this.map.set(sid, v);
    }
    return v;
  }

  set(sid: string, snapshot: FieldSnapshot): void {
    if (this.max <= 0) return;
    this.map.delete(sid);
    this.map.set(sid, snapshot);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }

  delete(sid: string): void {
    this.map.delete(sid);
  }

  get size(): number {
    return this.map.size;
  }
}
