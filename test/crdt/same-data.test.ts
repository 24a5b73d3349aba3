import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { canonicalString, sameData } from '../../src/crdt/canonical';
import { compareRegisters, emptySession, mergeSessions, sessionWrite } from '../../src/crdt/session';
import { mergeObjects, objectDigest, sameObject, type StoredObject } from '../../src/crdt/stored-object';
import { storedObjectsArb } from './arbitraries';

/** A deep copy with every object's keys in reverse order (same data, other spelling). */
function reversedCopy(x: unknown): unknown {
  if (x instanceof Uint8Array) return Buffer.from(x);
  if (Array.isArray(x)) return x.map(reversedCopy);
  if (typeof x === 'object' && x !== null) {
    return Object.fromEntries(Object.entries(x).reverse().map(([k, v]) => [k, reversedCopy(v)]));
  }
  return x;
}

describe('crdt/canonical sameData and crdt/stored-object sameObject (the fast path of read repair and merge)', () => {
  it('says equal only when the canonical strings are equal', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
      if (sameData(a, b)) assert.equal(canonicalString(a), canonicalString(b));
    }), { seed: 6001 });
  });

  it('recognises equal data whatever its key order, and copies of bytes', () => {
    fc.assert(fc.property(fc.jsonValue(), (a) => {
      assert.ok(sameData(a, reversedCopy(a)));
    }), { seed: 6002 });
    assert.ok(sameData({ b: Buffer.from('xy'), a: [1, 'z'] }, { a: [1, 'z'], b: new Uint8Array([0x78, 0x79]) }));
  });

  it('tells different data apart', () => {
    assert.ok(!sameData({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!sameData({ a: 1, b: 2 }, { a: 1 }));
    assert.ok(!sameData([1, 2], [1, 2, 3]));
    assert.ok(!sameData([1], { 0: 1 }));
    assert.ok(!sameData('1', 1));
    assert.ok(!sameData(null, {}));
    assert.ok(!sameData(Buffer.from('a'), Buffer.from('b')));
    assert.ok(!sameData(Buffer.from('a'), 'a'));
  });

  it('agrees with digests on stored objects: same digest when sameObject, and sameObject on equal copies', () => {
    fc.assert(fc.property(storedObjectsArb(), (objs) => {
      for (const a of objs) {
        assert.ok(sameObject(a, reversedCopy(a) as StoredObject));
        for (const b of objs) if (sameObject(a, b)) assert.equal(objectDigest(a), objectDigest(b));
      }
    }), { seed: 6003, numRuns: 60 });
  });

  it('finds a stale replica stale: an older copy is not the same object as the merge', () => {
    const v1 = sessionWrite(emptySession(), { set: { u: 'ann', n: 1 }, expiresAtMs: 9000 }, 10, 'n1', 1);
    const v2 = sessionWrite(v1, { set: { n: 2 }, expiresAtMs: 9000 }, 11, 'n1', 2);
    const a: StoredObject = { kind: 'session', s: v1 };
    const merged = mergeObjects(a, { kind: 'session', s: v2 });
    assert.ok(!sameObject(a, merged));
    assert.ok(sameObject({ kind: 'session', s: v2 }, merged));
  });

  it('merging equal session copies gives that state, and registers with equal stamps and values compare equal', () => {
    const s = sessionWrite(emptySession(), { set: { cookie: { path: '/', maxAge: 5 }, u: 'x' }, expiresAtMs: 9000 }, 7, 'n2', 1);
    const copy = reversedCopy(s) as typeof s;
    assert.deepEqual(mergeSessions(s, copy), s);
    assert.equal(compareRegisters(s.fields.cookie!, copy.fields.cookie!), 0);
    // Equal (stamp, writer) with different values (dishonest input) still orders deterministically.
    const r1 = { v: { a: 1 }, t: 3, n: 'n1' };
    const r2 = { v: { a: 2 }, t: 3, n: 'n1' };
    assert.equal(Math.sign(compareRegisters(r1, r2)), -Math.sign(compareRegisters(r2, r1)));
    assert.notEqual(compareRegisters(r1, r2), 0);
  });
});
