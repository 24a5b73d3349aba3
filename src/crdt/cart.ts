/**
 * The cart value type (DESIGN.md Data model: cart): an add-wins set of add
 * entries without tombstones, the ORSWOT of riak_dt_orswot (Bieniusa et al.
 * 2012, "An optimized conflict-free replicated set"; Almeida et al. 2018,
 * "Delta state replicated data types", for the add delta).
 *
 * Every add is its own entry, born with a dot (actor, counter); an item's
 * quantity is the sum of its surviving entries, so two devices adding one
 * each give 2. Beside the entries the state keeps a causal context: a version
 * vector (actor -> highest contiguous counter seen) plus a `cloud` of seen
 * dots not contiguous with it. Merge keeps an entry that both sides hold, or
 * that the side lacking it has not seen (its context does not cover the dot);
 * an entry the other side saw and no longer holds was removed there. So a
 * remove deletes nothing but the entries, keeps no tombstone, and a concurrent
 * add (a dot the remover never saw) survives. The contexts merge by union and
 * the cloud folds into the vector where it becomes contiguous, so the stored
 * size is bounded by the live entries plus one counter per actor (and the
 * cloud of dots still in flight), whatever the history.
 *
 * An add needs no read: `cartAddDelta` is a state of one entry whose context
 * is just that dot (not a vector claiming the actor's earlier dots, which
 * would remove entries the coordinator never saw). The coordinator mints the
 * dot under its epoch actor from its own copy (cartNextCounter), so a dot is
 * never reused (replication/id-mint.ts, Riak's kv679).
 *
 * Encoding: plain data, canonical (equal states are equal data, so their
 * msgpack bytes and digests agree): entries `[actor, counter, item, qty]`
 * sorted by dot, `vv` with sorted actors and positive counters, `cloud` as
 * sorted `[actor, counter]` pairs not covered by `vv`. Carts in the format
 * before this one (`{adds, removed}`: an OR-Set whose `removed` grew forever)
 * are migrated where they are decoded (cartFromLegacy).
 *
 * Written by hand rather than on yjs: a Y.Doc keeps a delete set and item
 * structs for every add it ever saw (measured in docs/architecture.md, `npm
 * run bench:cart`: 9,984 B after 3,000 add/remove rounds against 64 B here,
 * and milliseconds per merge against under a microsecond), its client ids are random 32-bit numbers whose collision corrupts a
 * document, and every merge would decode a document.
 */
import { assert } from '../core/assert';
import { BadRequestError } from '../core/errors';
import { compareStrings } from './canonical';

/** One surviving add: its birth dot and what it added. */
export type CartEntry = readonly [actor: string, counter: number, item: string, qty: number];

/** A dot of the cart's causal context. */
export type CartDot = readonly [actor: string, counter: number];

export interface CartState {
  /** Surviving adds, sorted by dot (actor, then counter), each dot once. */
  readonly entries: readonly CartEntry[];
  /** Actor -> highest counter such that the cart has seen all of 1..counter; sorted, positive. */
  readonly vv: Readonly<Record<string, number>>;
  /** Seen dots beyond the vector (not contiguous with it), sorted, unique. */
  readonly cloud: readonly CartDot[];
}

/** The cart format before ORSWOT: adds by unique add id, removed add ids forever. */
export interface LegacyCartState {
  readonly adds: Readonly<Record<string, readonly [item: string, qty: number]>>;
  readonly removed: readonly string[];
}

const NO_ENTRIES: readonly CartEntry[] = Object.freeze([]);
const NO_DOTS: readonly CartDot[] = Object.freeze([]);
const NO_VV: Readonly<Record<string, number>> = Object.freeze({});

export function emptyCart(): CartState {
  return { entries: NO_ENTRIES, vv: NO_VV, cloud: NO_DOTS };
}

