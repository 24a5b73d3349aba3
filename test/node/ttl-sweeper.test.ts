/**
 * The TTL sweep (issue 5 part 2; docs/sessions-ttl.md): over MemoryStorage
 * with a manual clock, then on a real 3-node cluster (SQLite, ws).
 */
import { strict as assert } from 'node:assert';
import { ManualClock } from '../../src/core/clock';
import { asNodeId } from '../../src/core/ids';
import { cartAddDelta } from '../../src/crdt/cart';
import { emptySession, sessionDestroy, sessionWrite, SESSION_TOMBSTONE_GRACE_MS } from '../../src/crdt/session';
import type { StoredObject } from '../../src/crdt/stored-object';
import { MemoryStorage } from '../../src/storage/memory-storage';
import { Replica } from '../../src/replication/replica';
import { TtlSweeper, type SweepBatchInfo } from '../../src/node/ttl-sweeper';
import { waitFor } from '../cluster/process-cluster';
import { InProcessCluster } from './in-process-cluster';

const T0 = 1_700_000_000_000;

/**
 * A session that becomes sweepable at `sweepableAtMs`: for a logout
 * tombstone that is its expiry plus SESSION_TOMBSTONE_GRACE_MS, so its
 * expiry is set that much earlier.
 */
function session(sweepableAtMs: number, destroyed = false): StoredObject {
  const expiresAtMs = destroyed ? sweepableAtMs - SESSION_TOMBSTONE_GRACE_MS : sweepableAtMs;
  let s = sessionWrite(emptySession(), { set: { user: 'u' }, expiresAtMs }, 1, 'n1', T0 - 10_000 - SESSION_TOMBSTONE_GRACE_MS);
  if (destroyed) s = sessionDestroy(s, T0 - 10_000 - SESSION_TOMBSTONE_GRACE_MS);
  return { kind: 'session', s };
}

async function fill(replica: Replica, entries: Array<[string, StoredObject]>): Promise<void> {
  await Promise.all(entries.map(([k, o]) => replica.apply(k, o)));
}

function range(n: number, f: (i: number) => [string, StoredObject]): Array<[string, StoredObject]> {
  return Array.from({ length: n }, (_, i) => f(i));
}

