/**
 * Hinted handoff (Dynamo 4.6) of session hints. A hint holds what one write
 * shipped (a session write ships only its delta), so its own expiry is not
 * the session's: a touch that reached the owners meanwhile can extend the
 * session past it. Found by the simulator (seed 36): a degraded session
 * write whose only copies were its coordinator's hints was lost when the
 * hints were dropped unsent as "expired" after a touch had extended the
 * session on every owner.
 */
import { strict as assert } from 'node:assert';
import { sessionView } from '../../src/crdt/session';
import { partitionOf } from '../../src/ring/partitioner';
import { preferenceList } from '../../src/ring/preference-list';
import { ReplicationCluster } from './replication-harness';

describe('replication: hinted handoff of session hints (Dynamo 4.6)', () => {
  function cutOffOutsider(key: string): { c: ReplicationCluster; prefs: string[]; outsider: string } {
    const ids = ['a', 'b', 'c', 'd'];
    const c = new ReplicationCluster(ids);
    const prefs = preferenceList(c.ring, partitionOf(key, c.ring.q), 3).map(String);
    const outsider = ids.find((id) => !prefs.includes(id))!;
    c.hub.partition([[c.node(outsider).id], prefs.map((p) => c.node(p).id)]);
    return { c, prefs, outsider };
  }

  it('delivers a hint past its own expiry to owners whose session a later touch extended', async () => {
    const key = 'sess:touched';
    const { c, prefs, outsider } = cutOffOutsider(key);
    const o = c.node(outsider);
    const t0 = c.clock.nowMs();
    // Degraded: no primary reachable, so the write's only copies are the hints the outsider keeps.
    const w = await o.coordinator.run(key, { op: 'session-write', set: { cart: 'full' }, del: [], expiresAtMs: t0 + 1_000 });
    assert.deepEqual([w.got, w.wanted], [1, 2]);
    assert.equal(o.replica.hintCount(), 3, 'one hint per unreachable primary');
    // The owners never saw the write, but a touch reaches them and extends the session.
    const touch = await c.node(prefs[0]!).coordinator.run(key, { op: 'session-touch', expiresAtMs: t0 + 60_000 });
    assert.equal(touch.got, 2);
    // The write's own expiry passes; the session's does not.
    c.clock.advance(5_000);
    c.hub.heal();
    const results = await o.handoff.tick();
    assert.equal(results.reduce((n, r) => n + r.delivered, 0), 3);
    assert.equal(o.replica.hintCount(), 0);
    for (const p of prefs) {
      const held = c.node(p).replica.own(key);
      assert.ok(held && held.kind === 'session', `${p} holds the session`);
      assert.deepEqual(sessionView(held.s), { cart: 'full' }, `${p} holds the acknowledged field`);
      assert.equal(held.s.expiresAtMs, t0 + 60_000, `${p} keeps the touched expiry`);
    }
  });

  it('sends a hint whose session has expired at the owner too, and the owner refuses to store it', async () => {
    const key = 'sess:dead';
    const { c, prefs, outsider } = cutOffOutsider(key);
    const o = c.node(outsider);
    const t0 = c.clock.nowMs();
    await o.coordinator.run(key, { op: 'session-write', set: { cart: 'full' }, del: [], expiresAtMs: t0 + 1_000 });
    c.clock.advance(5_000);
    c.hub.heal();
    const results = await o.handoff.tick();
    assert.equal(results.reduce((n, r) => n + r.delivered, 0), 3, 'acknowledged as stored: nothing to retry');
    assert.equal(o.replica.hintCount(), 0);
    for (const p of prefs) {
      assert.equal(c.node(p).replica.own(key), undefined, `${p} stored no expired session`);
      assert.equal(c.node(p).replica.stats.refusedExpired, 1);
    }
  });
});