/** Join of two carts: commutative, associative, idempotent. */
export function mergeCarts(a: CartState, b: CartState): CartState {
  if (a === b) return a;
  const entries: CartEntry[] = [];
  let i = 0;
  let j = 0;
  const ea = a.entries;
  const eb = b.entries;
  const bCloud = dotSet(b.cloud);
  const aCloud = dotSet(a.cloud);
  while (i < ea.length || j < eb.length) {
    const c = i >= ea.length ? 1 : j >= eb.length ? -1 : compareEntryDots(ea[i]!, eb[j]!);
    if (c === 0) {
      // Both hold the dot. Dots are never reused, so the entries are equal;
      // should they not be, keep the larger so merge still commutes.
      const x = ea[i++]!;
      const y = eb[j++]!;
      entries.push(compareEntryValues(x, y) >= 0 ? x : y);
    } else if (c < 0) {
      const x = ea[i++]!;
      if (!covers(b.vv, bCloud, x[0], x[1])) entries.push(x);
    } else {
      const y = eb[j++]!;
      if (!covers(a.vv, aCloud, y[0], y[1])) entries.push(y);
    }
  }
  const { vv, cloud } = joinContexts(a.vv, a.cloud, b.vv, b.cloud);
  return { entries: entries.length === 0 ? NO_ENTRIES : entries, vv, cloud };
}

/**
 * The delta of one add: an entry of qty item born with the dot (actor,
 * counter), whose context is that dot alone. The dot must be fresh (never
 * minted before); see cartNextCounter.
 */
export function cartAddDelta(item: string, qty: number, actor: string, counter: number): CartState {
  checkItem(item);
  checkQty(qty, 1);
  assert(typeof actor === 'string' && actor.length > 0, 'cart actor must not be empty');
  assert(Number.isSafeInteger(counter) && counter > 0, `cart counter must be a positive integer, not ${counter}`);
  const entries: readonly CartEntry[] = [[actor, counter, item, qty]];
  return counter === 1
    ? { entries, vv: { [actor]: 1 }, cloud: NO_DOTS }
    : { entries, vv: NO_VV, cloud: [[actor, counter]] };
}

/** The next counter for `actor`: one past the highest of its dots the cart's context covers. */
export function cartNextCounter(state: CartState, actor: string): number {
  let max = Object.hasOwn(state.vv, actor) ? state.vv[actor]! : 0;
  for (const [a, c] of state.cloud) if (a === actor && c > max) max = c;
  return max + 1;
}

/** Removes every entry of item this state holds (the observed ones); unseen adds survive a merge. */
export function cartRemove(state: CartState, item: string): CartState {
  checkItem(item);
  if (!state.entries.some((e) => e[2] === item)) return state;
  const entries = state.entries.filter((e) => e[2] !== item);
  return { entries: entries.length === 0 ? NO_ENTRIES : entries, vv: state.vv, cloud: state.cloud };
}

/** Sets item's quantity: removes the observed entries, then adds qty under a fresh dot (qty 0 only removes). */
export function cartSet(state: CartState, item: string, qty: number, actor: string, counter: number): CartState {
  checkQty(qty, 0);
  const cleared = cartRemove(state, item);
  if (qty === 0) return cleared;
  assert(!cartCoversDot(state, [actor, counter]), `cart dot ${dotId(actor, counter)} reused`);
  return mergeCarts(cleared, cartAddDelta(item, qty, actor, counter));
}

/** Quantity per item (sum of its surviving entries), items with a positive sum, keys sorted. */
export function cartItems(state: CartState): Record<string, number> {
  const sums = new Map<string, number>();
  for (const [, , item, qty] of state.entries) sums.set(item, (sums.get(item) ?? 0) + qty);
  return Object.fromEntries([...sums].filter(([, q]) => q > 0).sort(([x], [y]) => compareStrings(x, y)));
}

/** An entry's dot as one string, `actor#counter` (for tests, the simulator and logs). */
export function cartEntryDotId(entry: CartEntry): string {
  return dotId(entry[0], entry[1]);
}

/** Whether the cart's causal context has seen `dot` (held or removed). */
export function cartCoversDot(state: CartState, dot: CartDot): boolean {
  if (Object.hasOwn(state.vv, dot[0]) && state.vv[dot[0]]! >= dot[1]) return true;
  return state.cloud.some(([a, c]) => a === dot[0] && c === dot[1]);
}