describe('node/ttl-sweeper over MemoryStorage', () => {
  let storage: MemoryStorage<StoredObject>;
  let replica: Replica;
  let clock: ManualClock;

  beforeEach(async () => {
    storage = new MemoryStorage<StoredObject>();
    replica = new Replica(asNodeId('n1'), storage, 64);
    clock = new ManualClock(T0);
    await fill(replica, [
      ...range(1000, (i) => [`sess:exp${i}`, session(T0 - 5000 + i)]),
      ...range(200, (i) => [`sess:live${i}`, session(T0 + 60_000 + i)]),
      ...range(50, (i) => [`sess:gone${i}`, session(T0 - 3000, true)]),
      ...range(10, (i) => [`sess:logout${i}`, session(T0 + 60_000, true)]),
      ['cart/x', { kind: 'cart', c: cartAddDelta('sku', 1, 'n1~0', 1) }],
    ]);
  });

  it('removes expired sessions and expired tombstones in batches of at most sweepBatchMax, and nothing else', async () => {
    const batches: SweepBatchInfo[] = [];
    const sweeper = new TtlSweeper({ storage, clock, batchMax: 64, onBatch: (b) => batches.push(b) });
    const r = await sweeper.sweep();
    assert.equal(r.expired, 1000);
    assert.equal(r.destroyed, 50);
    assert.equal(r.kept, 0);
    assert.ok(batches.every((b) => b.expired + b.destroyed <= 64), 'a batch removed more than sweepBatchMax');
    assert.equal(batches.length, Math.ceil(1050 / 64));
    assert.equal(storage.size(), 200 + 10 + 1);
    for (let i = 0; i < 200; i++) assert.ok(storage.get(`sess:live${i}`));
    for (let i = 0; i < 10; i++) assert.ok(storage.get(`sess:logout${i}`), 'an unexpired logout tombstone must stay');
    assert.ok(storage.get('cart/x'));
    assert.deepEqual(sweeper.window.totals(clock.nowMs()), { expired: 1000, swept: 1050 });
    // The removals are durable: a restart finds only what stayed.
    await storage.close();
    const reopened = storage.reopen();
    assert.equal(reopened.size(), 211);
    await reopened.close();
  });

  it('yields to the event loop between batches', async () => {
    const sweeper = new TtlSweeper({ storage, clock, batchMax: 100 });
    let ticks = 0;
    let sweeping = true;
    const tick = (): void => {
      if (!sweeping) return;
      ticks += 1;
      setImmediate(tick);
    };
    setImmediate(tick);
    const r = await sweeper.sweep();
    sweeping = false;
    assert.equal(r.batches, 11);
    assert.ok(ticks >= r.batches - 1, `only ${ticks} event-loop turns during ${r.batches} batches`);
  });

  it('leaves sessions alone until their expiry (and the index bucket) has passed, then sweeps them', async () => {
    const sweeper = new TtlSweeper({ storage, clock, batchMax: 500 });
    await sweeper.sweep();
    assert.equal(storage.size(), 211);
    clock.set(T0 + 60_000 + 199); // every live session has expired, but the last bucket is not over yet
    assert.equal((await sweeper.sweep()).expired, 0);
    clock.set(T0 + 61_000);
    const r = await sweeper.sweep();
    assert.equal(r.expired, 200);
    assert.equal(r.destroyed, 10);
    assert.equal(storage.size(), 1);
  });

  it('counts a record handed back after its sweep (anti-entropy, read repair) only as returned', async () => {
    const sweeper = new TtlSweeper({ storage, clock, batchMax: 500 });
    await sweeper.sweep();
    const before = sweeper.window.totals(clock.nowMs());
    // A replica that has not swept yet hands the expired copy back.
    await replica.apply('sess:exp3', session(T0 - 5000 + 3));
    const r = await sweeper.sweep();
    assert.equal(r.expired, 1);
    assert.equal(r.returned, 1);
    assert.equal(storage.get('sess:exp3'), undefined);
    assert.deepEqual(sweeper.window.totals(clock.nowMs()), before, 'each expiry counts once');
    // A session that expires later is new to this node's sweeps and counts.
    clock.set(T0 + 61_000);
    const later = await sweeper.sweep();
    assert.equal(later.returned, 0);
    // (The first sweep, 61 s ago, has left the one-minute window.)
    assert.equal(sweeper.window.totals(clock.nowMs()).expired, 200);
  });

  it('counts a copy handed back during the run that removed it only as returned', async () => {
    let handedBack: string | null = null;
    const sweeper = new TtlSweeper({
      storage, clock, batchMax: 100,
      onBatch: () => {
        // After the first batch, a peer hands back one of the sessions it removed.
        if (handedBack !== null) return;
        const i = Array.from({ length: 1000 }, (_, j) => j).find((j) => storage.get(`sess:exp${j}`) === undefined);
        assert.ok(i !== undefined, 'the first batch removed an expired session');
        handedBack = `sess:exp${i}`;
        void replica.apply(handedBack, session(T0 - 5000 + i));
      },
    });
    const r = await sweeper.sweep();
    assert.equal(r.returned, 1);
    assert.equal(r.expired, 1001);
    assert.ok(handedBack !== null);
    assert.equal(storage.get(handedBack), undefined);
    assert.deepEqual(sweeper.window.totals(clock.nowMs()), { expired: 1000, swept: 1050 });
  });

  it('shares one run between concurrent calls and stops when asked', async () => {
    const sweeper = new TtlSweeper({ storage, clock, batchMax: 10 });
    const a = sweeper.sweep();
    const b = sweeper.sweep();
    assert.equal(a, b);
    await sweeper.stop();
    const r = await a;
    assert.ok(r.batches >= 1 && r.expired + r.destroyed < 1050, 'stop() ends the run early');
    assert.equal((await sweeper.sweep()).batches, 0, 'a stopped sweeper does nothing');
  });

  it('reports a failed removal and stops the run', async () => {
    const errors: unknown[] = [];
    const sweeper = new TtlSweeper({ storage, clock, batchMax: 100, onError: (e) => errors.push(e) });
    storage.crash(); // pending and future writes reject with RS_ERR_CLOSED
    const r = await sweeper.sweep();
    assert.equal(r.batches, 1);
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as { code?: string }).code, 'RS_ERR_CLOSED');
    assert.equal(sweeper.totals.errors, 1);
  });
});

