import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  compareRegisters, emptySession, mergeSessions, sessionDestroy, sessionIsLive, sessionMaxStamp, sessionTouch,
  sessionView, sessionWrite, type SessionState,
} from '../../src/crdt/session';
import { compareStrings } from '../../src/crdt/canonical';
import { pick3, sessionStatesArb, threeIndices } from './arbitraries';

/** The join built field by field, as the lattice defines it: the reference the merge is checked against. */
function referenceJoin(a: SessionState, b: SessionState): SessionState {
  const destroyed = a.destroyed || b.destroyed;
  const own = (s: SessionState, name: string): SessionState['fields'][string] | undefined =>
    Object.prototype.hasOwnProperty.call(s.fields, name) ? s.fields[name] : undefined;
  const entries: Array<[string, SessionState['fields'][string]]> = [];
  if (!destroyed) {
    const names = [...new Set([...Object.keys(a.fields), ...Object.keys(b.fields)])].sort(compareStrings);
    for (const name of names) {
      const ra = own(a, name);
      const rb = own(b, name);
      entries.push([name, ra === undefined ? rb! : rb === undefined ? ra : compareRegisters(ra, rb) < 0 ? rb : ra]);
    }
  }
  // fromEntries, so a field named __proto__ is an own property as in the merge.
  const fields = Object.fromEntries(entries);
  return {
    fields, expiresAtMs: Math.max(a.expiresAtMs, b.expiresAtMs), touchedAtMs: Math.max(a.touchedAtMs, b.touchedAtMs), destroyed,
  };
}

const isSorted = (xs: string[]): boolean => xs.every((x, i) => i === 0 || compareStrings(xs[i - 1]!, x) < 0);

const NOW = 1_000;

