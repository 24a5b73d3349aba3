/**
 * The behaviour every Storage<T> engine must show (DESIGN.md layer 5), run
 * against MemoryStorage and SqliteStorage alike so the simulator's twin and
 * production cannot drift apart (STYLE.md 11). Each engine's test file calls
 * storageSuite() with a harness that opens, restarts and inspects its engine.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { ClosedError } from '../../src/core/errors';
import { asNodeId, asPartitionId, type NodeId } from '../../src/core/ids';
import type { Hint, RecordMeta, Storage } from '../../src/core/storage-port';
import type { StorageStats } from '../../src/storage/storage-stats';

export interface Val {
  n: number;
  s: string;
  tags?: string[];
}

/** The extras both engines add to the port. */
export interface EngineExtras {
  expiredKeys(nowMs: number, limit: number): string[];
  stats(): StorageStats;
}

export type Engine = Storage<Val> & EngineExtras;

export interface StorageHarness {
  /** A fresh, empty engine (each call gets its own durable state). */
  open(): Promise<Engine>;
  /** Close the engine and open its durable state again, as after a restart. */
  restart(s: Engine): Promise<Engine>;
  /** The committed value of a key, read around the engine (a second connection, the snapshot). */
  durableValue(s: Engine, key: string): Promise<Val | undefined>;
  /** Closes whatever open() created and removes its files. */
  cleanup(): Promise<void>;
  /** fast-check runs of the model test (SQLite runs cost a file each). */
  modelRuns: number;
}

const P0 = asPartitionId(0);
const P1 = asPartitionId(1);
const A = asNodeId('node-a');
const B = asNodeId('node-b');

const meta = (partition: number, expiresAtMs: number | null = null): RecordMeta => ({
  partition: asPartitionId(partition),
  expiresAtMs,
});

const sorted = (it: Iterable<string>): string[] => [...it].sort();

