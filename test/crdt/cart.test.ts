import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { BadRequestError } from '../../src/core/errors';
import { AssertionFailure } from '../../src/core/assert';
import { cartAdd, cartItems, cartRemove, cartSet, emptyCart, mergeCarts, type CartState } from '../../src/crdt/cart';
import { cartRunArb, pick3, threeIndices } from './arbitraries';

const mergeAll = (xs: readonly CartState[]): CartState => xs.reduce(mergeCarts, emptyCart());

describe('crdt/cart (DESIGN.md Data model: cart, OR-set of add entries)', () => {
  it('sums the adds of an item', () => {
    const c = cartAdd(cartAdd(cartAdd(emptyCart(), 'sku1', 2, 'a1'), 'sku1', 1, 'a2'), 'sku0', 1, 'a3');
    assert.deepEqual(cartItems(c), { sku0: 1, sku1: 3 });
    assert.deepEqual(Object.keys(cartItems(c)), ['sku0', 'sku1']);
  });

  it('gives 2 when two devices add 1 each', () => {
    const phone = cartAdd(emptyCart(), 'sku', 1, 'phone-1');
    const laptop = cartAdd(emptyCart(), 'sku', 1, 'laptop-1');
    assert.deepEqual(cartItems(mergeCarts(phone, laptop)), { sku: 2 });
  });

  it('keeps an add concurrent with a remove of the same item (add wins over what the remove did not see)', () => {
    const shared = cartAdd(emptyCart(), 'sku', 1, 'x1');
    const a = cartRemove(shared, 'sku');
    const b = cartAdd(shared, 'sku', 3, 'x2');
    assert.deepEqual(cartItems(a), {});
    assert.deepEqual(cartItems(mergeCarts(a, b)), { sku: 3 });
    assert.deepEqual(cartItems(mergeCarts(b, a)), { sku: 3 });
  });

  it('does not resurrect a removed add when a stale replica merges in later', () => {
    const stale = cartAdd(emptyCart(), 'sku', 1, 'x1');
    const removed = cartRemove(stale, 'sku');
    assert.deepEqual(cartItems(mergeCarts(mergeCarts(removed, stale), stale)), {});
    assert.deepEqual(removed.removed, ['x1']);
  });

  it('sets a quantity by removing the observed adds and adding a new one; 0 just removes', () => {
    let c = cartAdd(cartAdd(emptyCart(), 'sku', 1, 'a1'), 'sku', 1, 'a2');
    c = cartSet(c, 'sku', 5, 'a3');
    assert.deepEqual(cartItems(c), { sku: 5 });
    assert.deepEqual(Object.keys(c.adds), ['a3']);
    assert.deepEqual(c.removed, ['a1', 'a2']);
    assert.deepEqual(cartItems(cartSet(c, 'sku', 0, 'a4')), {});
  });

  it('treats a remove of an item it never saw as a no-op', () => {
    const c = cartAdd(emptyCart(), 'sku', 1, 'a1');
    assert.equal(cartRemove(c, 'other'), c);
  });

  it('rejects bad quantities and items as bad requests, and a reused add id as a bug', () => {
    for (const q of [0, -1, 1.5, Number.NaN]) assert.throws(() => cartAdd(emptyCart(), 'sku', q, 'a'), BadRequestError);
    assert.throws(() => cartSet(emptyCart(), 'sku', -1, 'a'), BadRequestError);
    assert.throws(() => cartAdd(emptyCart(), '', 1, 'a'), BadRequestError);
    const c = cartAdd(emptyCart(), 'sku', 1, 'a');
    assert.throws(() => cartAdd(c, 'sku', 1, 'a'), AssertionFailure);
    assert.throws(() => cartAdd(cartRemove(c, 'sku'), 'sku', 1, 'a'), AssertionFailure);
  });

  it('merges deterministically even if an add id were ever reused with another entry', () => {
    const x = cartAdd(emptyCart(), 'sku', 1, 'dup');
    const y = cartAdd(emptyCart(), 'sku', 2, 'dup');
    assert.deepEqual(mergeCarts(x, y), mergeCarts(y, x));
  });

  it('merge is commutative, associative and idempotent over random executions on 3 replicas', () => {
    fc.assert(
      fc.property(cartRunArb(3, 30), threeIndices, (run, idx) => {
        for (const [a, b, c] of [run.replicas as [CartState, CartState, CartState], pick3(run.snapshots, idx)]) {
          assert.deepEqual(mergeCarts(a, b), mergeCarts(b, a));
          assert.deepEqual(mergeCarts(mergeCarts(a, b), c), mergeCarts(a, mergeCarts(b, c)));
          assert.deepEqual(mergeCarts(a, a), a);
          assert.deepEqual(mergeCarts(a, emptyCart()), a);
          const m = mergeCarts(a, b);
          assert.deepEqual(m.removed, [...new Set(m.removed)].sort());
          assert.ok(Object.keys(m.adds).every((id) => !m.removed.includes(id)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('converges on 4 replicas to exactly the adds no remove observed, whatever the merge order', () => {
    fc.assert(
      fc.property(cartRunArb(4, 40), fc.nat(23), (run, perm) => {
        const order = [0, 1, 2, 3];
        // One of the 24 orders of the 4 replicas.
        let p = perm;
        const shuffled: CartState[] = [];
        while (order.length > 0) {
          shuffled.push(run.replicas[order.splice(p % order.length, 1)[0]!]!);
          p = Math.floor(p / (order.length + 1));
        }
        const all = mergeAll(run.replicas);
        assert.deepEqual(mergeAll(shuffled), all);
        const expected: Record<string, number> = {};
        for (const [id, [item, qty]] of run.minted) {
          if (!run.removedObserved.has(id)) expected[item] = (expected[item] ?? 0) + qty;
        }
        assert.deepEqual(cartItems(all), expected);
      }),
      { numRuns: 300 },
    );
  });
});
