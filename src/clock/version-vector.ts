/**
 * Version vectors (Parker et al. 1983; the causal-context half of a dotted
 * version vector set, Preguiça et al. 2010): actor id -> highest counter seen, where
 * seeing counter n of an actor means having seen all of its dots 1..n.
 *
 * A vector is a plain frozen-by-convention object so msgpack encodes it as a
 * map. Every function returns a canonical vector: actors sorted, zero counters
 * dropped, so equal vectors encode to equal bytes. Reads go through
 * Object.hasOwn so an actor named like an Object.prototype member
 * (`__proto__`, `constructor`) is just another actor.
 */
import { assert } from '../core/assert';
import type { ActorId } from '../core/ids';
import type { Dot } from './dot';

export type VersionVector = Readonly<Record<string, number>>;

export type VvOrder = 'equal' | 'before' | 'after' | 'concurrent';

const EMPTY: VersionVector = Object.freeze({});

export function emptyVv(): VersionVector {
  return EMPTY;
}

/** Builds a canonical vector from (actor, counter) pairs; later pairs win. */
export function vvFromEntries(entries: Iterable<readonly [string, number]>): VersionVector {
  const m = new Map<string, number>();
  for (const [actor, counter] of entries) {
    assert(Number.isSafeInteger(counter) && counter >= 0, `bad counter ${counter} for actor ${JSON.stringify(actor)}`);
    m.set(actor, counter);
  }
  const sorted = [...m].filter(([, c]) => c > 0).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return sorted.length === 0 ? EMPTY : Object.fromEntries(sorted);
}

export function vvGet(v: VersionVector, actor: string): number {
  return Object.hasOwn(v, actor) ? v[actor]! : 0;
}

/** Pointwise max: everything either side has seen. */
export function vvMerge(a: VersionVector, b: VersionVector): VersionVector {
  const m = new Map<string, number>(Object.entries(a));
  for (const [actor, counter] of Object.entries(b)) {
    if (counter > (m.get(actor) ?? 0)) m.set(actor, counter);
  }
  return vvFromEntries(m);
}

/** a >= b pointwise: a has seen every event b has. */
export function vvDescends(a: VersionVector, b: VersionVector): boolean {
  for (const [actor, counter] of Object.entries(b)) {
    if (vvGet(a, actor) < counter) return false;
  }
  return true;
}

/** How a relates to b in the causal order ('before' = a happened before b). */
export function vvCompare(a: VersionVector, b: VersionVector): VvOrder {
  const aGeB = vvDescends(a, b);
  const bGeA = vvDescends(b, a);
  if (aGeB && bGeA) return 'equal';
  if (aGeB) return 'after';
  if (bGeA) return 'before';
  return 'concurrent';
}

/** Whether the vector has seen the event named by `dot`. */
export function vvCovers(v: VersionVector, dot: Dot): boolean {
  return vvGet(v, dot[0]) >= dot[1];
}

/** The vector with one more event of `actor` (its new dot is (actor, vvGet(result, actor))). */
export function vvIncrement(v: VersionVector, actor: ActorId): VersionVector {
  return vvFromEntries([...Object.entries(v), [actor, vvGet(v, actor) + 1]]);
}

/** Structural equality of two vectors (zero counters count as absent). */
export function vvEquals(a: VersionVector, b: VersionVector): boolean {
  return vvDescends(a, b) && vvDescends(b, a);
}
