/**
 * Dotted version vector sets: one causal context for all siblings of a key
 * (Preguiça, Baquero, Almeida, Fonte, Gonçalves, "Dotted Version Vectors:
 * Logical Clocks for Optimistic Replication", 2010; the one-context-per-key
 * layout of Almeida et al., "Scalable and Accurate Causality Tracking for
 * Eventually Consistent Stores", DAIS 2014, that Riak's dvvset implements,
 * here with one dot per sibling).
 *
 * An object is a set of siblings, each tagged by the dot of the write that
 * produced it, plus `vv`: every dot the object has seen, whether the sibling
 * is still here or was replaced. A sibling absent from an object whose vv
 * covers its dot was superseded and must not come back. Because a write drops
 * exactly the siblings its context covers, siblings stay bounded by the number
 * of truly concurrent writers, unlike plain per-sibling vector clocks.
 *
 * Invariants (kept by every function here): each sibling's dot is covered by
 * vv; dots are unique; siblings are sorted by dot. The replication layer must
 * ship the whole object returned by dvvUpdate (not just the new sibling): its
 * vv claims the coordinator's concurrent siblings too.
 */
import { assert } from '../core/assert';
import type { ActorId } from '../core/ids';
import { compareDots, type Dot } from './dot';
import { emptyVv, vvCovers, vvDescends, vvEquals, vvFromEntries, vvGet, vvMerge, type VersionVector } from './version-vector';

export type { Dot } from './dot';

export interface Sibling<V> {
  readonly dot: Dot;
  readonly value: V;
}

export interface Dvv<V> {
  readonly siblings: readonly Sibling<V>[];
  /** Every dot this object has seen. */
  readonly vv: VersionVector;
}

const dotKey = (d: Dot): string => `${d[1]}@${d[0]}`;

export function emptyDvv<V>(): Dvv<V> {
  return { siblings: [], vv: emptyVv() };
}

/**
 * Coordinator-side write (the DVV "update" operation). `context` is
 * the vv the client read (empty for a blind write). The new dot is
 * (actor, max(local.vv[actor], context[actor]) + 1), so it is fresh even when
 * the client's context has seen more of this actor than the local copy.
 * Siblings covered by `context` were seen and replaced by the client and are
 * dropped; the rest stay as concurrent siblings. The context is merged into vv
 * so that syncing with a replica that still holds a replaced sibling drops it.
 */
export function dvvUpdate<V>(local: Dvv<V>, context: VersionVector, value: V, actor: ActorId): Dvv<V> {
  assert(actor.length > 0, 'actor id must not be empty');
  const counter = Math.max(vvGet(local.vv, actor), vvGet(context, actor)) + 1;
  const dot: Dot = [actor, counter];
  const kept = local.siblings.filter((s) => !vvCovers(context, s.dot));
  const vv = vvFromEntries([...Object.entries(vvMerge(local.vv, context)), [actor, counter]]);
  return { siblings: sortSiblings([...kept, { dot, value }]), vv };
}

/**
 * Replica-side merge (the DVV "sync" operation; the join of the
 * causal-context lattice): a sibling present on both sides stays; one present
 * on only one side stays unless the other side's vv covers its dot (the other
 * side saw it and replaced it). vv = pointwise max. Commutative, associative
 * and idempotent. On a dot present on both sides, a's value is kept: dots are
 * unique by construction, so both sides hold the same value.
 */
export function dvvSync<V>(a: Dvv<V>, b: Dvv<V>): Dvv<V> {
  if (a === b) return a;
  const inB = new Set(b.siblings.map((s) => dotKey(s.dot)));
  const inA = new Set(a.siblings.map((s) => dotKey(s.dot)));
  const out: Sibling<V>[] = [];
  for (const s of a.siblings) {
    if (inB.has(dotKey(s.dot)) || !vvCovers(b.vv, s.dot)) out.push(s);
  }
  for (const s of b.siblings) {
    if (!inA.has(dotKey(s.dot)) && !vvCovers(a.vv, s.dot)) out.push(s);
  }
  return { siblings: sortSiblings(out), vv: vvMerge(a.vv, b.vv) };
}

/** The sibling values, in dot order. */
export function dvvValues<V>(d: Dvv<V>): V[] {
  return d.siblings.map((s) => s.value);
}

/** What a client gets back with a read and sends with its next write. */
export function dvvContext<V>(d: Dvv<V>): VersionVector {
  return d.vv;
}

/**
 * Whether a has seen everything b has: the lattice order, true exactly when
 * dvvSync(a, b) equals a. That needs a.vv >= b.vv (b's siblings are then all
 * covered by a) and, for every sibling a still holds that b has seen, that b
 * holds it too (otherwise b replaced it and a is stale on that sibling).
 */
export function dvvDescends<V>(a: Dvv<V>, b: Dvv<V>): boolean {
  if (!vvDescends(a.vv, b.vv)) return false;
  const inB = new Set(b.siblings.map((s) => dotKey(s.dot)));
  return a.siblings.every((s) => inB.has(dotKey(s.dot)) || !vvCovers(b.vv, s.dot));
}

/** Same vv and same sibling dots (values are determined by dots). */
export function dvvEquals<V>(a: Dvv<V>, b: Dvv<V>): boolean {
  if (!vvEquals(a.vv, b.vv) || a.siblings.length !== b.siblings.length) return false;
  return a.siblings.every((s, i) => compareDots(s.dot, b.siblings[i]!.dot) === 0);
}

function sortSiblings<V>(siblings: Sibling<V>[]): Sibling<V>[] {
  siblings.sort((x, y) => compareDots(x.dot, y.dot));
  for (let i = 1; i < siblings.length; i++) {
    assert(compareDots(siblings[i - 1]!.dot, siblings[i]!.dot) !== 0, 'duplicate dot among siblings');
  }
  return siblings;
}
