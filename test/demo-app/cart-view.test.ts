/**
 * The demo shop's per-device cart view (demo-app/cart-view.ts): what it marks
 * as "arrived by merge" is exactly what other devices changed.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { afterOwn, dismissMerged, emptyView, observe, viewFrom, viewOf, type Items, type OwnOp } from '../../demo-app/cart-view';

const SKUS = ['tea', 'mug', 'socks'];

/** What an op does to a plain cart of counts (all a single device can see). */
function applyOp(cart: Items, op: OwnOp): Items {
  const c = { ...cart };
  if (op.op === 'add') c[op.sku] = (c[op.sku] ?? 0) + op.qty;
  else if (op.op === 'set') c[op.sku] = op.qty;
  else delete c[op.sku];
  for (const k of Object.keys(c)) if (c[k] === 0) delete c[k];
  return c;
}

const opArb: fc.Arbitrary<OwnOp> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), sku: fc.constantFrom(...SKUS), qty: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('set' as const), sku: fc.constantFrom(...SKUS), qty: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant('remove' as const), sku: fc.constantFrom(...SKUS) }),
);

/** An event: this device's own op, another device's op, or a page refresh (observe). */
const eventArb = fc.oneof(
  fc.record({ kind: fc.constant('own' as const), op: opArb }),
  fc.record({ kind: fc.constant('foreign' as const), op: opArb }),
  fc.record({ kind: fc.constant('refresh' as const) }),
);

describe('demo-app/cart-view (what the shop marks as arrived by merge)', () => {
  it('marks nothing in the cart a device found when it signed in', () => {
    const v = viewOf({ tea: 2 });
    assert.deepEqual(observe(v, { tea: 2 }), { view: v, changed: false });
  });

  it('marks what the other device added and removed during a partition, as in the demo', () => {
    // Both saw one notebook; A removed it and added tea; B added tea and a notebook.
    let a = viewOf({ notebook: 1 });
    let b = viewOf({ notebook: 1 });
    a = afterOwn(afterOwn(a, { op: 'remove', sku: 'notebook' }), { op: 'add', sku: 'tea', qty: 1 });
    b = afterOwn(afterOwn(b, { op: 'add', sku: 'tea', qty: 1 }), { op: 'add', sku: 'notebook', qty: 1 });
    const merged = { notebook: 1, tea: 2 }; // the OR-set merge: B's notebook add survives A's remove
    assert.deepEqual(observe(a, merged).view.merged, { notebook: 1, tea: 1 });
    assert.deepEqual(observe(b, merged).view.merged, { notebook: -1, tea: 1 });
  });

  it("clears an item's mark when the device itself acts on it, and all marks on dismiss", () => {
    const v = observe(viewOf({}), { tea: 1, mug: 2 }).view;
    assert.deepEqual(v.merged, { tea: 1, mug: 2 });
    const w = afterOwn(v, { op: 'add', sku: 'tea', qty: 1 });
    assert.deepEqual(w.merged, { mug: 2 });
    assert.deepEqual(observe(w, { tea: 2, mug: 2 }).changed, false);
    assert.deepEqual(dismissMerged(w).merged, {});
  });

  it('reads back whatever a session store returned, dropping what is not a quantity', () => {
    assert.deepEqual(viewFrom(undefined), emptyView());
    assert.deepEqual(viewFrom({ seen: { tea: 2, bad: 'x', neg: -1 }, merged: { tea: -1, zero: 0 } }), {
      seen: { tea: 2 }, merged: { tea: -1 },
    });
  });

  it('property: own ops are never marked; every change made elsewhere is marked by its net effect once shown', () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`      fast-check seed ${seed}`);
    fc.assert(fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
      let cart: Items = {};
      let view = viewOf(cart);
      // The model: foreign changes not shown yet, and the marks the page should show.
      const pending: Items = {};
      const marks: Items = {};
      const showPending = (): void => {
        for (const sku of SKUS) {
          marks[sku] = (marks[sku] ?? 0) + (pending[sku] ?? 0);
          pending[sku] = 0;
        }
      };
      for (const e of events) {
        if (e.kind === 'refresh') {
          view = observe(view, cart).view;
          showPending();
          continue;
        }
        const before = cart[e.op.sku] ?? 0;
        cart = applyOp(cart, e.op);
        if (e.kind === 'foreign') {
          pending[e.op.sku] = (pending[e.op.sku] ?? 0) + (cart[e.op.sku] ?? 0) - before;
        } else {
          view = afterOwn(view, e.op);
          marks[e.op.sku] = 0; // acting on an item clears its mark
          if (e.op.op !== 'add') pending[e.op.sku] = 0; // set and remove overwrite what came before
        }
      }
      view = observe(view, cart).view;
      showPending();
      assert.deepEqual(view.seen, cart, 'after a refresh the device has seen the cart');
      for (const sku of SKUS) assert.equal(view.merged[sku] ?? 0, marks[sku] ?? 0, `mark of ${sku}`);
      assert.equal(observe(view, cart).changed, false, 'a second refresh changes nothing');
    }), { seed, numRuns: 300 });
  });
});
