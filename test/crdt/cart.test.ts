import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { pack, unpack } from 'msgpackr';
import { BadRequestError } from '../../src/core/errors';
import { AssertionFailure } from '../../src/core/assert';
import {
  cartAddDelta, cartCoversDot, cartEntryDotId, cartFromLegacy, cartFromParts, cartItems, cartNextCounter, cartRemove,
  cartSet, emptyCart, legacyAddDot, mergeCarts, type CartState, type LegacyCartState,
} from '../../src/crdt/cart';
import { objectByteSize } from '../../src/crdt/stored-object';
import { decodeValue, encodeValue } from '../../src/storage/value-codec';
import { cartRunArb, pick3, threeIndices } from './arbitraries';

const mergeAll = (xs: readonly CartState[]): CartState => xs.reduce(mergeCarts, emptyCart());

/** An add at a replica, as the coordinator makes it: a fresh dot of `actor`, merged in as a delta. */
const add = (s: CartState, item: string, qty: number, actor: string): CartState =>
  mergeCarts(s, cartAddDelta(item, qty, actor, cartNextCounter(s, actor)));

const dots = (s: CartState): string[] => s.entries.map(cartEntryDotId);

describe('crdt/cart (DESIGN.md Data model: cart, ORSWOT: add-wins set without tombstones)', () => {
  it('sums the entries of an item', () => {
    const c = add(add(add(emptyCart(), 'sku1', 2, 'a'), 'sku1', 1, 'a'), 'sku0', 1, 'a');
    assert.deepEqual(cartItems(c), { sku0: 1, sku1: 3 });
    assert.deepEqual(Object.keys(cartItems(c)), ['sku0', 'sku1']);
    assert.deepEqual(dots(c), ['a#1', 'a#2', 'a#3']);
    assert.deepEqual(c.vv, { a: 3 });
    assert.deepEqual(c.cloud, []);
  });

  it('gives 2 when two devices each add one of the same item', () => {
    const phone = add(emptyCart(), 'sku', 1, 'phone');
    const laptop = add(emptyCart(), 'sku', 1, 'laptop');
    assert.deepEqual(cartItems(mergeCarts(phone, laptop)), { sku: 2 });
  });

  it('makes an add delta whose context is its own dot only, not the earlier dots of its actor', () => {
    const d = cartAddDelta('sku', 2, 'n~1', 5);
    assert.deepEqual(d, { entries: [['n~1', 5, 'sku', 2]], vv: {}, cloud: [['n~1', 5]] });
    assert.ok(!cartCoversDot(d, ['n~1', 4]));
    // A replica holding n~1's dot 4 keeps it when the delta of dot 5 arrives.
    const four = mergeCarts(emptyCart(), cartAddDelta('other', 1, 'n~1', 4));
    assert.deepEqual(cartItems(mergeCarts(four, d)), { other: 1, sku: 2 });
    assert.deepEqual(cartAddDelta('sku', 1, 'n~1', 1).vv, { 'n~1': 1 });
  });

  it('folds cloud dots into the vector once they are contiguous', () => {
    const three = cartAddDelta('x', 1, 'a', 3);
    const two = cartAddDelta('x', 1, 'a', 2);
    let c = mergeCarts(three, two);
    assert.deepEqual(c.cloud, [['a', 2], ['a', 3]]);
    c = mergeCarts(c, cartAddDelta('x', 1, 'a', 1));
    assert.deepEqual(c.vv, { a: 3 });
    assert.deepEqual(c.cloud, []);
    assert.equal(cartNextCounter(three, 'a'), 4);
    assert.equal(cartNextCounter(three, 'b'), 1);
  });

  it('lets an add win over a concurrent remove', () => {
    const shared = add(emptyCart(), 'sku', 1, 'x');
    const a = cartRemove(shared, 'sku');
    const b = add(shared, 'sku', 3, 'y');
    assert.deepEqual(cartItems(a), {});
    assert.deepEqual(cartItems(mergeCarts(a, b)), { sku: 3 });
    assert.deepEqual(cartItems(mergeCarts(b, a)), { sku: 3 });
  });

  it('does not resurrect a removed add when a stale replica merges in later, and keeps no tombstone', () => {
    const stale = add(emptyCart(), 'sku', 1, 'x');
    const removed = cartRemove(stale, 'sku');
    assert.deepEqual(cartItems(mergeCarts(mergeCarts(removed, stale), stale)), {});
    assert.deepEqual(removed, { entries: [], vv: { x: 1 }, cloud: [] });
  });

  it('keeps its stored size bounded: 3,000 add/remove rounds of one item leave under 200 bytes', () => {
    let c = emptyCart();
    for (let i = 0; i < 3000; i++) c = cartRemove(add(c, 'sku', 1, 'node-1~k'), 'sku');
    const size = objectByteSize({ kind: 'cart', c });
    assert.ok(size < 200, `${size} bytes`);
    assert.deepEqual(c, { entries: [], vv: { 'node-1~k': 3000 }, cloud: [] });
    // Adds from three coordinators interleaved with a replica that removes: still one counter per actor.
    let r = emptyCart();
    for (let i = 0; i < 3000; i++) r = cartRemove(add(r, 'sku', 1, `n${i % 3}~1`), 'sku');
    assert.ok(objectByteSize({ kind: 'cart', c: r }) < 200);
  });

  it('replaces the observed entries on set, and only removes on set 0', () => {
    let c = add(add(emptyCart(), 'sku', 1, 'a'), 'sku', 1, 'a');
    c = cartSet(c, 'sku', 5, 'a', cartNextCounter(c, 'a'));
    assert.deepEqual(cartItems(c), { sku: 5 });
    assert.deepEqual(dots(c), ['a#3']);
    assert.deepEqual(cartItems(cartSet(c, 'sku', 0, 'a', 4)), {});
  });

  it('returns the same state when removing an item that is not there', () => {
    const c = add(emptyCart(), 'sku', 1, 'a');
    assert.equal(cartRemove(c, 'other'), c);
  });

  it('rejects bad quantities and items as operating errors, and a reused dot as a bug', () => {
    for (const q of [0, -1, 1.5, Number.NaN]) assert.throws(() => cartAddDelta('sku', q, 'a', 1), BadRequestError);
    assert.throws(() => cartSet(emptyCart(), 'sku', -1, 'a', 1), BadRequestError);
    assert.throws(() => cartAddDelta('', 1, 'a', 1), BadRequestError);
    assert.throws(() => cartAddDelta('sku', 1, 'a', 0), AssertionFailure);
    const c = add(emptyCart(), 'sku', 1, 'a');
    assert.throws(() => cartSet(c, 'sku', 1, 'a', 1), AssertionFailure);
    assert.throws(() => cartSet(cartRemove(c, 'sku'), 'sku', 1, 'a', 1), AssertionFailure);
  });

  it('merges deterministically even if a dot were ever reused with another entry', () => {
    const x = cartAddDelta('sku', 1, 'dup', 1);
    const y = cartAddDelta('sku', 2, 'dup', 1);
    assert.deepEqual(mergeCarts(x, y), mergeCarts(y, x));
  });

  it('survives a msgpack round trip unchanged (the stored and wire encoding)', () => {
    const c = mergeCarts(add(add(emptyCart(), 'b', 1, 'n~1'), 'a', 2, 'constructor'), cartAddDelta('c', 1, 'n~2', 7));
    assert.deepEqual(unpack(pack(c)), c);
    assert.deepEqual(cartFromParts(c.entries, c.vv, c.cloud), c);
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
          // Canonical: rebuilding from the parts changes nothing, and every entry is in the context.
          assert.deepEqual(cartFromParts(m.entries, m.vv, m.cloud), m);
          assert.ok(m.entries.every((e) => cartCoversDot(m, [e[0], e[1]])));
          assert.ok(m.cloud.every(([actor, n]) => n > (m.vv[actor] ?? 0) + 1));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('converges on 4 replicas to exactly the adds no remove observed, whatever the delivery order', () => {
    fc.assert(
      fc.property(cartRunArb(4, 40), fc.nat(23), fc.nat(1000), (run, perm, deltaSeed) => {
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
        // The add deltas, delivered again in another order, change nothing.
        const deltas = [...run.deltas];
        for (let i = deltas.length - 1; i > 0; i--) {
          const j = (deltaSeed * (i + 7)) % (i + 1);
          [deltas[i], deltas[j]] = [deltas[j]!, deltas[i]!];
        }
        assert.deepEqual(mergeAll([...deltas, ...shuffled]), all);
        assert.deepEqual(mergeAll([...shuffled, ...deltas]), all);
        const expected: Record<string, number> = {};
        for (const [id, [item, qty]] of run.minted) {
          if (!run.removedObserved.has(id)) expected[item] = (expected[item] ?? 0) + qty;
        }
        assert.deepEqual(cartItems(all), expected);
      }),
      { numRuns: 300 },
    );
  });

  describe('migration of carts stored before ORSWOT ({adds, removed})', () => {
    it('turns add ids minted by IdMint.unique() into dots of the epoch actor, and other ids into one-off actors', () => {
      assert.deepEqual(legacyAddDot('node-1~3~1z'), ['node-1~3', 71]);
      assert.deepEqual(legacyAddDot('a~b~c~2'), ['a~b~c', 2]);
      assert.deepEqual(legacyAddDot('e1'), ['e1~', 1]);
      assert.deepEqual(legacyAddDot('n~1'), ['n~1~', 1]);
      assert.deepEqual(legacyAddDot('n~1~0'), ['n~1~0~', 1]);
      const c = cartFromLegacy({ adds: { 'n~1~3': ['sku', 2], e1: ['tea', 1] }, removed: ['n~1~1', 'n~1~2'] });
      assert.deepEqual(c, { entries: [['e1~', 1, 'tea', 1], ['n~1', 3, 'sku', 2]], vv: { 'e1~': 1, 'n~1': 3 }, cloud: [] });
    });

    it('migrates where a stored value is decoded', () => {
      const legacy = { kind: 'cart', c: { adds: { 'n~1~5': ['sku', 1] }, removed: ['n~1~2'] } };
      assert.deepEqual(decodeValue(encodeValue(legacy)), {
        kind: 'cart', c: { entries: [['n~1', 5, 'sku', 1]], vv: {}, cloud: [['n~1', 2], ['n~1', 5]] },
      });
    });

    /** The pre-ORSWOT merge: adds of both minus removed of both, removed = union. */
    const legacyMerge = (a: LegacyCartState, b: LegacyCartState): LegacyCartState => {
      const removed = [...new Set([...a.removed, ...b.removed])].sort();
      const adds = Object.fromEntries(
        Object.entries({ ...a.adds, ...b.adds }).filter(([id]) => !removed.includes(id)).sort(([x], [y]) => (x < y ? -1 : 1)),
      );
      return { adds, removed };
    };
    const ids = fc.oneof(
      fc.tuple(fc.constantFrom('n1', 'n2', 'n~3'), fc.nat(3), fc.integer({ min: 1, max: 40 })).map(([n, e, s]) => `${n}~${e.toString(36)}~${s.toString(36)}`),
      fc.constantFrom('e1', 'e2', 'n1~0', 'x~y'),
    );
    /** A legacy cart a real replica can hold: each id added with its one entry, some of them removed. */
    const legacyArb = (universe: Map<string, readonly [string, number]>) => fc.subarray([...universe.keys()]).chain((held) =>
      fc.subarray(held).map((removed): LegacyCartState => ({
        adds: Object.fromEntries(held.filter((id) => !removed.includes(id)).map((id) => [id, universe.get(id)!])),
        removed: [...removed].sort(),
      })));
    const universeArb = fc.uniqueArray(ids, { maxLength: 12 }).map((xs) =>
      new Map(xs.map((id, i) => [id, [['apple', 'pear'][i % 2]!, 1 + (i % 3)] as const])));

    it('merges migrated carts exactly as the legacy carts merged: nothing removed comes back, nothing added is lost', () => {
      fc.assert(
        fc.property(universeArb.chain((u) => fc.tuple(legacyArb(u), legacyArb(u), legacyArb(u))), ([a, b, c]) => {
          assert.deepEqual(mergeCarts(cartFromLegacy(a), cartFromLegacy(b)), cartFromLegacy(legacyMerge(a, b)));
          const abc = cartFromLegacy(legacyMerge(legacyMerge(a, b), c));
          assert.deepEqual(mergeAll([a, b, c].map(cartFromLegacy)), abc);
        }),
        { numRuns: 300 },
      );
    });

    it('merges a migrated cart with new-format states without losing adds or undoing removes', () => {
      fc.assert(
        fc.property(universeArb.chain((u) => fc.tuple(legacyArb(u), legacyArb(u))), fc.constantFrom('apple', 'pear'), ([a, b], item) => {
          // Replica A was migrated and then written to in the new format; B is still legacy.
          const before = cartFromLegacy(a);
          const removed = cartRemove(before, item);
          const added = add(removed, item, 9, 'n1~9');
          const stale = cartFromLegacy(b);
          const merged = mergeCarts(added, stale);
          assert.deepEqual(merged, mergeCarts(stale, added));
          // What A removed stays removed; the new add survives; B's adds A never saw survive.
          for (const e of before.entries) if (e[2] === item) assert.ok(!dots(merged).includes(cartEntryDotId(e)));
          assert.ok(dots(merged).includes(`n1~9#${cartNextCounter(removed, 'n1~9')}`));
          for (const e of stale.entries) {
            if (!cartCoversDot(before, [e[0], e[1]])) assert.ok(dots(merged).includes(cartEntryDotId(e)));
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