/** The surviving entry born with `dot`, if the cart holds it. */
export function cartEntryOf(state: CartState, dot: CartDot): CartEntry | undefined {
  return state.entries.find((e) => e[0] === dot[0] && e[1] === dot[1]);
}

/** Whether `x` has the shape of a cart stored or sent before ORSWOT. */
export function isLegacyCart(x: unknown): x is LegacyCartState {
  return typeof x === 'object' && x !== null && Object.hasOwn(x, 'adds') && Object.hasOwn(x, 'removed');
}

/**
 * A legacy cart as an ORSWOT: each add id becomes a dot (legacyAddDot), the
 * adds become entries and adds plus removed become the context. Merging
 * migrated carts gives exactly what merging the legacy ones and migrating
 * would: an entry survives unless the other side removed it.
 */
export function cartFromLegacy(legacy: LegacyCartState): CartState {
  const entries: CartEntry[] = [];
  const seen: CartDot[] = [];
  for (const [id, [item, qty]] of Object.entries(legacy.adds)) {
    const [actor, counter] = legacyAddDot(id);
    entries.push([actor, counter, item, qty]);
    seen.push([actor, counter]);
  }
  for (const id of legacy.removed) seen.push(legacyAddDot(id));
  return cartFromParts(entries, NO_VV, seen);
}

/**
 * The dot of a legacy add id. Ids minted by IdMint.unique() read
 * `node~epoch36~seq36`: actor `node~epoch36`, counter seq. Any other id
 * becomes the one-off actor `id~` with counter 1; the trailing `~` keeps it
 * apart from every actor a node mints (those end in a base-36 digit), so the
 * mapping is one-to-one and a node can never mint that dot again.
 */
export function legacyAddDot(id: string): CartDot {
  const m = /^(.+~[0-9a-z]+)~([0-9a-z]+)$/.exec(id);
  if (m !== null) {
    const counter = parseInt(m[2]!, 36);
    if (Number.isSafeInteger(counter) && counter > 0) return [m[1]!, counter];
  }
  return [`${id}~`, 1];
}

/**
 * A canonical cart from parts in any order (wire validation, migration):
 * entries sorted with each dot once (the larger entry kept), every entry's
 * dot in the context, the context compacted. Throws BadRequestError on
 * malformed parts.
 */
export function cartFromParts(
  entries: readonly CartEntry[], vv: Readonly<Record<string, number>>, cloud: readonly CartDot[],
): CartState {
  for (const e of entries) {
    checkDot(e[0], e[1]);
    checkItem(e[2]);
    if (!Number.isSafeInteger(e[3]) || e[3] <= 0) throw new BadRequestError('malformed cart entry');
  }
  const counts = new Map<string, number>();
  for (const [actor, n] of Object.entries(vv)) {
    if (actor.length === 0 || actor.length > 256 || !Number.isSafeInteger(n) || n < 0) throw new BadRequestError('malformed cart context');
    if (n > 0) counts.set(actor, n);
  }
  for (const [a, c] of cloud) checkDot(a, c);
  const sorted = [...entries].sort((x, y) => compareEntryDots(x, y) || compareEntryValues(y, x));
  const unique = sorted.filter((e, k) => k === 0 || compareEntryDots(sorted[k - 1]!, e) !== 0);
  const dots = [...cloud, ...unique.map((e): CartDot => [e[0], e[1]])].sort(compareDots);
  const seen = dots.filter((d, k) => k === 0 || compareDots(dots[k - 1]!, d) !== 0);
  const ctx = joinContexts(sortedVv(counts), seen, NO_VV, NO_DOTS);
  return { entries: unique.length === 0 ? NO_ENTRIES : unique, vv: ctx.vv, cloud: ctx.cloud };
}

function checkDot(actor: unknown, counter: unknown): void {
  if (typeof actor !== 'string' || actor.length === 0 || actor.length > 256 || !Number.isSafeInteger(counter) || (counter as number) <= 0) {
    throw new BadRequestError('malformed cart dot');
  }
}

