import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/clock';
import { BadRequestError } from '../../src/core/errors';
import { Hlc, hlcLogical, hlcPhysicalMs, hlcStamp } from '../../src/clock/hlc';

const T0 = 1_700_000_000_000;

describe('clock/hlc (Kulkarni et al. 2014)', () => {
  it('follows the physical clock with logical 0 when it moves forward', () => {
    const clock = new ManualClock(T0);
    const hlc = new Hlc(clock);
    assert.equal(hlc.now(), hlcStamp(T0));
    clock.advance(5);
    const s = hlc.now();
    assert.equal(hlcPhysicalMs(s), T0 + 5);
    assert.equal(hlcLogical(s), 0);
  });

  it('is strictly increasing when the clock stands still or goes back', () => {
    const clock = new ManualClock(T0);
    const hlc = new Hlc(clock);
    const a = hlc.now();
    const b = hlc.now();
    clock.set(T0 - 10_000);
    const c = hlc.now();
    assert.ok(a < b && b < c);
    assert.equal(hlcPhysicalMs(c), T0);
    assert.equal(hlcLogical(c), 2);
  });

  it('advances the physical part by 1 ms when the logical part overflows', () => {
    const hlc = new Hlc(new ManualClock(T0));
    let s = 0;
    for (let i = 0; i < 1000; i++) s = hlc.now();
    assert.equal(hlcPhysicalMs(s), T0);
    assert.equal(hlcLogical(s), 999);
    s = hlc.now();
    assert.equal(hlcPhysicalMs(s), T0 + 1);
    assert.equal(hlcLogical(s), 0);
  });

  it('orders every later stamp after an observed remote one (receive rule)', () => {
    const clock = new ManualClock(T0);
    const hlc = new Hlc(clock);
    const remote = hlcStamp(T0 + 5_000, 7);
    hlc.observe(remote);
    const s = hlc.now();
    assert.ok(s > remote);
    assert.equal(hlcPhysicalMs(s), T0 + 5_000);
    // Once the physical clock passes the remote one, stamps follow it again.
    clock.advance(6_000);
    assert.equal(hlc.now(), hlcStamp(T0 + 6_000));
  });

  it('still ticks when it observes an older stamp', () => {
    const hlc = new Hlc(new ManualClock(T0));
    const a = hlc.now();
    hlc.observe(hlcStamp(T0 - 1_000));
    assert.ok(hlc.now() > a);
  });

  it('refuses a remote stamp more than maxDriftMs ahead and keeps its own clock', () => {
    const clock = new ManualClock(T0);
    const hlc = new Hlc(clock);
    hlc.observe(hlcStamp(T0 + 60_000, 5)); // exactly at the limit: accepted
    assert.throws(() => hlc.observe(hlcStamp(T0 + 60_001)), (e: unknown) => e instanceof BadRequestError && /60001 ms ahead/.test(e.message));
    assert.equal(hlcPhysicalMs(hlc.now()), T0 + 60_000);

    const strict = new Hlc(clock, { maxDriftMs: 100 });
    assert.throws(() => strict.observe(hlcStamp(T0 + 101)), BadRequestError);
    assert.equal(strict.now(), hlcStamp(T0));
  });

  it('refuses malformed stamps', () => {
    const hlc = new Hlc(new ManualClock(T0));
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      assert.throws(() => hlc.observe(bad), BadRequestError, String(bad));
    }
  });

  it('stays strictly increasing and above every observed stamp under random clocks and messages', () => {
    const step = fc.oneof(
      fc.record({ t: fc.constant('tick' as const), dMs: fc.integer({ min: -5_000, max: 5_000 }) }),
      fc.record({ t: fc.constant('now' as const), n: fc.integer({ min: 1, max: 1500 }) }),
      fc.record({ t: fc.constant('observe' as const), aheadMs: fc.integer({ min: -10_000, max: 60_000 }), logical: fc.nat(999) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const clock = new ManualClock(T0);
        const hlc = new Hlc(clock);
        let last = 0;
        let observed = 0;
        for (const st of steps) {
          if (st.t === 'tick') clock.advance(st.dMs);
          else if (st.t === 'observe') {
            const remote = hlcStamp(clock.nowMs() + st.aheadMs, st.logical);
            hlc.observe(remote);
            observed = Math.max(observed, remote);
          } else {
            for (let i = 0; i < st.n; i++) {
              const s = hlc.now();
              assert.ok(s > last && s > observed);
              assert.ok(hlcPhysicalMs(s) >= clock.nowMs());
              last = s;
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
