/**
 * The cart value type (DESIGN.md Data model: cart): an observed-remove set of
 * add entries (the state-based OR-Set of Shapiro et al. 2011, "A
 * comprehensive study of Convergent and Commutative Replicated Data Types").
 * Written by hand rather than on yjs: Yjs client ids are random 32-bit
 * numbers whose collision corrupts a document, while add ids here come from
 * the caller's (seeded, in simulation) id source; and a merge costs no
 * document decode.
 *
 * Every add is its own entry under a globally unique add id; an item's
 * quantity is the sum of its surviving adds, so two devices adding one each
 * give 2. A remove moves only the adds it observed into `removed`, so an add
 * concurrent with it (one the remover never saw) survives the merge. Merge is
 * (adds of both) minus (removed of both), removed = union: commutative,
 * associative and idempotent.
 *
 * `removed` only grows: dropping an id safely needs every replica to have
 * seen the remove (causal stability), which this layer cannot know.
 */
import { assert } from '../core/assert';
import { BadRequestError } from '../core/errors';
import { compareStrings } from './canonical';

export type CartEntry = readonly [item: string, qty: number];

export interface CartState {
  /** Surviving adds by their unique add id. */
  readonly adds: Readonly<Record<string, CartEntry>>;
  /** Removed add ids, sorted, unique. */
  readonly removed: readonly string[];
}

const NO_ADDS: Readonly<Record<string, CartEntry>> = Object.freeze({});
const NONE: readonly string[] = Object.freeze([]);

export function emptyCart(): CartState {
  return { adds: NO_ADDS, removed: NONE };
}

export function mergeCarts(a: CartState, b: CartState): CartState {
  if (a === b) return a;
  const removed = sortedUnion(a.removed, b.removed);
  const gone = new Set(removed);
  const adds = new Map<string, CartEntry>();
  for (const [id, e] of Object.entries(a.adds)) if (!gone.has(id)) adds.set(id, e);
  for (const [id, e] of Object.entries(b.adds)) {
    if (gone.has(id)) continue;
    const mine = adds.get(id);
    // Add ids are unique, so both sides hold the same entry; should they not,
    // keep the larger one so merge still does not depend on argument order.
    if (mine === undefined || compareEntries(mine, e) < 0) adds.set(id, e);
  }
  return { adds: sortedAdds(adds), removed };
}

/** Adds qty of item as a new entry; addId must be globally unique (minted by the caller). */
export function cartAdd(state: CartState, item: string, qty: number, addId: string): CartState {
  checkItem(item);
  if (!Number.isSafeInteger(qty) || qty <= 0) throw new BadRequestError(`cart quantity must be a positive integer, not ${qty}`);
  assert(addId.length > 0, 'cart add id must not be empty');
  assert(!Object.hasOwn(state.adds, addId) && !state.removed.includes(addId), `cart add id ${addId} reused`);
  const adds = new Map(Object.entries(state.adds));
  adds.set(addId, [item, qty]);
  return { adds: sortedAdds(adds), removed: state.removed };
}

/** Removes every add of item this state holds (the observed ones); later or unseen adds survive. */
export function cartRemove(state: CartState, item: string): CartState {
  checkItem(item);
  const observed = Object.keys(state.adds).filter((id) => state.adds[id]![0] === item);
  if (observed.length === 0) return state;
  const adds = new Map(Object.entries(state.adds));
  for (const id of observed) adds.delete(id);
  return { adds: sortedAdds(adds), removed: sortedUnion(state.removed, observed.sort(compareStrings)) };
}

/** Sets item's quantity: removes the observed adds, then adds qty (qty 0 only removes). */
export function cartSet(state: CartState, item: string, qty: number, addId: string): CartState {
  if (!Number.isSafeInteger(qty) || qty < 0) throw new BadRequestError(`cart quantity must be a non-negative integer, not ${qty}`);
  const cleared = cartRemove(state, item);
  return qty === 0 ? cleared : cartAdd(cleared, item, qty, addId);
}

/** Quantity per item (sum of its surviving adds), items with a positive sum, keys sorted. */
export function cartItems(state: CartState): Record<string, number> {
  const sums = new Map<string, number>();
  for (const [item, qty] of Object.values(state.adds)) sums.set(item, (sums.get(item) ?? 0) + qty);
  return Object.fromEntries([...sums].filter(([, q]) => q > 0).sort(([x], [y]) => compareStrings(x, y)));
}

function checkItem(item: string): void {
  if (typeof item !== 'string' || item.length === 0) throw new BadRequestError('cart item must be a non-empty string');
}

function compareEntries(a: CartEntry, b: CartEntry): number {
  return a[0] !== b[0] ? compareStrings(a[0], b[0]) : a[1] - b[1];
}

function sortedAdds(m: Map<string, CartEntry>): Readonly<Record<string, CartEntry>> {
  if (m.size === 0) return NO_ADDS;
  return Object.fromEntries([...m].sort(([x], [y]) => compareStrings(x, y)));
}

/** Union of two sorted unique lists, sorted unique (a linear merge). */
function sortedUnion(a: readonly string[], b: readonly string[]): readonly string[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : compareStrings(a[i]!, b[j]!);
    if (c <= 0) out.push(a[i++]!);
    else out.push(b[j++]!);
    if (c === 0) j++;
  }
  return out;
}
