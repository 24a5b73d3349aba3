import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asActorId } from '../../src/core/ids';
import {
  dvvContext, dvvDescends, dvvEquals, dvvSync, dvvUpdate, dvvValues, emptyDvv, type Dvv,
} from '../../src/clock/dvv';
import { compareDots } from '../../src/clock/dot';
import { emptyVv, vvCovers, vvFromEntries } from '../../src/clock/version-vector';
import { dvvScheduleArb, runDvvSchedule } from './dvv-schedule';

const A = asActorId('A');
const B = asActorId('B');

/** Structural invariants every DVV must keep. */
function checkInvariants<V>(d: Dvv<V>): void {
  for (let i = 0; i < d.siblings.length; i++) {
    assert.ok(vvCovers(d.vv, d.siblings[i]!.dot), 'every sibling dot is covered by vv');
    if (i > 0) assert.ok(compareDots(d.siblings[i - 1]!.dot, d.siblings[i]!.dot) < 0, 'siblings sorted, unique');
  }
}

/** Same dots, same values, same vv: what the merge laws must preserve. */
function assertSame<V>(x: Dvv<V>, y: Dvv<V>): void {
  assert.ok(dvvEquals(x, y), `${JSON.stringify(x)} != ${JSON.stringify(y)}`);
  assert.deepEqual(dvvValues(x), dvvValues(y));
}