export function storageSuite(harness: StorageHarness): void {
  let s: Engine;

  beforeEach(async () => {
    s = await harness.open();
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  describe('records', () => {
    it('serves a put from memory at once and after it resolves', async () => {
      const p = s.put('k1', { n: 1, s: 'one' }, meta(0, 5000));
      assert.deepEqual(s.get('k1'), { n: 1, s: 'one' }); // live view before the commit
      await p;
      assert.deepEqual(s.get('k1'), { n: 1, s: 'one' });
      assert.deepEqual(s.metaOf('k1'), { partition: 0, expiresAtMs: 5000 });
      assert.equal(s.size(), 1);
      assert.deepEqual([...s.keys()], ['k1']);
      assert.equal(s.get('absent'), undefined);
      assert.equal(s.metaOf('absent'), undefined);
    });

    it('replaces a value and moves the key to its new partition', async () => {
      await s.put('k', { n: 1, s: 'a' }, meta(0));
      await s.put('k', { n: 2, s: 'b' }, meta(1));
      assert.deepEqual(s.get('k'), { n: 2, s: 'b' });
      assert.equal(s.size(), 1);
      assert.deepEqual(sorted(s.keysInPartition(P0)), []);
      assert.deepEqual(sorted(s.keysInPartition(P1)), ['k']);
    });

    it('lists keys by partition, and the result can be iterated twice', async () => {
      await Promise.all([
        s.put('a', { n: 1, s: '' }, meta(0)),
        s.put('b', { n: 2, s: '' }, meta(1)),
        s.put('c', { n: 3, s: '' }, meta(0)),
      ]);
      const p0 = s.keysInPartition(P0);
      assert.deepEqual(sorted(p0), ['a', 'c']);
      assert.deepEqual(sorted(p0), ['a', 'c']);
      assert.deepEqual(sorted(s.keysInPartition(P1)), ['b']);
      assert.deepEqual(sorted(s.keysInPartition(asPartitionId(7))), []);
    });

    it('removes a record from every view, and removing an absent key resolves', async () => {
      await s.put('a', { n: 1, s: '' }, meta(0, 100));
      await s.put('b', { n: 2, s: '' }, meta(0, 100));
      await s.remove('a');
      assert.equal(s.get('a'), undefined);
      assert.equal(s.metaOf('a'), undefined);
      assert.equal(s.size(), 1);
      assert.deepEqual(sorted(s.keysInPartition(P0)), ['b']);
      assert.deepEqual(s.expiredKeys(1000, 10), ['b']);
      await s.remove('never-there');
      assert.equal(s.size(), 1);
    });

    it('finds expired keys up to now, bounded by the limit, following expiry changes', async () => {
      await Promise.all([
        s.put('e1', { n: 1, s: '' }, meta(0, 1000)),
        s.put('e2', { n: 2, s: '' }, meta(1, 1999)),
        s.put('e3', { n: 3, s: '' }, meta(0, 2000)),
        s.put('forever', { n: 4, s: '' }, meta(0, null)),
      ]);
      assert.deepEqual(s.expiredKeys(999, 10), []);
      assert.deepEqual(s.expiredKeys(1000, 10), ['e1']);
      assert.deepEqual(sorted(s.expiredKeys(2000, 10)), ['e1', 'e2', 'e3']);
      assert.equal(s.expiredKeys(2000, 2).length, 2);
      assert.deepEqual(s.expiredKeys(2000, 0), []);
      await s.put('e1', { n: 1, s: 'touched' }, meta(0, 5000)); // a touch moves it later
      assert.deepEqual(sorted(s.expiredKeys(2000, 10)), ['e2', 'e3']);
      await s.put('e2', { n: 2, s: 'no ttl' }, meta(1, null));
      assert.deepEqual(sorted(s.expiredKeys(1e15, 10)), ['e1', 'e3']);
    });

    it('coalesces writes to one key in a batch: all resolve and the last one wins', async () => {
      const before = s.stats().rowsWritten;
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) writes.push(s.put('hot', { n: i, s: 'v' }, meta(0)));
      await Promise.all(writes);
      assert.deepEqual(s.get('hot'), { n: 49, s: 'v' });
      assert.deepEqual(await harness.durableValue(s, 'hot'), { n: 49, s: 'v' });
      assert.equal(s.stats().rowsWritten - before, 1);
      assert.equal(s.stats().pendingOps, 0);
    });

    it('makes a put durable by the time its promise resolves', async () => {
      await s.put('d', { n: 7, s: 'durable', tags: ['x'] }, meta(1, 123));
      assert.deepEqual(await harness.durableValue(s, 'd'), { n: 7, s: 'durable', tags: ['x'] });
      await s.remove('d');
      assert.equal(await harness.durableValue(s, 'd'), undefined);
    });
  });

  describe('hints (Dynamo 4.6)', () => {
    it('adds hints with increasing ids and lists them oldest first', async () => {
      const id1 = await s.addHint(A, 'k1', { n: 1, s: '' }, P0);
      const [id2, id3] = await Promise.all([
        s.addHint(B, 'k2', { n: 2, s: '' }, P1),
        s.addHint(A, 'k3', { n: 3, s: '' }, P0),
      ]);
      assert.ok(id1 < id2! && id2! < id3!);
      assert.equal(s.hintCount(), 3);
      const all = s.hints();
      assert.deepEqual(all.map((h) => h.id), [id1, id2, id3]);
      assert.deepEqual(all[1], { id: id2, target: B, key: 'k2', value: { n: 2, s: '' }, partition: P1 });
    });

    it('filters hints by target and bounds them by limit', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 6; i++) ids.push(await s.addHint(i % 2 === 0 ? A : B, `k${i}`, { n: i, s: '' }, P0));
      assert.deepEqual(s.hints(A).map((h) => h.key), ['k0', 'k2', 'k4']);
      assert.deepEqual(s.hints(B, 2).map((h) => h.key), ['k1', 'k3']);
      assert.deepEqual(s.hints(undefined, 4).map((h) => h.id), ids.slice(0, 4));
      assert.deepEqual(s.hints(asNodeId('nobody')), []);
    });

    it('removes hints by id; unknown ids and an empty list are harmless', async () => {
      const a = await s.addHint(A, 'x', { n: 1, s: '' }, P0);
      const b = await s.addHint(A, 'y', { n: 2, s: '' }, P0);
      const c = await s.addHint(B, 'z', { n: 3, s: '' }, P0);
      await s.removeHints([a, c, 99_999]);
      await s.removeHints([]);
      assert.deepEqual(s.hints().map((h) => h.id), [b]);
      assert.deepEqual(s.hints(B), []);
      assert.equal(s.hintCount(), 1);
    });

    it('treats a hint added and removed before its commit as never written', async () => {
      const added = s.addHint(A, 'gone', { n: 1, s: '' }, P0);
      const id = s.hints().at(-1)!.id;
      const removed = s.removeHints([id]);
      assert.equal(await added, id);
      await removed;
      assert.equal(s.hintCount(), 0);
      const t = await harness.restart(s);
      s = t;
      assert.equal(s.hintCount(), 0);
    });
  });

  describe('meta', () => {
    it('stores, overwrites and reads small settings', async () => {
      assert.equal(s.getMeta('ring'), undefined);
      await s.setMeta('ring', 'v1');
      const p = s.setMeta('ring', 'v2');
      assert.equal(s.getMeta('ring'), 'v2');
      await p;
      await s.setMeta('incarnation', '3');
      assert.equal(s.getMeta('ring'), 'v2');
      assert.equal(s.getMeta('incarnation'), '3');
    });
  });

  describe('restart', () => {
    it('comes back with every committed record, index, hint and meta', async () => {
      await Promise.all([
        s.put('a', { n: 1, s: 'a', tags: ['t'] }, meta(0, 1000)),
        s.put('b', { n: 2, s: 'b' }, meta(1, null)),
        s.put('c', { n: 3, s: 'c' }, meta(1, 3000)),
        s.setMeta('members', '["a","b"]'),
      ]);
      await s.remove('c');
      const h1 = await s.addHint(A, 'a', { n: 10, s: 'h' }, P0);
      const h2 = await s.addHint(B, 'b', { n: 20, s: 'h' }, P1);
      const h3 = await s.addHint(A, 'c', { n: 30, s: 'h' }, P1);
      await s.removeHints([h2]);

      s = await harness.restart(s);
      assert.equal(s.size(), 2);
      assert.deepEqual(s.get('a'), { n: 1, s: 'a', tags: ['t'] });
      assert.deepEqual(s.metaOf('a'), { partition: 0, expiresAtMs: 1000 });
      assert.deepEqual(s.get('b'), { n: 2, s: 'b' });
      assert.deepEqual(s.metaOf('b'), { partition: 1, expiresAtMs: null });
      assert.equal(s.get('c'), undefined);
      assert.deepEqual(sorted(s.keysInPartition(P1)), ['b']);
      assert.deepEqual(s.expiredKeys(5000, 10), ['a']);
      assert.deepEqual(s.hints(), [
        { id: h1, target: A, key: 'a', value: { n: 10, s: 'h' }, partition: P0 },
        { id: h3, target: A, key: 'c', value: { n: 30, s: 'h' }, partition: P1 },
      ]);
      assert.equal(s.getMeta('members'), '["a","b"]');
      // New hints stay younger than the ones that survived.
      const h4 = await s.addHint(B, 'd', { n: 40, s: 'h' }, P0);
      assert.ok(h4 > h3);
      assert.deepEqual(s.hints().map((h) => h.id), [h1, h3, h4]);
    });

    it('rejects writes after close() with ClosedError', async () => {
      await s.close();
      await assert.rejects(s.put('k', { n: 1, s: '' }, meta(0)), ClosedError);
      await assert.rejects(s.remove('k'), ClosedError);
      await assert.rejects(s.addHint(A, 'k', { n: 1, s: '' }, P0), ClosedError);
      await assert.rejects(s.removeHints([1]), ClosedError);
      await assert.rejects(s.setMeta('x', 'y'), ClosedError);
    });
  });

  describe('model', () => {
    it('matches a map model through random writes and a restart', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
          let engine = await harness.open();
          const model = new Model();
          const outstanding: Promise<unknown>[] = [];
          for (const op of ops) {
            switch (op.t) {
              case 'put':
                outstanding.push(engine.put(op.key, op.value, meta(op.partition, op.expiresAtMs)));
                model.kv.set(op.key, { value: op.value, meta: meta(op.partition, op.expiresAtMs) });
                break;
              case 'remove':
                outstanding.push(engine.remove(op.key));
                model.kv.delete(op.key);
                break;
              case 'addHint': {
                const promise = engine.addHint(op.target, op.key, op.value, asPartitionId(op.partition));
                const id = engine.hints().at(-1)!.id; // the newest hint is the one just added
                outstanding.push(promise.then((got) => assert.equal(got, id)));
                model.hints.push({ id, target: op.target, key: op.key, value: op.value, partition: asPartitionId(op.partition) });
                break;
              }
              case 'removeHints': {
                const ids = op.picks.map((i) => model.hints[i % Math.max(1, model.hints.length)]?.id ?? 424_242);
                outstanding.push(engine.removeHints(ids));
                model.hints = model.hints.filter((h) => !ids.includes(h.id));
                break;
              }
              case 'setMeta':
                outstanding.push(engine.setMeta(op.name, op.value));
                model.meta.set(op.name, op.value);
                break;
              case 'settle':
                await Promise.all(outstanding.splice(0));
                break;
            }
            model.check(engine);
          }
          await Promise.all(outstanding.splice(0));
          engine = await harness.restart(engine);
          model.check(engine);
          await engine.close();
        }),
        { numRuns: harness.modelRuns },
      );
    });
  });
}