function checkItem(item: string): void {
  if (typeof item !== 'string' || item.length === 0) throw new BadRequestError('cart item must be a non-empty string');
}

function checkQty(qty: number, min: 0 | 1): void {
  if (!Number.isSafeInteger(qty) || qty < min) {
    throw new BadRequestError(`cart quantity must be a ${min === 1 ? 'positive' : 'non-negative'} integer, not ${qty}`);
  }
}

function dotId(actor: string, counter: number): string {
  return `${actor}#${counter}`;
}

function dotSet(cloud: readonly CartDot[]): Set<string> | null {
  return cloud.length === 0 ? null : new Set(cloud.map(([a, c]) => dotId(a, c)));
}

function covers(vv: Readonly<Record<string, number>>, cloud: Set<string> | null, actor: string, counter: number): boolean {
  if (Object.hasOwn(vv, actor) && vv[actor]! >= counter) return true;
  return cloud !== null && cloud.has(dotId(actor, counter));
}

function compareDots(x: CartDot, y: CartDot): number {
  return x[0] !== y[0] ? compareStrings(x[0], y[0]) : x[1] - y[1];
}

function compareEntryDots(x: CartEntry, y: CartEntry): number {
  return x[0] !== y[0] ? compareStrings(x[0], y[0]) : x[1] - y[1];
}

function compareEntryValues(x: CartEntry, y: CartEntry): number {
  return x[2] !== y[2] ? compareStrings(x[2], y[2]) : x[3] - y[3];
}

/**
 * Union of two causal contexts (clouds sorted), compacted: the vector is the
 * pointwise max, then each actor's counter advances over cloud dots that
 * continue it, and the cloud keeps only dots beyond the gap.
 */
function joinContexts(
  avv: Readonly<Record<string, number>>, acloud: readonly CartDot[],
  bvv: Readonly<Record<string, number>>, bcloud: readonly CartDot[],
): { vv: Readonly<Record<string, number>>; cloud: readonly CartDot[] } {
  const counts = new Map<string, number>(Object.entries(avv));
  let changed = false;
  for (const [actor, n] of Object.entries(bvv)) {
    if (n > (counts.get(actor) ?? 0)) {
      counts.set(actor, n);
      changed = true;
    }
  }
  if (acloud.length === 0 && bcloud.length === 0) {
    if (!changed) return { vv: avv, cloud: NO_DOTS };
    if (Object.keys(avv).length === counts.size && sameCounts(bvv, counts)) return { vv: bvv, cloud: NO_DOTS };
    return { vv: sortedVv(counts), cloud: NO_DOTS };
  }
  // Both clouds are sorted, so their merge is sorted; within one actor the
  // counters ascend, which is what folding into the vector needs.
  const merged = mergeSortedDots(acloud, bcloud);
  const rest: CartDot[] = [];
  for (const d of merged) {
    const have = counts.get(d[0]) ?? 0;
    if (d[1] <= have) continue;
    if (d[1] === have + 1) counts.set(d[0], d[1]);
    else rest.push(d);
  }
  return { vv: sortedVv(counts), cloud: rest.length === 0 ? NO_DOTS : rest };
}

function sameCounts(vv: Readonly<Record<string, number>>, counts: Map<string, number>): boolean {
  for (const [actor, n] of counts) if (!Object.hasOwn(vv, actor) || vv[actor] !== n) return false;
  return true;
}

function sortedVv(counts: Map<string, number>): Readonly<Record<string, number>> {
  if (counts.size === 0) return NO_VV;
  return Object.fromEntries([...counts].filter(([, n]) => n > 0).sort(([x], [y]) => compareStrings(x, y)));
}

function mergeSortedDots(a: readonly CartDot[], b: readonly CartDot[]): readonly CartDot[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: CartDot[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : compareDots(a[i]!, b[j]!);
    if (c <= 0) out.push(a[i++]!);
    else out.push(b[j++]!);
    if (c === 0) j++;
  }
  return out;
}