describe('clock/dvv (Preguiça et al. 2010, section 5)', () => {
  describe('dvvUpdate', () => {
    it('mints (actor, max(local, context) + 1) and replaces what the context covers', () => {
      const d1 = dvvUpdate(emptyDvv<string>(), emptyVv(), 'v1', A);
      assert.deepEqual(d1.siblings.map((s) => s.dot), [['A', 1]]);
      const d2 = dvvUpdate(d1, dvvContext(d1), 'v2', A);
      assert.deepEqual(dvvValues(d2), ['v2']);
      assert.deepEqual({ ...d2.vv }, { A: 2 });
      // The client's context saw more of A than this copy (it read elsewhere): the dot is still fresh.
      const d3 = dvvUpdate(emptyDvv<string>(), vvFromEntries([['A', 5]]), 'v3', A);
      assert.deepEqual(d3.siblings.map((s) => s.dot), [['A', 6]]);
    });

    it('keeps what a blind write did not see as a concurrent sibling', () => {
      const d1 = dvvUpdate(emptyDvv<string>(), emptyVv(), 'x', A);
      const d2 = dvvUpdate(d1, emptyVv(), 'y', A);
      assert.deepEqual(dvvValues(d2), ['x', 'y']);
    });

    it('merges the context into vv so a replaced sibling held elsewhere is dropped on sync', () => {
      const atA = dvvUpdate(emptyDvv<string>(), emptyVv(), 'a', A);
      const atB = dvvUpdate(emptyDvv<string>(), emptyVv(), 'b', B);
      const read = dvvSync(atA, atB);
      assert.deepEqual(dvvValues(read), ['a', 'b']);
      // Written through A, which never received B's sibling.
      const resolved = dvvUpdate(atA, dvvContext(read), 'ab', A);
      assert.deepEqual(dvvValues(resolved), ['ab']);
      assert.deepEqual(dvvValues(dvvSync(resolved, atB)), ['ab']);
      assert.deepEqual(dvvValues(dvvSync(atB, resolved)), ['ab']);
    });
  });

  describe('sibling bounds (why a DVV set and not per-sibling vector clocks)', () => {
    it('leaves 1 sibling after 101 sequential writes each with the context of the previous read', () => {
      let d = emptyDvv<number>();
      for (let i = 0; i <= 100; i++) {
        d = dvvUpdate(d, dvvContext(d), i, A);
        assert.equal(d.siblings.length, 1);
      }
      assert.deepEqual(dvvValues(d), [100]);
    });

    it('leaves at most 2 siblings when two writers interleave blind-then-contexted writes (one coordinator)', () => {
      let d = emptyDvv<string>();
      const ctx = { w1: null as null | ReturnType<typeof dvvContext>, w2: null as null | ReturnType<typeof dvvContext> };
      for (let i = 0; i < 50; i++) {
        for (const w of ['w1', 'w2'] as const) {
          // First write blind, later ones with the context the previous write returned.
          d = dvvUpdate(d, ctx[w] ?? emptyVv(), `${w}-${i}`, A);
          ctx[w] = dvvContext(d);
          assert.ok(d.siblings.length <= 2, `${d.siblings.length} siblings after round ${i}`);
        }
      }
    });

    it('leaves at most 2 siblings when two writers on two coordinators interleave blind-then-contexted writes', () => {
      let atA = emptyDvv<string>();
      let atB = emptyDvv<string>();
      let ctx1 = emptyVv();
      let ctx2 = emptyVv();
      for (let i = 0; i < 50; i++) {
        atA = dvvUpdate(atA, ctx1, `w1-${i}`, A);
        ctx1 = dvvContext(atA);
        atB = dvvUpdate(atB, ctx2, `w2-${i}`, B);
        ctx2 = dvvContext(atB);
        // Replication: each coordinator ships its object to the other.
        const merged = dvvSync(atA, atB);
        atA = merged;
        atB = merged;
        assert.ok(merged.siblings.length <= 2, `${merged.siblings.length} siblings after round ${i}`);
      }
    });

    it('leaves 1 sibling after a write with the context of a 2-sibling read', () => {
      const two = dvvSync(dvvUpdate(emptyDvv<string>(), emptyVv(), 'a', A), dvvUpdate(emptyDvv<string>(), emptyVv(), 'b', B));
      assert.equal(two.siblings.length, 2);
      const one = dvvUpdate(two, dvvContext(two), 'resolved', B);
      assert.deepEqual(dvvValues(one), ['resolved']);
    });
  });

  describe('dvvSync over 3 replicas with random update/sync schedules', () => {
    const schedule = dvvScheduleArb(3, 40);
    const pick = fc.tuple(fc.nat(), fc.nat(), fc.nat());

    it('is commutative, associative and idempotent', () => {
      fc.assert(
        fc.property(schedule, pick, (ops, [i, j, k]) => {
          const run = runDvvSchedule(ops, 3, (n) => `v${n}`);
          const s = run.snapshots;
          for (const [a, b, c] of [
            run.replicas as [Dvv<string>, Dvv<string>, Dvv<string>],
            [s[i % s.length]!, s[j % s.length]!, s[k % s.length]!],
          ]) {
            assertSame(dvvSync(a, b), dvvSync(b, a));
            assertSame(dvvSync(dvvSync(a, b), c), dvvSync(a, dvvSync(b, c)));
            assertSame(dvvSync(a, a), a);
            checkInvariants(dvvSync(a, b));
          }
        }),
        { numRuns: 300 },
      );
    });

    it('converges to exactly the writes no client context replaced', () => {
      fc.assert(
        fc.property(schedule, (ops) => {
          const run = runDvvSchedule(ops, 3, (n) => `v${n}`);
          run.replicas.forEach(checkInvariants);
          const [r0, r1, r2] = run.replicas as [Dvv<string>, Dvv<string>, Dvv<string>];
          const all = dvvSync(dvvSync(r0, r1), r2);
          assertSame(all, dvvSync(r2, dvvSync(r1, r0)));
          const expected = run.writes
            .filter((w) => !run.writes.some((o) => vvCovers(o.context, w.dot)))
            .map((w) => w.value)
            .sort();
          assert.deepEqual([...dvvValues(all)].sort(), expected);
        }),
        { numRuns: 300 },
      );
    });

    it('descends exactly when sync would change nothing', () => {
      fc.assert(
        fc.property(schedule, pick, (ops, [i, j]) => {
          const s = runDvvSchedule(ops, 3, (n) => `v${n}`).snapshots;
          const a = s[i % s.length]!;
          const b = s[j % s.length]!;
          assert.equal(dvvDescends(a, b), dvvEquals(dvvSync(a, b), a));
          assert.ok(dvvDescends(dvvSync(a, b), a) && dvvDescends(dvvSync(a, b), b));
          assert.ok(dvvDescends(a, emptyDvv()));
        }),
        { numRuns: 300 },
      );
    });
  });

  it('does not descend a copy whose sibling the other side replaced', () => {
    const d1 = dvvUpdate(emptyDvv<string>(), emptyVv(), 'old', A);
    const d2 = dvvUpdate(d1, dvvContext(d1), 'new', A);
    assert.equal(dvvDescends(d1, d2), false);
    assert.equal(dvvDescends(d2, d1), true);
  });
});