type Op =
  | { t: 'put'; key: string; value: Val; partition: number; expiresAtMs: number | null }
  | { t: 'remove'; key: string }
  | { t: 'addHint'; target: NodeId; key: string; value: Val; partition: number }
  | { t: 'removeHints'; picks: number[] }
  | { t: 'setMeta'; name: string; value: string }
  | { t: 'settle' };

const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e');
// Plain prototypes: what callers store, and what a msgpack round trip returns.
const valArb: fc.Arbitrary<Val> = fc.record({ n: fc.integer(), s: fc.string({ maxLength: 8 }) }, { noNullPrototype: true });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant('put' as const),
    key: keyArb,
    value: valArb,
    partition: fc.integer({ min: 0, max: 2 }),
    expiresAtMs: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }),
  }),
  fc.record({ t: fc.constant('remove' as const), key: keyArb }),
  fc.record({
    t: fc.constant('addHint' as const),
    target: fc.constantFrom(A, B),
    key: keyArb,
    value: valArb,
    partition: fc.integer({ min: 0, max: 2 }),
  }),
  fc.record({ t: fc.constant('removeHints' as const), picks: fc.array(fc.nat(), { maxLength: 3 }) }),
  fc.record({ t: fc.constant('setMeta' as const), name: fc.constantFrom('x', 'y'), value: fc.string({ maxLength: 5 }) }),
  fc.constant({ t: 'settle' as const }),
);