describe('node/ttl-sweeper on a 3-node cluster (N=3, SQLite)', function () {
  this.timeout(60_000);
  let c: InProcessCluster;

  before(async () => {
    c = await InProcessCluster.start(3, { config: { sweepIntervalMs: 100, sweepBatchMax: 7 } });
  });
  after(async () => {
    await c?.stop();
  });

  function metric(text: string, name: string, labels = ''): number {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    assert.ok(line, `no ${name} ${labels} in /metrics`);
    return Number(line.split(' ').pop());
  }

  it('every replica sweeps its expired sessions in bounded batches and counts them in /metrics', async () => {
    const coord = c.nodes[0]!.coordinator;
    const now = Date.now();
    const short = 40;
    await Promise.all([
      ...Array.from({ length: short }, (_, i) => coord.execute(`sess:short${i}`, { op: 'session-write', set: { i }, del: [], expiresAtMs: now + 1200 }, { w: 3 })),
      ...Array.from({ length: 10 }, (_, i) => coord.execute(`sess:long${i}`, { op: 'session-write', set: { i }, del: [], expiresAtMs: now + 600_000 }, { w: 3 })),
    ]);
    for (const n of c.nodes) assert.equal(n.storage.size(), short + 10);
    await waitFor('every replica swept the short sessions', () => c.nodes.every((n) => n.storage.size() === 10), 15_000, 100);
    for (const n of c.nodes) {
      for (let i = 0; i < 10; i++) assert.ok(n.storage.get(`sess:long${i}`), 'an unexpired session was swept');
      const text = await (await fetch(`http://${n.addr}/metrics`)).text();
      // Anti-entropy or partition handoff may hand back a copy this node
      // already swept: it is removed again but counted as returned.
      const removed = metric(text, 'ringstore_sweep_removed_total', 'reason="expired"');
      assert.equal(removed - metric(text, 'ringstore_sweep_returned_total'), short);
      assert.equal(metric(text, 'ringstore_sweep_removed_total', 'reason="destroyed"'), 0);
      assert.ok(metric(text, 'ringstore_sweep_batch_pause_seconds_count') >= Math.ceil(short / 7), 'batches of at most 7');
    }
  });

  it('keeps a logout tombstone past the session expiry, for the tombstone grace', async () => {
    const coord = c.nodes[1]!.coordinator;
    const now = Date.now();
    await coord.execute('sess:bye', { op: 'session-write', set: { a: 1 }, del: [], expiresAtMs: now + 1200 }, { w: 3 });
    await coord.execute('sess:bye', { op: 'session-destroy' }, { w: 3 });
    for (const n of c.nodes) {
      const o = n.storage.get('sess:bye');
      assert.ok(o && o.kind === 'session' && o.s.destroyed, 'the tombstone is stored');
    }
    // Well past the session's expiry and several sweeps later, the tombstone
    // is still there (it goes SESSION_TOMBSTONE_GRACE_MS after the expiry;
    // the MemoryStorage tests above sweep such tombstones on a manual clock).
    await new Promise((r) => setTimeout(r, 3000));
    for (const n of c.nodes) {
      const o = n.storage.get('sess:bye');
      assert.ok(o && o.kind === 'session' && o.s.destroyed, 'the tombstone outlives the expiry');
    }
    const text = await (await fetch(`http://${c.nodes[2]!.addr}/metrics`)).text();
    assert.equal(metric(text, 'ringstore_sweep_removed_total', 'reason="destroyed"'), 0);
  });
});