describe('crdt/session (DESIGN.md Data model: session)', () => {
  it('starts empty, not destroyed, already expired', () => {
    assert.deepEqual(emptySession(), { fields: {}, expiresAtMs: 0, touchedAtMs: 0, destroyed: false });
    assert.equal(sessionIsLive(emptySession(), 0), false);
  });

  it('writes fields and shows only live ones', () => {
    let s = sessionWrite(emptySession(), { set: { user: 'ann', n: 1 }, expiresAtMs: 5_000 }, 10, 'n0', NOW);
    s = sessionWrite(s, { del: ['n'], set: { theme: { dark: true } } }, 11, 'n0', NOW + 1);
    assert.deepEqual(sessionView(s), { theme: { dark: true }, user: 'ann' });
    assert.deepEqual(Object.keys(sessionView(s)), ['theme', 'user']);
    assert.equal(s.expiresAtMs, 5_000);
    assert.equal(s.touchedAtMs, NOW + 1);
    assert.equal(s.fields['n']!.d, true);
    assert.equal(sessionMaxStamp(s), 11);
  });

  it('treats a field set to undefined as deleted, and delete wins over set in one change', () => {
    const s = sessionWrite(emptySession(), { set: { a: 1, b: undefined, c: 3 }, del: ['c'] }, 10, 'n0', NOW);
    assert.deepEqual(sessionView(s), { a: 1 });
  });

  it('keeps the field with the higher stamp whatever the merge order (LWW)', () => {
    const base = emptySession();
    const older = sessionWrite(base, { set: { cart: 'old' } }, 100, 'n9', NOW);
    const newer = sessionWrite(base, { set: { cart: 'new' } }, 101, 'n0', NOW);
    assert.deepEqual(sessionView(mergeSessions(older, newer)), { cart: 'new' });
    assert.deepEqual(sessionView(mergeSessions(newer, older)), { cart: 'new' });
  });

  it('breaks equal stamps by writer id', () => {
    const x = sessionWrite(emptySession(), { set: { k: 'from-a' } }, 100, 'a', NOW);
    const y = sessionWrite(emptySession(), { set: { k: 'from-b' } }, 100, 'b', NOW);
    assert.deepEqual(sessionView(mergeSessions(x, y)), { k: 'from-b' });
    assert.deepEqual(sessionView(mergeSessions(y, x)), { k: 'from-b' });
  });

  it('orders registers totally even on equal (stamp, writer)', () => {
    const r1 = { v: 1, t: 5, n: 'a' };
    const r2 = { v: 2, t: 5, n: 'a' };
    const del = { v: null, t: 5, n: 'a', d: true as const };
    assert.ok(compareRegisters(r1, r2) < 0 && compareRegisters(r2, r1) > 0);
    // Delete wins the tie whatever the value it would hide.
    assert.ok(compareRegisters({ v: 'zzz', t: 5, n: 'a' }, del) < 0);
    assert.ok(compareRegisters({ v: null, t: 5, n: 'a' }, del) < 0);
    assert.equal(compareRegisters(r1, { ...r1 }), 0);
  });

  it('lets a lower stamp lose to the field it would overwrite', () => {
    const s = sessionWrite(emptySession(), { set: { k: 'first' } }, 50, 'n0', NOW);
    assert.deepEqual(sessionView(sessionWrite(s, { set: { k: 'stale' } }, 40, 'n1', NOW)), { k: 'first' });
  });

  it('extends expiry on touch and never shortens it or changes data', () => {
    const s = sessionWrite(emptySession(), { set: { a: 1 }, expiresAtMs: 5_000 }, 1, 'n0', NOW);
    const longer = sessionTouch(s, 9_000, NOW + 10);
    assert.equal(longer.expiresAtMs, 9_000);
    assert.equal(longer.touchedAtMs, NOW + 10);
    assert.deepEqual(longer.fields, s.fields);
    assert.equal(sessionTouch(longer, 2_000, NOW + 20).expiresAtMs, 9_000);
    // A write with an earlier expiry does not shorten it either.
    assert.equal(sessionWrite(longer, { set: { b: 2 }, expiresAtMs: 10 }, 2, 'n0', NOW).expiresAtMs, 9_000);
  });

  it('is live until its expiry', () => {
    const s = sessionTouch(emptySession(), 5_000, NOW);
    assert.equal(sessionIsLive(s, 4_999), true);
    assert.equal(sessionIsLive(s, 5_000), false);
  });

  it('lets a destroy win over concurrent writes and touches, and stay destroyed', () => {
    const base = sessionWrite(emptySession(), { set: { user: 'ann' }, expiresAtMs: 5_000 }, 10, 'n0', NOW);
    const destroyed = sessionDestroy(base, NOW + 1);
    assert.equal(destroyed.destroyed, true);
    assert.deepEqual(destroyed.fields, {});
    assert.equal(destroyed.expiresAtMs, 5_000);
    const concurrentWrite = sessionWrite(base, { set: { user: 'bob' } }, 99_999, 'n1', NOW + 2);
    const concurrentTouch = sessionTouch(base, 50_000, NOW + 2);
    for (const other of [concurrentWrite, concurrentTouch]) {
      for (const m of [mergeSessions(destroyed, other), mergeSessions(other, destroyed)]) {
        assert.equal(m.destroyed, true);
        assert.deepEqual(m.fields, {});
        assert.deepEqual(sessionView(m), {});
        assert.equal(sessionIsLive(m, NOW), false);
      }
    }
    // The tombstone outlives every live copy: it takes the touch's later expiry.
    assert.equal(mergeSessions(destroyed, concurrentTouch).expiresAtMs, 50_000);
    // Later writes to a destroyed state bring no data back.
    assert.deepEqual(sessionView(sessionWrite(destroyed, { set: { x: 1 } }, 100_000, 'n0', NOW + 3)), {});
  });

  it('keeps a destroyed tombstone at least until the time of the destroy', () => {
    assert.equal(sessionDestroy(emptySession(), NOW).expiresAtMs, NOW);
  });

  it('merge is commutative, associative and idempotent over random 3-replica executions', () => {
    fc.assert(
      fc.property(sessionStatesArb(3, 25), threeIndices, (states, idx) => {
        const [a, b, c] = pick3(states, idx);
        assert.deepEqual(mergeSessions(a, b), mergeSessions(b, a));
        assert.deepEqual(mergeSessions(mergeSessions(a, b), c), mergeSessions(a, mergeSessions(b, c)));
        assert.deepEqual(mergeSessions(a, a), a);
        assert.deepEqual(mergeSessions(a, emptySession()), a);
      }),
      { numRuns: 300 },
    );
  });

  it('equals the field-by-field join, fields in key order, for any two states', () => {
    fc.assert(
      fc.property(sessionStatesArb(3, 25), threeIndices, (states, idx) => {
        const [a, b] = pick3(states, idx);
        const merged = mergeSessions(a, b);
        assert.deepEqual(merged, referenceJoin(a, b));
        assert.ok(isSorted(Object.keys(merged.fields)), `fields in order: ${Object.keys(merged.fields).join(',')}`);
      }),
      { numRuns: 300 },
    );
  });

  it('returns the state that already holds the other one itself, in either order, without building a copy', () => {
    const old = sessionWrite(emptySession(), { set: { a: 1, b: 2 }, expiresAtMs: NOW + 10 }, 5, 'n1', NOW);
    const next = sessionWrite(old, { set: { b: 3, c: 4 }, expiresAtMs: NOW + 20 }, 6, 'n1', NOW + 1);
    assert.equal(mergeSessions(old, next), next);
    assert.equal(mergeSessions(next, old), next);
    const gone = sessionDestroy(next, NOW + 2);
    assert.equal(mergeSessions(next, gone), gone);
  });

  it('builds the join for a covering state a merge would not have built (fields out of order, a destroy with fields)', () => {
    const old = sessionWrite(emptySession(), { set: { a: 1 }, expiresAtMs: NOW + 10 }, 5, 'n1', NOW);
    const unordered: SessionState = { ...old, fields: { z: { v: 9, t: 7, n: 'n2' }, a: { v: 2, t: 7, n: 'n2' } } };
    const merged = mergeSessions(old, unordered);
    assert.deepEqual(Object.keys(merged.fields), ['a', 'z']);
    assert.deepEqual(merged, referenceJoin(old, unordered));
    const destroyedWithFields: SessionState = { ...unordered, destroyed: true };
    assert.deepEqual(mergeSessions(old, destroyedWithFields).fields, {});
  });

  it('merges fields whose names an object cannot keep in key order (integer-like names) like any others', () => {
    // An object lists '9' before '10' whatever the insertion order, so their
    // fields can never be in key order: the merge must not assume they are.
    const a = sessionWrite(emptySession(), { set: { '10': 1, x: 2 }, expiresAtMs: NOW + 10 }, 5, 'n1', NOW);
    const b = sessionWrite(emptySession(), { set: { '9': 3, x: 4 }, expiresAtMs: NOW + 10 }, 6, 'n2', NOW);
    for (const [p, q] of [[a, b], [b, a]] as const) {
      const merged = mergeSessions(p, q);
      assert.deepEqual(merged, referenceJoin(p, q));
      assert.deepEqual(sessionView(merged), { '9': 3, '10': 1, x: 4 });
    }
  });

  it('every operation is an inflation: merging the old state back changes nothing', () => {
    fc.assert(
      fc.property(sessionStatesArb(3, 25), fc.nat(), fc.nat(200), (states, i, now) => {
        const s: SessionState = states[i % states.length]!;
        for (const next of [
          sessionWrite(s, { set: { a: now }, del: ['b'] }, now, 'n2', now),
          sessionTouch(s, now, now),
          sessionDestroy(s, now),
        ]) {
          assert.deepEqual(mergeSessions(next, s), next);
        }
      }),
      { numRuns: 200 },
    );
  });
});
