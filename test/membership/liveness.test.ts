/**
 * Local failure detection (Dynamo 4.8.3) as a state machine: alive ->
 * suspect (phi) -> down (suspicion timeout), revived by any newer heartbeat.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asNodeId } from '../../src/core/ids';
import { Prng } from '../../src/core/prng';
import { gossiperConfig } from '../../src/membership/gossiper';
import { LivenessTracker, type DetectorConfig } from '../../src/membership/liveness';
import { suspectBoundMs } from '../../src/membership/phi-accrual';

const A = asNodeId('a');
const B = asNodeId('b');
const T0 = 1_700_000_000_000;
const cfg: DetectorConfig = gossiperConfig({
  gossipIntervalMs: 1000, gossipFanout: 3, phiSuspect: 8, heartbeatPauseMs: 1000, downAfterMs: 3000,
}).detector;

/** Feed B's heartbeats every `every` ms (ticking every 100 ms) until `until`; returns the next version. */
function feed(t: LivenessTracker, from: number, until: number, every: (i: number) => number, gen = 1): number {
  let v = 1;
  let next = from;
  for (let now = from; now <= until; now += 100) {
    if (now >= next) {
      t.heard(B, { generation: gen, version: v++ }, now);
      next = now + every(v);
    }
    t.tick(now);
  }
  return v;
}