class Model {
  kv = new Map<string, { value: Val; meta: RecordMeta }>();
  hints: Hint<Val>[] = [];
  meta = new Map<string, string>();

  check(s: Engine): void {
    assert.equal(s.size(), this.kv.size);
    assert.deepEqual(sorted(s.keys()), sorted(this.kv.keys()));
    for (const [key, { value, meta: m }] of this.kv) {
      assert.deepEqual(s.get(key), value);
      assert.deepEqual(s.metaOf(key), m);
    }
    for (let p = 0; p <= 2; p++) {
      const want = [...this.kv].filter(([, r]) => r.meta.partition === p).map(([k]) => k);
      assert.deepEqual(sorted(s.keysInPartition(asPartitionId(p))), sorted(want));
    }
    const expired = [...this.kv].filter(([, r]) => r.meta.expiresAtMs !== null && r.meta.expiresAtMs <= 5).map(([k]) => k);
    assert.deepEqual(sorted(s.expiredKeys(5, 100)), sorted(expired));
    assert.deepEqual(s.hints(), this.hints);
    assert.deepEqual(s.hints(A), this.hints.filter((h) => h.target === A));
    assert.equal(s.hintCount(), this.hints.length);
    for (const name of ['x', 'y']) assert.equal(s.getMeta(name), this.meta.get(name));
  }
}

export { P0, P1, A, B, meta };
