/**
 * Issue 4's acceptance: deliberately injected bugs are caught by the
 * simulator within the bounded seed set, while the unmutated code passes the
 * same seeds (sim-runs.ts). Each mutation breaks one promise of the protocol
 * from outside src/ (see mutations.ts).
 */
import { strict as assert } from 'node:assert';
import { MUTATION_DESCRIPTIONS, type MutationName } from './mutations';
import { runSimulation } from './simulation';
import { baselineRun, describeViolations, TEST_EVENTS, TEST_SEEDS, testSeeds } from './sim-runs';

const CAUGHT: MutationName[] = [
  'ack-before-commit', 'drop-hints-on-restart', 'ack-without-deliver', 'no-read-repair', 'read-before-write', 'reap-unconfirmed',
];

describe('sim/mutations', function () {
  this.timeout(120_000);

  it(`finds no violation without a mutation in seeds 1..${TEST_SEEDS}`, async () => {
    for (const seed of testSeeds()) {
      const r = await baselineRun(seed);
      assert.equal(r.violations.length, 0, describeViolations(r));
    }
  });

  it(`converges without read repair when anti-entropy runs, seeds 1..${TEST_SEEDS} (the quiet period needs no sweep)`, async () => {
    let aeRepairs = 0;
    for (const seed of testSeeds()) {
      const r = await runSimulation({ seed, events: TEST_EVENTS, mutation: 'no-read-repair' });
      assert.equal(r.violations.length, 0, describeViolations(r));
      assert.equal(r.sweepRepairs, 0, `seed ${seed}: the fallback sweep still repaired ${r.sweepRepairs} keys after anti-entropy`);
      aeRepairs += r.aeRepairs;
    }
    assert.ok(aeRepairs > 0, 'anti-entropy repaired keys that read repair would have');
  });

  for (const name of CAUGHT) {
    it(`catches "${name}" (${MUTATION_DESCRIPTIONS[name]}) within seeds 1..${TEST_SEEDS}`, async () => {
      for (const seed of testSeeds()) {
        // Anti-entropy repairs what read repair leaves stale (the test below): without read repair
        // the sweep alone is what must converge the replicas, so this one runs without it.
        const r = await runSimulation({ seed, events: TEST_EVENTS, mutation: name, antiEntropy: name !== 'no-read-repair' });
        if (r.violations.length === 0) continue;
        console.log(`      ${describeViolations(r, 2).split('\n').join('\n      ')}`);
        return;
      }
      assert.fail(`no violation in seeds 1..${TEST_SEEDS} with mutation ${name}`);
    });
  }
});
