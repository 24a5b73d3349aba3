/**
 * The simulator's reap runs (issue 14 part 2; simulation.ts): tombstones are
 * reaped a short grace after every primary confirmed them, under the seed's
 * faults plus a scripted outage of one replica for ten graces while the hot
 * keys are deleted. No deleted value is held again or read back after a
 * reap, and the naive reaper (reap-unconfirmed: no confirmation, no
 * memory of reaped contexts) is caught by exactly that invariant.
 */
import { strict as assert } from 'node:assert';
import { runSimulation, type SimResult } from './simulation';
import { describeViolations, TEST_EVENTS, TEST_SEEDS, testSeeds } from './sim-runs';

const runs = new Map<number, Promise<SimResult>>();
const reapRun = (seed: number): Promise<SimResult> => {
  let r = runs.get(seed);
  if (!r) runs.set(seed, (r = runSimulation({ seed, events: TEST_EVENTS, reap: true })));
  return r;
};

describe('sim/reap: tombstones reaped under faults, deleted values stay deleted', function () {
  this.timeout(120_000);

  it(`finds no violation in reap runs of seeds 1..${TEST_SEEDS}, and reaps every tombstone`, async () => {
    let reaped = 0;
    for (const seed of testSeeds()) {
      const r = await reapRun(seed);
      assert.equal(r.violations.length, 0, `${describeViolations(r)} (add --reap)`);
      assert.equal(r.tombstonesLeft, 0, `seed ${seed}: tombstones left`);
      reaped += r.tombstonesReaped;
    }
    assert.ok(reaped > 50, `tombstones were reaped (${reaped})`);
  });

  it('replays a reap run byte for byte', async () => {
    const a = await reapRun(3);
    const b = await runSimulation({ seed: 3, events: TEST_EVENTS, reap: true });
    assert.equal(b.traceHash, a.traceHash);
  });

  it('catches reaping without confirmation through the deleted-value invariant', async () => {
    for (const seed of testSeeds()) {
      const r = await runSimulation({ seed, events: TEST_EVENTS, mutation: 'reap-unconfirmed' });
      if (r.violations.some((v) => v.kind === 'deleted-value-resurrected' || v.kind === 'deleted-value-read-back')) return;
    }
    assert.fail(`no deleted value came back in seeds 1..${TEST_SEEDS} with mutation reap-unconfirmed`);
  });
});
