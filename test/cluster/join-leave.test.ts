/**
 * Join and leave under write load with real processes (issue 3, point 3;
 * Dynamo 4.9): a sixth node claims about 1/6 of the partitions, only data of
 * moved partitions streams, handoff completes, and no acknowledged write is
 * lost; then a node leaves with `ringstore leave`, hands everything off and
 * ends with no keys. Prints the handoff throughput.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './process-cluster';
import { MemberCluster, readBack, Writers, type MemberStatus } from './membership-cluster';

const BIN = path.resolve(__dirname, '../../../bin/ringstore.js');
const run = promisify(execFile);

async function preload(c: MemberCluster, count: number, bytes: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ids = c.ids().filter((id) => c.running(id));
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) {
      const i = next++;
      const key = `pre-${i}`;
      const value = `${i}:${'p'.repeat(bytes)}`;
      const res = await fetch(c.url(ids[i % ids.length]!, `/kv/${key}`), { method: 'PUT', body: value });
      await res.arrayBuffer();
      assert.equal(res.status, 204, `preload ${key}`);
      out.set(key, value);
    }
  }));
  return out;
}

function handoffFigures(all: MemberStatus[]): { mb: number; seconds: number; perNode: string } {
  const bytes = all.reduce((a, s) => a + s.handoff.bytesSent, 0);
  const starts = all.map((s) => s.handoff.startedAtMs).filter((x): x is number => x !== null);
  const ends = all.map((s) => s.handoff.finishedAtMs).filter((x): x is number => x !== null);
  const seconds = starts.length && ends.length ? (Math.max(...ends) - Math.min(...starts)) / 1000 : 0;
  const perNode = all.filter((s) => s.handoff.bytesSent > 0).map((s) => `${s.id} ${s.handoff.mbPerSec} MB/s`).join(', ');
  return { mb: bytes / 1e6, seconds, perNode };
}

describe('cluster: join and leave under load (Dynamo 4.9 partition handoff)', function () {
  this.timeout(60_000);
  let c: MemberCluster;
  const written = new Map<string, string>();

  before(async function () {
    this.timeout(90_000);
    c = await MemberCluster.create({ nodes: 6 });
    c.start('n1', ['n1']);
    for (const id of ['n2', 'n3', 'n4', 'n5']) c.start(id, ['n1']);
    await c.waitConverged(['n1', 'n2', 'n3', 'n4', 'n5'], 30_000);
    for (const [k, v] of await preload(c, 1500, 2000)) written.set(k, v);
  });

  after(async () => {
    await c.stopAll();
    c.cleanup();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') c.dumpLogs(2500);
  });

  it('a sixth node joins under load: it claims ~1/6 of the partitions, handoff completes, no acknowledged write is lost', async () => {
    const old = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const before = new Map((await Promise.all(old.map((id) => c.status(id)))).map((s) => [s.id, s]));
    const writers = new Writers(c, { workers: 4, prefix: 'join', via: () => c.ids() });
    writers.start();
    await new Promise((r) => setTimeout(r, 500));
    c.start('n6', ['n1']);
    const t0 = Date.now();
    await c.waitConverged(c.ids(), 20_000);
    // The old owners plan their handoff when the new ring reaches them, which
    // can be just after the rings look converged: wait for n6 to have
    // received streams, then for every handoff to be done.
    await waitFor('n6 to receive partition streams', async () => ((await c.status('n6')).handoff.incoming?.done ?? 0) > 0, 40_000, 200);
    await c.waitHandoffDone(c.ids(), 40_000);
    const doneMs = Date.now() - t0;
    await writers.stop();
    for (const [k, v] of writers.acked) written.set(k, v);

    const after = await Promise.all(c.ids().map((id) => c.status(id)));
    const q = after[0]!.partitions.total;
    const n6 = after.find((s) => s.id === 'n6')!;
    assert.ok(Math.abs(n6.partitions.owned - q / 6) <= 1, `n6 owns ${n6.partitions.owned} of ${q}`);
    for (const s of after) {
      if (s.id === 'n6') continue;
      assert.ok(s.partitions.owned <= before.get(s.id)!.partitions.owned, `${s.id} gained partitions in a join`);
    }
    assert.equal(after.reduce((a, s) => a + s.partitions.owned, 0), q);
    assert.ok((n6.handoff.incoming?.done ?? 0) > 0, 'n6 saw the streams arrive');
    const { mb, seconds, perNode } = handoffFigures(after);
    console.log(`      join: ${writers.acked.size} writes acknowledged during the join (${writers.failed} failed); ` +
      `handoff done ${doneMs} ms after n6 started; ${mb.toFixed(1)} MB streamed in ${seconds.toFixed(1)} s ` +
      `(${(mb / Math.max(seconds, 0.001)).toFixed(2)} MB/s cluster-wide; ${perNode})`);

    const bad = await readBack(c, written, c.ids(), 3);
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${written.size} acknowledged writes not read back at r=3`);
    // Every key on exactly N=3 nodes: the old replicas dropped what they no longer replicate.
    const keys = after.reduce((a, s) => a + s.keys, 0);
    assert.ok(keys >= 3 * written.size && keys <= 3 * (written.size + writers.failed), `${keys} copies of ${written.size} keys`);
    const { stdout } = await run(process.execPath, [BIN, 'status', '--node', c.addr('n6')]);
    assert.match(stdout, /handoff: idle, \d+\/\d+ partitions done \(incoming: 0 active, \d+ done\)/);
  });

  it('a node leaves under load with `ringstore leave`: its partitions move, it ends with no keys, nothing is lost', async () => {
    const stay = ['n1', 'n3', 'n4', 'n5', 'n6'];
    const writers = new Writers(c, { workers: 4, prefix: 'leave', via: () => stay });
    writers.start();
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    const { stdout } = await run(process.execPath, [BIN, 'leave', '--node', c.addr('n2'), '--timeout-s', '50']);
    const leaveMs = Date.now() - t0;
    assert.match(stdout, /has handed off all of its data/);
    const gone = await c.status('n2');
    assert.equal(gone.leave.state, 'done');
    assert.equal(gone.keys, 0);
    assert.equal(gone.partitions.owned, 0);
    await waitFor('every node sees n2 leaving and has its ring', async () => {
      const all = await Promise.all(stay.map((id) => c.status(id)));
      return all.every((s) => s.ringVersion === gone.ringVersion && s.members.find((m) => m.id === 'n2')?.state === 'leaving');
    }, 10_000);
    await c.stop('n2');
    await c.waitHandoffDone(stay, 30_000);
    await writers.stop();
    for (const [k, v] of writers.acked) written.set(k, v);
    const all = await Promise.all(stay.map((id) => c.status(id)));
    const { mb, seconds } = handoffFigures([gone]);
    console.log(`      leave: ${writers.acked.size} writes acknowledged during the leave (${writers.failed} failed); ` +
      `\`ringstore leave\` returned after ${leaveMs} ms; n2 streamed ${mb.toFixed(1)} MB in ${seconds.toFixed(1)} s (${gone.handoff.mbPerSec} MB/s)`);
    assert.equal(all.reduce((a, s) => a + s.partitions.owned, 0), all[0]!.partitions.total);
    const bad = await readBack(c, written, stay, 3);
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${written.size} acknowledged writes not read back at r=3`);
    const keys = all.reduce((a, s) => a + s.keys, 0);
    assert.ok(keys >= 3 * written.size, `${keys} copies of ${written.size} keys`);
  });
});
