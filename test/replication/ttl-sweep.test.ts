/**
 * TTL sweep planning and the per-partition sweep window (DESIGN.md Data
 * model: session; docs/sessions-ttl.md). fast-check prints the seed of any
 * failing run; replay it with `{ seed, path }` in fc.assert.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asPartitionId } from '../../src/core/ids';
import { cartAddDelta } from '../../src/crdt/cart';
import { emptySession, sessionDestroy, sessionSweepableAtMs, sessionTouch, sessionWrite, SESSION_TOMBSTONE_GRACE_MS, type SessionState } from '../../src/crdt/session';
import type { StoredObject } from '../../src/crdt/stored-object';
import { SweepWindow } from '../../src/replication/sweep-window';
import { planSweep, sweepHorizonMs, sweepReason } from '../../src/replication/ttl-sweep';

const NOW = 1_700_000_000_000;

function session(expiresAtMs: number, destroyed = false): StoredObject {
  let s: SessionState = sessionWrite(emptySession(), { set: { user: 'u' }, expiresAtMs }, 1, 'n1', NOW - 5000);
  if (destroyed) s = sessionDestroy(s, Math.min(expiresAtMs, NOW - 4000));
  return { kind: 'session', s };
}

const cart: StoredObject = { kind: 'cart', c: cartAddDelta('sku', 1, 'n1~0', 1) };

describe('replication/ttl-sweep (docs/sessions-ttl.md: sweeps)', () => {
  it('removes a session whose expiry has passed, as expired', () => {
    const plan = planSweep([{ key: 'sess:a', obj: session(NOW - 1) }, { key: 'sess:b', obj: session(NOW) }], NOW);
    assert.deepEqual(plan.remove, [
      { key: 'sess:a', reason: 'expired', expiresAtMs: NOW - 1 },
      { key: 'sess:b', reason: 'expired', expiresAtMs: NOW },
    ]);
    assert.deepEqual(plan.keep, []);
  });

  it('removes a destroyed tombstone only once its expiry and the tombstone grace have passed', () => {
    const tomb = session(NOW + 10_000, true);
    assert.equal(tomb.kind === 'session' && tomb.s.destroyed, true);
    assert.deepEqual(planSweep([{ key: 'k', obj: tomb }], NOW).remove, []);
    assert.deepEqual(planSweep([{ key: 'k', obj: tomb }], NOW + 10_000).remove, [], 'kept through the grace');
    const after = NOW + 10_000 + SESSION_TOMBSTONE_GRACE_MS;
    assert.deepEqual(planSweep([{ key: 'k', obj: tomb }], after - 1).remove, []);
    assert.deepEqual(planSweep([{ key: 'k', obj: tomb }], after).remove, [{ key: 'k', reason: 'destroyed', expiresAtMs: after }]);
  });

  it('never removes an unexpired session, even one the index offered (re-written meanwhile)', () => {
    const plan = planSweep([{ key: 'k', obj: session(NOW + 1) }], NOW);
    assert.deepEqual(plan.remove, []);
    assert.deepEqual(plan.keep, ['k']);
  });

  it('keeps other kinds and skips keys already gone or offered twice', () => {
    const plan = planSweep([
      { key: 'cart/x', obj: cart },
      { key: 'gone', obj: undefined },
      { key: 'dup', obj: session(NOW - 1) },
      { key: 'dup', obj: session(NOW - 1) },
    ], NOW);
    assert.deepEqual(plan.remove, [{ key: 'dup', reason: 'expired', expiresAtMs: NOW - 1 }]);
    assert.deepEqual(plan.keep, ['cart/x']);
  });

  it('removes exactly the sessions whose expiry (plus the tombstone grace for destroyed ones) has passed (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ exp: fc.integer({ min: NOW - 100_000, max: NOW + 100_000 }), destroyed: fc.boolean(), touch: fc.nat(50_000) })),
      fc.integer({ min: NOW - 100_000, max: NOW + 100_000 }),
      (specs, now) => {
        const cands = specs.map((sp, i) => {
          let s = sessionWrite(emptySession(), { set: { i }, expiresAtMs: sp.exp }, 1, 'n', NOW - 200_000);
          s = sessionTouch(s, sp.exp, NOW - 200_000 + sp.touch);
          if (sp.destroyed) s = sessionDestroy(s, NOW - 200_000);
          return { key: `k${i}`, obj: { kind: 'session', s } as StoredObject };
        });
        const plan = planSweep(cands, now);
        const removed = new Set(plan.remove.map((r) => r.key));
        cands.forEach((c, i) => {
          const s = (c.obj as Extract<StoredObject, { kind: 'session' }>).s;
          assert.equal(removed.has(c.key), sessionSweepableAtMs(s) <= now, `k${i}`);
          if (removed.has(c.key)) assert.equal(sweepReason(c.obj, now), s.destroyed ? 'destroyed' : 'expired');
        });
        assert.equal(plan.remove.length + plan.keep.length, cands.length);
      },
    ));
  });

  it('sweeps up to the end of the last whole index bucket', () => {
    assert.equal(sweepHorizonMs(10_500, 1000), 9_999);
    assert.equal(sweepHorizonMs(10_000, 1000), 9_999);
    assert.equal(sweepHorizonMs(10_999, 1000), 9_999);
    assert.equal(sweepHorizonMs(11_000, 1000), 10_999);
  });
});

describe('replication/sweep-window (expired and swept per minute, per partition)', () => {
  const p = asPartitionId;

  it('counts expired sessions and every swept record, per partition', () => {
    const w = new SweepWindow();
    w.record(p(1), 'expired', NOW);
    w.record(p(1), 'destroyed', NOW);
    w.record(p(2), 'expired', NOW, 3);
    assert.deepEqual(w.totals(NOW), { expired: 4, swept: 5 });
    assert.deepEqual(w.totals(NOW, [p(1)]), { expired: 1, swept: 2 });
    assert.deepEqual(w.totals(NOW, [p(2), p(7)]), { expired: 3, swept: 3 });
    assert.deepEqual(w.totals(NOW, []), { expired: 0, swept: 0 });
  });

  it('forgets removals older than the window (a sliding minute of 1 s slots)', () => {
    const w = new SweepWindow(60_000, 1000);
    const t0 = Math.floor(NOW / 1000) * 1000;
    w.record(p(0), 'expired', t0);
    w.record(p(0), 'expired', t0 + 30_000);
    assert.equal(w.totals(t0 + 59_999).expired, 2);
    assert.equal(w.totals(t0 + 60_000).expired, 1);
    assert.equal(w.totals(t0 + 90_000).expired, 0);
    // And it does not count the future relative to the query.
    w.record(p(0), 'expired', t0 + 120_000);
    assert.equal(w.totals(t0 + 119_000).expired, 0);
  });
});
