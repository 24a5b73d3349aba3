/**
 * What one device knows about the shared cart, so the page can show which
 * items arrived by merge rather than by this device's own clicks.
 *
 * The cart itself is an observed-remove set on the cluster (DESIGN.md Data
 * model: cart); every device of a user reads and writes the same one. Each
 * device keeps, in its own session, `seen`: the quantities it last showed
 * plus the effect of its own operations since. Whatever the cluster returns
 * beyond that was done elsewhere and reached this device by replication or
 * by the merge after a partition heals; the signed difference is added to
 * `merged`, which the page highlights until the user dismisses it. Pure
 * functions of plain objects, so the view can live in express-session.
 */

/** Item -> quantity; absent means 0. */
export type Items = Record<string, number>;

export interface CartView {
  seen: Items;
  /** Item -> net quantity that arrived from other devices (negative: removed elsewhere). */
  merged: Items;
}

export type OwnOp =
  | { op: 'add'; sku: string; qty: number }
  | { op: 'set'; sku: string; qty: number }
  | { op: 'remove'; sku: string };

export function emptyView(): CartView {
  return { seen: {}, merged: {} };
}

/** A view that takes `current` as known: nothing in it counts as merged (a device that just signed in). */
export function viewOf(current: Items): CartView {
  return { seen: positive(current), merged: {} };
}

/**
 * The view after this device's own operation succeeded. Only the operation's
 * own effect is recorded: anything else the reply shows is left for
 * observe() to attribute to other devices. Acting on an item also clears its
 * merge mark: the user has seen it and made it theirs.
 */
export function afterOwn(view: CartView, op: OwnOp): CartView {
  const seen = { ...view.seen };
  if (op.op === 'add') seen[op.sku] = (seen[op.sku] ?? 0) + op.qty;
  else if (op.op === 'set') seen[op.sku] = op.qty;
  else seen[op.sku] = 0;
  const merged = { ...view.merged };
  delete merged[op.sku];
  return { seen: positive(seen), merged };
}

/** Compare what the cluster returned with what this device knew; returns the new view and whether it changed. */
export function observe(view: CartView, current: Items): { view: CartView; changed: boolean } {
  const merged = { ...view.merged };
  let changed = false;
  for (const sku of new Set([...Object.keys(view.seen), ...Object.keys(current)])) {
    const delta = (current[sku] ?? 0) - (view.seen[sku] ?? 0);
    if (delta === 0) continue;
    changed = true;
    const net = (merged[sku] ?? 0) + delta;
    if (net === 0) delete merged[sku];
    else merged[sku] = net;
  }
  return { view: changed ? { seen: positive(current), merged } : view, changed };
}

export function dismissMerged(view: CartView): CartView {
  return { seen: { ...view.seen }, merged: {} };
}

/** Coerce what came out of a session store (which may be missing or old) into a view. */
export function viewFrom(raw: unknown): CartView {
  const v = (raw ?? {}) as Partial<CartView>;
  return { seen: cleanItems(v.seen), merged: cleanItems(v.merged, true) };
}

function cleanItems(raw: unknown, signed = false): Items {
  const out: Items = {};
  if (typeof raw !== 'object' || raw === null) return out;
  for (const [k, q] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof q === 'number' && Number.isSafeInteger(q) && (signed ? q !== 0 : q > 0)) out[k] = q;
  }
  return out;
}

function positive(items: Items): Items {
  const out: Items = {};
  for (const [k, q] of Object.entries(items)) if (q > 0) out[k] = q;
  return out;
}
