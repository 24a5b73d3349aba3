/**
 * Jepsen-style nemesis with real processes (issue 3: "a nemesis that kills
 * and restarts nodes, never more than two down at once, while workers
 * write, and a checker that every acknowledged write is present on every
 * replica after healing"). Five nodes, N=3, W=2: sloppy quorum and hinted
 * handoff (Dynamo 4.6) keep every write acknowledgeable; the ring never
 * changes (down nodes keep their partitions).
 *
 * The checker: after the last restart, wait for the cluster to converge
 * (everyone alive everywhere, no hints pending, no handoff), read every
 * acknowledged key back at r=3 (which also repairs any replica that missed
 * it, Dynamo 5), stop every node cleanly, and open each node's SQLite file
 * to check that every replica of every key holds the acknowledged value.
 *
 * RINGSTORE_SOAK_S=600 runs the nemesis for 10 minutes (npm run test:soak);
 * RINGSTORE_SEED replays a schedule.
 */
import { strict as assert } from 'node:assert';
import { Prng } from '../../src/core/prng';
import { sleep } from './process-cluster';
import { MemberCluster, readBack, replicaCopiesMissing, Writers } from './membership-cluster';

const SEED = Number(process.env.RINGSTORE_SEED ?? Date.now() % 1_000_000);
const NEMESIS_S = Number(process.env.RINGSTORE_SOAK_S ?? 20);

describe(`cluster: nemesis kills and restarts nodes while workers write (seed ${SEED}, ${NEMESIS_S} s)`, function () {
  this.timeout(Math.max(60_000, (NEMESIS_S + 60) * 1000));
  let c: MemberCluster;

  before(async () => {
    c = await MemberCluster.create({ nodes: 5 });
    c.start('n1', ['n1']);
    for (const id of ['n2', 'n3', 'n4', 'n5']) c.start(id, ['n1']);
    await c.waitConverged(c.ids(), 30_000);
  });

  after(async function () {
    if (this.currentTest?.state === 'failed') c.dumpLogs(3000);
    await c.stopAll();
    c.cleanup();
  });

  it('keeps every acknowledged write on every replica, and the ring unchanged', async () => {
    const rnd = new Prng(SEED);
    const ring = (await c.status('n1')).ringVersion;
    const writers = new Writers(c, { workers: 6, prefix: 'nem', via: () => c.ids() });
    writers.start();
    const down = new Set<string>();
    const log: string[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < NEMESIS_S * 1000) {
      await sleep(700 + rnd.int(1500));
      const up = c.ids().filter((id) => !down.has(id));
      if (down.size < 2 && (down.size === 0 || rnd.next() < 0.5)) {
        const victim = up[rnd.int(up.length)]!;
        await c.kill(victim);
        down.add(victim);
        log.push(`+${Date.now() - t0}ms kill ${victim}`);
      } else {
        const back = [...down][rnd.int(down.size)]!;
        c.start(back, ['n1']);
        down.delete(back);
        log.push(`+${Date.now() - t0}ms restart ${back}`);
      }
      for (const id of c.ids().filter((x) => !down.has(x))) {
        const st = await c.status(id).catch(() => null); // a node just restarted may not listen yet
        if (st) assert.equal(st.ringVersion, ring, `${id}'s ring changed (${log.join(', ')})`);
      }
    }
    for (const id of down) c.start(id, ['n1']);
    const healedAt = Date.now();
    log.push(`+${healedAt - t0}ms restart ${[...down].join(',') || 'none'} (heal)`);
    await c.waitConverged(c.ids(), 30_000);
    const aliveMs = Date.now() - healedAt;
    await writers.stop();
    await c.waitHandoffDone(c.ids(), 30_000);
    const convergedMs = Date.now() - healedAt;
    console.log(`      schedule: ${log.join(', ')}`);
    console.log(`      ${writers.acked.size} writes acknowledged; not acknowledged: ${writers.refused} refused with an error status, ` +
      `${writers.failed - writers.refused} cut off (coordinator killed or not up yet)` +
      (writers.refusals.length ? `; refusals: ${writers.refusals.join(', ')}` : ''));
    console.log(`      after the heal: all alive everywhere in ${aliveMs} ms (process start included); ` +
      `hints delivered and handoff idle everywhere in ${convergedMs} ms`);
    assert.ok(writers.acked.size > 100, `only ${writers.acked.size} writes acknowledged`);
    for (const st of await Promise.all(c.ids().map((id) => c.status(id)))) assert.equal(st.ringVersion, ring);

    const bad = await readBack(c, writers.acked, c.ids(), 3);
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${writers.acked.size} acknowledged writes not read back at r=3`);
    await sleep(500); // let read repairs commit
    await c.stopAll('SIGTERM');
    const missing = await replicaCopiesMissing(c, writers.acked);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} (key, replica) copies missing after healing`);
  });
});
