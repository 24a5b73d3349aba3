/**
 * The deterministic simulator (issue 4) on the bounded seed set `npm test`
 * runs: the real replication code under seeded faults breaks no invariant,
 * every run converges after heal, the faults really happen, and a seed
 * replays byte for byte.
 */
import { strict as assert } from 'node:assert';
import { runSimulation, type SimResult } from './simulation';
import { summarize } from './sim-summary';
import { baselineRun, describeViolations, TEST_EVENTS, TEST_SEEDS, testSeeds } from './sim-runs';

describe('sim/simulation', function () {
  this.timeout(120_000);

  it('replays a seed byte for byte: same seed, same trace hash', async () => {
    const a = await runSimulation({ seed: 7, events: 120 });
    const other = await runSimulation({ seed: 8, events: 120 });
    const b = await runSimulation({ seed: 7, events: 120 });
    assert.equal(b.traceHash, a.traceHash, 'seed 7 ran differently the second time (replay: npm run sim -- --seed 7 --events 120 --verbose)');
    assert.equal(b.traceLines, a.traceLines);
    assert.deepEqual(
      { events: b.events, messages: b.messages, acked: b.ackedOps, keys: b.keysPerNode },
      { events: a.events, messages: a.messages, acked: a.ackedOps, keys: a.keysPerNode },
    );
    assert.notEqual(other.traceHash, a.traceHash, 'another seed gives another run');
    assert.ok(a.traceLines > 500, `a run leaves a real trace (${a.traceLines} lines)`);
  });

  it('replays a run with faults left out deterministically too (what --drop-faults and the shrinker rely on)', async () => {
    const dropped = new Set([0, 2, 3]);
    const a = await runSimulation({ seed: 11, events: 120, disabledFaults: dropped });
    const b = await runSimulation({ seed: 11, events: 120, disabledFaults: dropped });
    const full = await runSimulation({ seed: 11, events: 120 });
    assert.equal(a.traceHash, b.traceHash);
    assert.notEqual(a.traceHash, full.traceHash);
  });

  describe(`seeds 1..${TEST_SEEDS}, ${TEST_EVENTS} events each`, () => {
    const results: SimResult[] = [];
    for (const seed of testSeeds()) {
      it(`seed ${seed}: no invariant is broken`, async () => {
        const r = await baselineRun(seed);
        results.push(r);
        assert.equal(r.violations.length, 0, describeViolations(r));
        assert.notEqual(r.convergeMs, null, `seed ${seed} never converged after heal`);
      });
    }

    it('ran under real faults and load, and reports the figures', () => {
      assert.equal(results.length, TEST_SEEDS);
      const s = summarize(results);
      const crashes = results.reduce((n, r) => n + r.crashes, 0);
      const kinds = new Set(results.flatMap((r) => Object.keys(r.faultCounts)));
      assert.ok(crashes >= TEST_SEEDS, `nodes crashed (${crashes} crashes)`);
      for (const k of ['partition', 'cut-link', 'cut-in', 'crash', 'power-loss', 'drop-rate', 'skew']) assert.ok(kinds.has(k), `fault ${k} happened`);
      assert.ok(s.ackedShare > 0.2 && s.ackedShare < 0.98, `some but not all operations were acknowledged (${s.ackedShare})`);
      assert.ok(s.msgsPerOp > 1, `messages per operation ${s.msgsPerOp}`);
      assert.ok(s.loadMaxOverMean.mean >= 1, 'load balance is max/mean');
      // Membership changes under load (membership.ts): they happened, and their keys moved.
      assert.ok(s.joins >= 2 && s.leaves >= 2, `joins (${s.joins}) and leaves (${s.leaves}) happened`);
      assert.ok(s.keysMovedOnJoin.mean > 0 && s.keysMovedOnJoin.max < 1, `a join moves some keys, never all (${s.keysMovedOnJoin.mean})`);
      // Anti-entropy ran in every quiet period and left the fallback sweep nothing to repair.
      assert.ok(results.every((r) => r.aeExchanges > 0), 'anti-entropy exchanged in every run');
      assert.equal(s.sweepRepairs, 0, `the fallback sweep repaired nothing after anti-entropy (runs: ${results.filter((r) => r.sweepRepairs > 0).map((r) => r.seed).join(',')})`);
      console.log(
        `      ${s.seeds} seeds, ${s.events} events, ${s.clientOps} client ops (${(100 * s.ackedShare).toFixed(0)}% acknowledged), ` +
          `${s.msgsPerOp.toFixed(2)} msgs/op, keys max/mean ${s.loadMaxOverMean.mean.toFixed(2)}, ` +
          `converged after heal in p50 ${s.convergeMs.p50.toFixed(0)} / max ${s.convergeMs.max.toFixed(0)} virtual ms`,
      );
      console.log(
        `      anti-entropy repaired ${s.aeRepairs} keys, the sweep ${s.sweepRepairs}; ${s.joins} joins, ${s.leaves} leaves, ` +
          `keys moved on join ${(100 * s.keysMovedOnJoin.mean).toFixed(1)}% (mean)`,
      );
    });

    it('replays a run with a join and a leave byte for byte', async () => {
      const r = results.find((x) => x.joins > 0 && x.leaves > 0);
      assert.ok(r, 'some seed joined and left');
      const again = await runSimulation({ seed: r.seed, events: TEST_EVENTS });
      assert.equal(again.traceHash, r.traceHash, `seed ${r.seed} ran differently the second time`);
      assert.deepEqual(again.joinFigures, r.joinFigures);
    });
  });
});
