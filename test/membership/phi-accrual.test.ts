/**
 * The phi accrual detector (Hayashibara et al. 2004), in Akka's normal-
 * distribution form: phi grows with silence, adapts to the observed
 * inter-arrival times, and is bounded by the sample clamp.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { ArrivalWindow, deviationsFor, phiOf, suspectBoundMs, type PhiConfig } from '../../src/membership/phi-accrual';

const cfg: PhiConfig = { windowSize: 100, firstIntervalMs: 1000, minStdDevMs: 100, pauseMs: 1000, sampleMaxMs: 4000 };

describe('membership/phi-accrual (Hayashibara et al. 2004, Akka variant)', () => {
  it('is near zero right after a heartbeat and grows with silence', () => {
    const w = new ArrivalWindow(cfg);
    for (let i = 0; i < 20; i++) w.add(1000);
    assert.ok(w.phi(0) < 0.01, `phi(0) = ${w.phi(0)}`);
    assert.ok(w.phi(1000) < 1, `phi(1 s) = ${w.phi(1000)}`);
    assert.ok(w.phi(2500) > 1, `phi(2.5 s) = ${w.phi(2500)}`);
    assert.ok(w.phi(4000) > 8, `phi(4 s) = ${w.phi(4000)}`);
  });

  it('never falls as the silence grows (any window)', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 150 }),
      fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 0, max: 60_000 }),
      (samples, a, b) => {
        const w = new ArrivalWindow(cfg);
        for (const s of samples) w.add(s);
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        assert.ok(w.phi(lo) <= w.phi(hi) + 1e-9, `phi(${lo}) = ${w.phi(lo)} > phi(${hi}) = ${w.phi(hi)}`);
      },
    ), { numRuns: 300 });
  });

  it('tolerates longer silences when heartbeats have been irregular', () => {
    const steady = new ArrivalWindow(cfg);
    const jittery = new ArrivalWindow(cfg);
    for (let i = 0; i < 50; i++) {
      steady.add(1000);
      jittery.add(i % 2 ? 400 : 1600);
    }
    assert.ok(jittery.silenceBeforeMs(8) > steady.silenceBeforeMs(8) + 1000,
      `jittery ${jittery.silenceBeforeMs(8)} vs steady ${steady.silenceBeforeMs(8)}`);
  });

  it('reaches the threshold exactly at silenceBeforeMs', () => {
    const w = new ArrivalWindow(cfg);
    for (let i = 0; i < 30; i++) w.add(800 + (i % 5) * 100);
    const t = w.silenceBeforeMs(8);
    assert.ok(w.phi(t - 5) < 8 && w.phi(t + 5) >= 8, `phi around ${t}: ${w.phi(t - 5)}, ${w.phi(t + 5)}`);
  });

  it('reaches the threshold by suspectBoundMs whatever the window holds', () => {
    const bound = suspectBoundMs(cfg, 8);
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 300 }), (samples) => {
      const w = new ArrivalWindow(cfg);
      for (const s of samples) w.add(s);
      assert.ok(w.phi(bound) >= 8 - 1e-6, `phi(${bound}) = ${w.phi(bound)}`);
    }), { numRuns: 300 });
  });

  it('keeps only windowSize samples', () => {
    const w = new ArrivalWindow({ ...cfg, windowSize: 10 });
    for (let i = 0; i < 10; i++) w.add(3000);
    for (let i = 0; i < 10; i++) w.add(500);
    assert.equal(w.size(), 10);
    assert.ok(Math.abs(w.meanMs() - 500) < 1e-6, `mean ${w.meanMs()}`);
    assert.ok(w.stdDevMs() < 1e-3);
  });

  it('clamps samples to sampleMaxMs', () => {
    const w = new ArrivalWindow({ ...cfg, windowSize: 2 });
    w.add(1e9);
    w.add(1e9);
    assert.equal(w.meanMs(), cfg.sampleMaxMs);
  });

  it('deviationsFor inverts phiOf', () => {
    for (const phi of [1, 3, 8, 12]) {
      const y = deviationsFor(phi);
      assert.ok(Math.abs(phiOf(y, 0, 1) - phi) < 1e-6, `phi ${phi}: y ${y}`);
    }
  });
});