describe('membership/liveness (Dynamo 4.8.3 local failure detection; phi accrual + SWIM suspicion timeout)', () => {
  it('holds a member never heard from down and itself alive', () => {
    const t = new LivenessTracker(A, 1, cfg, T0);
    assert.equal(t.stateOf(A), 'alive');
    assert.equal(t.stateOf(B), 'down');
    assert.deepEqual(t.tick(T0 + 100_000), []);
  });

  it('makes a member alive on its first heartbeat', () => {
    const t = new LivenessTracker(A, 1, cfg, T0);
    const r = t.heard(B, { generation: 5, version: 1 }, T0);
    assert.equal(r.fresh, true);
    assert.deepEqual([r.change?.from, r.change?.to], ['down', 'alive']);
    assert.equal(t.stateOf(B), 'alive');
  });

  it('ignores heartbeats that are not newer than the last one', () => {
    const t = new LivenessTracker(A, 1, cfg, T0);
    t.heard(B, { generation: 5, version: 7 }, T0);
    assert.equal(t.heard(B, { generation: 5, version: 7 }, T0 + 10).fresh, false);
    assert.equal(t.heard(B, { generation: 5, version: 3 }, T0 + 20).fresh, false);
    assert.equal(t.heard(B, { generation: 4, version: 99 }, T0 + 30).fresh, false);
    assert.equal(t.heard(B, { generation: 5, version: 8 }, T0 + 40).fresh, true);
  });

  it('suspects a silent member when phi passes the threshold, then marks it down after downAfterMs', () => {
    const t = new LivenessTracker(A, 1, cfg, T0);
    feed(t, T0, T0 + 30_000, () => 1000);
    const lastHeard = T0 + 30_000;
    assert.equal(t.stateOf(B), 'alive');
    const expectSuspect = t.detail(B, lastHeard).suspectAfterMs;
    let suspectAt = 0;
    let downAt = 0;
    for (let now = lastHeard; now <= lastHeard + 60_000 && !downAt; now += 100) {
      for (const c of t.tick(now)) {
        if (c.to === 'suspect') suspectAt = now;
        if (c.to === 'down') downAt = now;
      }
    }
    assert.ok(suspectAt > 0 && downAt > 0);
    assert.ok(Math.abs(suspectAt - lastHeard - expectSuspect) <= 100, `suspect after ${suspectAt - lastHeard} ms, expected ${expectSuspect}`);
    // Regular 1 s heartbeats, 1 s pause, 100 ms deviation floor: suspect after ~2.5 s of silence.
    assert.ok(suspectAt - lastHeard >= 2000 && suspectAt - lastHeard <= 3000, `suspect after ${suspectAt - lastHeard} ms`);
    assert.ok(downAt - suspectAt >= cfg.downAfterMs && downAt - suspectAt <= cfg.downAfterMs + 100);
  });

  it('revives a suspect or down member on a newer heartbeat, without learning the gap', () => {
    const t = new LivenessTracker(A, 1, cfg, T0);
    const v = feed(t, T0, T0 + 10_000, () => 1000);
    const meanBefore = t.detail(B, T0 + 10_000).meanIntervalMs;
    for (let now = T0 + 10_000; now <= T0 + 30_000; now += 100) t.tick(now);
    assert.equal(t.stateOf(B), 'down');
    const r = t.heard(B, { generation: 1, version: v }, T0 + 30_000);
    assert.deepEqual([r.change?.from, r.change?.to], ['down', 'alive']);
    assert.equal(t.detail(B, T0 + 30_000).meanIntervalMs, meanBefore, 'the 20 s gap is not a sample');
  });

  it('takes a new generation as a restart: it outranks any old version and starts a fresh history', () => {
    const t = new LivenessTracker(A, 1, cfg, T0);
    feed(t, T0, T0 + 10_000, (i) => (i % 2 ? 300 : 1500));
    assert.notEqual(t.detail(B, T0 + 10_000).meanIntervalMs, 1000);
    assert.equal(t.heard(B, { generation: 2, version: 0 }, T0 + 10_500).fresh, true);
    assert.equal(t.detail(B, T0 + 10_500).meanIntervalMs, 1000, 'history is back to the bootstrap guess');
    assert.equal(t.heard(B, { generation: 1, version: 1_000_000 }, T0 + 10_600).fresh, false);
  });

  it('judges nobody across a local pause (this process stalled)', () => {
    const t = new LivenessTracker(A, 1, cfg, T0);
    feed(t, T0, T0 + 10_000, () => 1000);
    assert.deepEqual(t.tick(T0 + 40_000), [], 'a 30 s stall is not 30 s of silence from B');
    assert.equal(t.stateOf(B), 'alive');
    const changes = [];
    for (let now = T0 + 40_000; now <= T0 + 50_000; now += 100) changes.push(...t.tick(now));
    assert.ok(changes.some((c) => c.to === 'suspect'), 'real silence after the pause is still noticed');
  });

  it('jumps past a newer heartbeat of its own (a previous life with a clock ahead)', () => {
    const t = new LivenessTracker(A, 100, cfg, T0);
    t.beat();
    t.heard(A, { generation: 500, version: 3 }, T0);
    assert.equal(t.selfHeartbeat().generation, 501);
    assert.deepEqual(t.heartbeats()[0], [A, 501, 0]);
  });

  it('never suspects a member whose heartbeats are late by less than the acceptable pause', () => {
    fc.assert(fc.property(fc.integer(), (seed) => {
      const rnd = new Prng(seed);
      const t = new LivenessTracker(A, 1, cfg, T0);
      let v = 1;
      let next = T0;
      for (let now = T0; now <= T0 + 60_000; now += 50) {
        if (now >= next) {
          t.heard(B, { generation: 1, version: v++ }, now);
          // Gossip relays make arrivals jitter between 0.5 and 1.5 intervals, plus the odd late one.
          next = now + 500 + rnd.int(1000) + (rnd.int(20) === 0 ? rnd.int(cfg.pauseMs) : 0);
        }
        for (const c of t.tick(now)) assert.fail(`seed ${seed}: ${c.to} at +${now - T0} ms after ${Math.round(c.silentMs)} ms of silence`);
      }
    }), { numRuns: 40 });
  });

  it('marks a silent member down within suspectBoundMs + downAfterMs + one tick, whatever its history', () => {
    const bound = suspectBoundMs(cfg, cfg.phiSuspect) + cfg.downAfterMs + 100;
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 60 }), (gaps) => {
      const t = new LivenessTracker(A, 1, cfg, T0);
      let now = T0;
      let v = 1;
      for (const g of gaps) {
        t.heard(B, { generation: 1, version: v++ }, now);
        // Tick often enough that no tick gap looks like a local pause.
        for (let s = 0; s < g; s += 100) t.tick(now + s);
        now += g;
      }
      t.heard(B, { generation: 1, version: v++ }, now);
      const last = now;
      while (t.stateOf(B) !== 'down') {
        now += 100;
        t.tick(now);
        assert.ok(now - last <= bound, `still ${t.stateOf(B)} after ${now - last} ms (bound ${bound})`);
      }
    }), { numRuns: 100 });
  });
});
