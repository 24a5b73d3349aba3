import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asActorId } from '../../src/core/ids';
import { dvvUpdate, emptyDvv, type Dvv } from '../../src/clock/dvv';
import { emptyVv } from '../../src/clock/version-vector';
import { cartAddDelta, emptyCart } from '../../src/crdt/cart';
import { emptySession, sessionDestroy, sessionWrite, type FieldRegister, type SessionState } from '../../src/crdt/session';
import {
  isTombstoneOnly, mergeObjects, objectByteSize, objectDigest, objectExpiresAtMs, type OpaqueValue, type StoredObject,
} from '../../src/crdt/stored-object';
import { pick3, storedObjectsArb, threeIndices } from './arbitraries';

const A = asActorId('A');
const B = asActorId('B');
const body = (s: string): OpaqueValue => ({ ct: 'text/plain', b: Buffer.from(s) });
const opaque = (dvv: Dvv<OpaqueValue>): StoredObject => ({ kind: 'opaque', dvv });
const write = (d: Dvv<OpaqueValue>, v: OpaqueValue, actor = A) => dvvUpdate(d, emptyVv(), v, actor);

const session: StoredObject = { kind: 'session', s: sessionWrite(emptySession(), { set: { u: 1 }, expiresAtMs: 9_000 }, 5, 'n0', 1) };
const cart: StoredObject = { kind: 'cart', c: cartAddDelta('sku', 1, 'a', 1) };
const blob: StoredObject = opaque(write(emptyDvv(), body('x')));

/** Same state: same digest and same structure. */
function assertSameState(x: StoredObject, y: StoredObject): void {
  assert.equal(objectDigest(x), objectDigest(y));
  assert.deepEqual(x, y);
}

describe('crdt/stored-object', () => {
  it('merges same kinds with their own merge', () => {
    const m = mergeObjects(opaque(write(emptyDvv(), body('a'), A)), opaque(write(emptyDvv(), body('b'), B)));
    assert.equal(m.kind, 'opaque');
    assert.equal(m.kind === 'opaque' && m.dvv.siblings.length, 2);
    const c = mergeObjects(cart, { kind: 'cart', c: cartAddDelta('sku', 1, 'b', 1) });
    assert.equal(c.kind === 'cart' && c.c.entries.length, 2);
  });

  it("keeps the kind that sorts last on a concurrent create of different kinds ('session' > 'opaque' > 'cart')", () => {
    for (const [x, y, winner] of [[session, blob, session], [blob, cart, blob], [session, cart, session]] as const) {
      assert.equal(mergeObjects(x, y), winner);
      assert.equal(mergeObjects(y, x), winner);
    }
  });

  it('merge is commutative, associative and idempotent over every kind, mixed kinds included', () => {
    fc.assert(
      fc.property(storedObjectsArb(), threeIndices, (objects, idx) => {
        const [a, b, c] = pick3(objects, idx);
        assertSameState(mergeObjects(a, b), mergeObjects(b, a));
        assertSameState(mergeObjects(mergeObjects(a, b), c), mergeObjects(a, mergeObjects(b, c)));
        assertSameState(mergeObjects(a, a), a);
      }),
      { numRuns: 300 },
    );
  });

  it('digests equal states alike whatever order their keys were built in', () => {
    const reg = (v: unknown, t: number): FieldRegister => ({ v, t, n: 'n0' });
    const s1: SessionState = { fields: { a: reg({ x: 1, y: [1, 2] }, 1), b: reg('q', 2) }, expiresAtMs: 10, touchedAtMs: 5, destroyed: false };
    const s2: SessionState = { destroyed: false, touchedAtMs: 5, expiresAtMs: 10, fields: { b: { n: 'n0', t: 2, v: 'q' }, a: reg({ y: [1, 2], x: 1 }, 1) } };
    assert.equal(objectDigest({ kind: 'session', s: s1 }), objectDigest({ s: s2, kind: 'session' }));
    assert.match(objectDigest({ kind: 'session', s: s1 }), /^[0-9a-f]{40}$/);
    // Siblings in another order and a zero vv entry are the same opaque state.
    const d = write(write(emptyDvv(), body('a'), A), body('b'), B);
    const shuffled: Dvv<OpaqueValue> = { siblings: [...d.siblings].reverse(), vv: { Z: 0, ...d.vv } };
    assert.equal(objectDigest(opaque(d)), objectDigest(opaque(shuffled)));
  });

  it('digests different states differently', () => {
    const digests = new Set([
      objectDigest(session),
      objectDigest(cart),
      objectDigest(blob),
      objectDigest(opaque(write(emptyDvv(), body('y')))),
      objectDigest(opaque(write(emptyDvv(), { ct: 'text/html', b: Buffer.from('x') }))),
      objectDigest(opaque(write(emptyDvv(), null))),
      objectDigest({ kind: 'session', s: sessionDestroy(session.kind === 'session' ? session.s : emptySession(), 1) }),
      objectDigest({ kind: 'session', s: emptySession() }),
      objectDigest({ kind: 'cart', c: emptyCart() }),
    ]);
    assert.equal(digests.size, 9);
  });

  it('expires sessions only', () => {
    assert.equal(objectExpiresAtMs(session), 9_000);
    assert.equal(objectExpiresAtMs(cart), null);
    assert.equal(objectExpiresAtMs(blob), null);
  });

  it('sizes objects close to their payload', () => {
    const big = opaque(write(emptyDvv(), { ct: 'application/octet-stream', b: new Uint8Array(100_000) }));
    const size = objectByteSize(big);
    assert.ok(size >= 100_000 && size < 100_200, `size ${size}`);
    const twoSiblings = opaque(write(write(emptyDvv(), body('x'.repeat(1000)), A), body('y'.repeat(1000)), B));
    assert.ok(objectByteSize(twoSiblings) > 2000);
    const sess: StoredObject = { kind: 'session', s: sessionWrite(emptySession(), { set: { k: 'é'.repeat(500) } }, 1, 'n0', 1) };
    assert.ok(objectByteSize(sess) >= 1000);
  });

  it('knows an opaque object holding only delete tombstones', () => {
    const deleted = write(emptyDvv(), null);
    assert.equal(isTombstoneOnly(opaque(deleted)), true);
    assert.equal(isTombstoneOnly(opaque(write(deleted, body('x'), B))), false);
    assert.equal(isTombstoneOnly(opaque(emptyDvv())), true);
    assert.equal(isTombstoneOnly(session), false);
    assert.equal(isTombstoneOnly(cart), false);
  });
});
