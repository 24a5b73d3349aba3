/**
 * Membership with real processes (issue 3, points 1 and 2; Dynamo 4.8):
 * five nodes that know only node 1 find each other by gossip and agree on
 * one ring; a node killed with SIGKILL is suspected and then marked down by
 * every other node within the detector's bound, and alive again when it
 * returns; meanwhile the ring never changes (down nodes keep their
 * partitions: no ownership thrash). Prints the measured times.
 */
import { strict as assert } from 'node:assert';
import { gossiperConfig } from '../../src/membership/gossiper';
import { suspectBoundMs } from '../../src/membership/phi-accrual';
import { sleep, waitFor } from './process-cluster';
import { DETECTOR_SETTINGS, MemberCluster, median } from './membership-cluster';

const detector = gossiperConfig(DETECTOR_SETTINGS).detector;
const INTERVAL = DETECTOR_SETTINGS.gossipIntervalMs;
/** Worst case: the phi bound, the suspicion timeout, a tick of each and the 50 ms poll. */
const DOWN_BOUND_MS = Math.ceil(suspectBoundMs(detector, detector.phiSuspect) + detector.downAfterMs + 2 * INTERVAL + 100);

describe('cluster: gossip membership and failure detection (Dynamo 4.8, phi accrual)', function () {
  this.timeout(INTERVAL > 500 ? 120_000 : 60_000);
  let c: MemberCluster;
  let ringVersion = '';
  const owned = new Map<string, number>();

  before(async () => {
    c = await MemberCluster.create({ nodes: 5 });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed') c.dumpLogs();
    await c.stopAll();
    c.cleanup();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') c.dumpLogs(2000);
  });

  it('converges: five nodes seeded only with node 1 agree on members, ring version and ownership within seconds', async () => {
    c.start('n1', ['n1']);
    await waitFor('n1 up', async () => (await c.status('n1')).id === 'n1', 15_000);
    for (const id of ['n2', 'n3', 'n4', 'n5']) c.start(id, ['n1']);
    const t0 = Date.now();
    const conv = await c.waitConverged(c.ids(), 30_000);
    const ms = Date.now() - t0;
    console.log(`      5 nodes converged ${ms} ms after nodes 2-5 were spawned (process start included)`);
    ringVersion = conv.ringVersion;
    const all = await Promise.all(c.ids().map((id) => c.status(id)));
    for (const st of all) owned.set(st.id, st.partitions.owned);
    const total = all[0]!.partitions.total;
    assert.equal([...owned.values()].reduce((a, b) => a + b, 0), total, 'the owned counts of all nodes sum to Q');
    for (const [id, k] of owned) assert.ok(Math.abs(k - total / 5) <= 1, `${id} owns ${k} of ${total}`);
    assert.ok(ms < 20_000);
  });

  it('suspects, then marks down, a node killed with SIGKILL within the bound; alive again after restart; the ring never changes', async () => {
    const suspectMs: number[] = [];
    const downMs: number[] = [];
    const backMs: number[] = [];
    const falseAlarms: string[] = [];
    for (const victim of ['n3', 'n1', 'n5']) {
      const survivors = c.ids().filter((id) => id !== victim);
      const seen = new Map<string, { suspect?: number; down?: number }>();
      await c.kill(victim);
      const t0 = Date.now();
      const deadline = t0 + DOWN_BOUND_MS + 3000;
      while (Date.now() < deadline && !survivors.every((id) => seen.get(id)?.down !== undefined)) {
        const all = await Promise.all(survivors.map((id) => c.status(id)));
        const now = Date.now() - t0;
        for (const st of all) {
          assert.equal(st.ringVersion, ringVersion, `${st.id}'s ring changed while ${victim} was down`);
          assert.equal(st.partitions.owned, owned.get(st.id), `${st.id}'s ownership changed while ${victim} was down`);
          const state = st.members.find((m) => m.id === victim)!.state;
          const e = seen.get(st.id) ?? {};
          if (state === 'suspect' || state === 'down') e.suspect ??= now;
          if (state === 'down') e.down ??= now;
          seen.set(st.id, e);
          for (const m of st.members) if (m.id !== victim && m.state !== 'alive') falseAlarms.push(`${st.id} saw ${m.id} ${m.state}`);
        }
        await sleep(50);
      }
      for (const id of survivors) {
        const e = seen.get(id);
        assert.ok(e?.suspect !== undefined && e.down !== undefined, `${id} never marked ${victim} down (${JSON.stringify(e)})`);
        assert.ok(e.down! <= DOWN_BOUND_MS, `${id} marked ${victim} down after ${e.down} ms (bound ${DOWN_BOUND_MS})`);
        suspectMs.push(e.suspect!);
        downMs.push(e.down!);
      }
      // Writes still succeed with the node down (sloppy quorum routes around it).
      const res = await fetch(c.url(survivors[0]!, `/kv/while-${victim}-down`), { method: 'PUT', body: 'x' });
      assert.equal(res.status, 204);
      c.start(victim, ['n1']);
      const t1 = Date.now();
      await c.waitConverged(c.ids(), 20_000);
      backMs.push(Date.now() - t1);
      const st = await c.status(victim);
      assert.equal(st.ringVersion, ringVersion, `${victim} came back to the same ring`);
    }
    const fmt = (xs: number[]): string => `median ${median(xs)} ms, max ${Math.max(...xs)} ms`;
    console.log(`      detection over ${suspectMs.length} (observer, kill) pairs with ${INTERVAL} ms gossip: ` +
      `suspect ${fmt(suspectMs)}; down ${fmt(downMs)} (bound ${DOWN_BOUND_MS} ms)`);
    console.log(`      restarted node alive everywhere again (process start included): ${fmt(backMs)}`);
    if (falseAlarms.length) console.log(`      live nodes briefly suspected under this machine's load: ${falseAlarms.length} observations`);
  });
});
