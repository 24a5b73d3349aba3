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
 * Beside the writers, deleters PUT a key and DELETE it with the context
 * the PUT returned: every key whose delete was acknowledged must read 404 at
 * r=3 and hold no live value on any replica's disk, and once all replicas
 * are back the tombstones are reaped (docs/operations.md, Tombstones). The
 * test prints the tombstones held during the nemesis, at the heal and after
 * reaping.
 *
 * RINGSTORE_SOAK_S=600 runs the nemesis for 10 minutes (npm run test:soak);
 * RINGSTORE_SEED replays a schedule.
 */
import { strict as assert } from 'node:assert';
import { Prng } from '../../src/core/prng';
import { sleep, waitFor } from './process-cluster';
import {
  Deleters, deletedCopiesLive, MemberCluster, median, readBack, readBackDeleted, replicaCopiesMissing, Writers, type MemberStatus,
} from './membership-cluster';

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

  it('keeps every acknowledged write on every replica, every acknowledged delete deleted, and the ring unchanged', async () => {
    const rnd = new Prng(SEED);
    const ring = (await c.status('n1')).ringVersion;
    const writers = new Writers(c, { workers: 6, prefix: 'nem', via: () => c.ids() });
    const deleters = new Deleters(c, { workers: 2, prefix: 'nemdel', via: () => c.ids() });
    writers.start();
    deleters.start();
    /** Tombstones held summed over the nodes that answered, sampled after each nemesis step. */
    const heldSamples: Array<{ held: number; nodes: number }> = [];
    const held = (sts: Array<MemberStatus | null>): number[] => sts.map((st) => st?.tombstones?.held ?? -1);
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
      let sample = { held: 0, nodes: 0 };
      for (const id of c.ids().filter((x) => !down.has(x))) {
        const st = await c.status(id).catch(() => null); // a node just restarted may not listen yet
        if (st) assert.equal(st.ringVersion, ring, `${id}'s ring changed (${log.join(', ')})`);
        if (st?.tombstones) sample = { held: sample.held + st.tombstones.held, nodes: sample.nodes + 1 };
      }
      heldSamples.push(sample);
    }
    for (const id of down) c.start(id, ['n1']);
    const healedAt = Date.now();
    log.push(`+${healedAt - t0}ms restart ${[...down].join(',') || 'none'} (heal)`);
    await c.waitConverged(c.ids(), 30_000);
    const aliveMs = Date.now() - healedAt;
    await writers.stop();
    await deleters.stop();
    await c.waitHandoffDone(c.ids(), 30_000);
    const convergedMs = Date.now() - healedAt;
    const heldAtHeal = held(await Promise.all(c.ids().map((id) => c.status(id).catch(() => null))));
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
    assert.ok(deleters.deleted.size > 20, `only ${deleters.deleted.size} deletes acknowledged`);
    const back = await readBackDeleted(c, deleters.deleted, c.ids(), 3);
    assert.deepEqual(back.slice(0, 10), [], `${back.length} of ${deleters.deleted.size} acknowledged deletes not 404 at r=3`);
    // With every replica up and holding each tombstone, the reapers collect them all.
    const reapFrom = Date.now();
    let heldNow: number[] = [];
    await waitFor('every tombstone reaped', async () => {
      heldNow = held(await Promise.all(c.ids().map((id) => c.status(id))));
      return heldNow.every((h) => h === 0);
    }, 30_000, 250).catch(() => undefined);
    const reapMs = Date.now() - reapFrom;
    const during = heldSamples.filter((x) => x.nodes > 0);
    const last = during[during.length - 1];
    console.log(`      deletes: ${deleters.deleted.size} acknowledged of ${deleters.puts} acknowledged PUTs (${deleters.deletesFailed} DELETEs and ${deleters.putsFailed} PUTs not acknowledged${deleters.refusals.length ? `: ${deleters.refusals.join(', ')}` : ''}); ` +
      `tombstones held, summed over the nodes up: during the nemesis max ${Math.max(0, ...during.map((x) => x.held))}, ` +
      `median ${during.length ? median(during.map((x) => x.held)) : '-'}, last ${last ? `${last.held} over ${last.nodes} nodes` : '-'}; ` +
      `per node at the heal ${heldAtHeal.join('/')}; after the r=3 read-back and ${reapMs} ms ${heldNow.join('/')} ` +
      `(reaped since start ${(await Promise.all(c.ids().map((id) => c.status(id)))).map((st) => st.tombstones?.reaped ?? -1).join('/')})`);
    assert.ok(heldNow.every((h) => h === 0), `tombstones still held per node ${heldNow.join('/')} ${reapMs} ms after every replica was back`);
    await sleep(500); // let read repairs commit
    await c.stopAll('SIGTERM');
    const missing = await replicaCopiesMissing(c, writers.acked);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} (key, replica) copies missing after healing`);
    const live = await deletedCopiesLive(c, deleters.deleted);
    assert.deepEqual(live.slice(0, 10), [], `${live.length} (key, replica) copies of deleted keys hold a value after healing`);
  });
});
