import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AssertionFailure } from '../../src/core/assert';
import { ClosedError, StorageError } from '../../src/core/errors';
import { asPartitionId } from '../../src/core/ids';
import { MemoryStorage } from '../../src/storage/memory-storage';
import { A, B, meta, P0, storageSuite, type Engine, type Val } from './storage-suite';

/** A schedule the test drives by hand: commits run only when runCommits() says so. */
function manualSchedule(): { schedule: (fn: () => void) => void; runCommits: () => number } {
  const queue: Array<() => void> = [];
  return {
    schedule: (fn) => queue.push(fn),
    runCommits: () => {
      const fns = queue.splice(0);
      for (const fn of fns) fn();
      return fns.length;
    },
  };
}

/** Lets pending promise reactions run. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('MemoryStorage', () => {
  describe('the Storage port', () => {
    const opened: MemoryStorage<Val>[] = [];
    storageSuite({
      modelRuns: 100,
      open: async () => {
        const s = new MemoryStorage<Val>();
        opened.push(s);
        return s;
      },
      restart: async (s: Engine) => {
        const m = s as MemoryStorage<Val>;
        await m.close();
        const next = m.reopen();
        opened.push(next);
        return next;
      },
      durableValue: async (s: Engine, key: string) => (s as MemoryStorage<Val>).durableGet(key),
      cleanup: async () => {
        for (const s of opened.splice(0)) await s.close();
      },
    });
  });

  it('commits in one batch everything written in one synchronous run (default schedule)', async () => {
    const s = new MemoryStorage<Val>();
    const writes = [];
    for (let i = 0; i < 100; i++) writes.push(s.put(`k${i}`, { n: i, s: '' }, meta(0)));
    assert.equal(s.stats().pendingOps, 100);
    await Promise.all(writes);
    assert.deepEqual(s.stats(), { commits: 1, rowsWritten: 100, pendingOps: 0, failedCommits: 0 });
  });

  it('resolves a write only when its batch commits, not before', async () => {
    const clock = manualSchedule();
    const s = new MemoryStorage<Val>({ schedule: clock.schedule });
    let resolved = false;
    const p = s.put('k', { n: 1, s: '' }, meta(0)).then(() => {
      resolved = true;
    });
    await tick();
    assert.equal(resolved, false);
    assert.equal(s.durableGet('k'), undefined);
    assert.deepEqual(s.get('k'), { n: 1, s: '' }); // the live view has it already
    assert.equal(clock.runCommits(), 1);
    await p;
    assert.equal(resolved, true);
    assert.deepEqual(s.durableGet('k'), { n: 1, s: '' });
  });

  describe('crash', () => {
    it('loses exactly the uncommitted writes and keeps the committed ones', async () => {
      const clock = manualSchedule();
      const s = new MemoryStorage<Val>({ schedule: clock.schedule });
      // Batch 1: committed.
      const committed = Promise.all([
        s.put('a', { n: 1, s: 'a1' }, meta(0, 1000)),
        s.put('b', { n: 2, s: 'b1' }, meta(1)),
        s.addHint(A, 'a', { n: 1, s: 'hint' }, P0),
        s.setMeta('ring', 'r1'),
      ]);
      clock.runCommits();
      const [, , h1] = await committed;
      // Batch 2: never committed.
      const lost = [
        s.put('a', { n: 9, s: 'a2' }, meta(1, 9000)),
        s.put('c', { n: 3, s: 'c' }, meta(0)),
        s.remove('b'),
        s.addHint(B, 'c', { n: 3, s: 'hint' }, P0),
        s.removeHints([h1]),
        s.setMeta('ring', 'r2'),
      ];
      assert.deepEqual(s.get('a'), { n: 9, s: 'a2' });
      assert.equal(s.hintCount(), 1);

      s.crash();
      for (const p of lost) await assert.rejects(p, ClosedError);
      // The crashed instance shows the durable state and refuses writes.
      assert.deepEqual(s.get('a'), { n: 1, s: 'a1' });
      assert.equal(s.get('c'), undefined);
      await assert.rejects(s.put('x', { n: 0, s: '' }, meta(0)), ClosedError);
      // The commit that was scheduled for batch 2 must not resurrect it.
      clock.runCommits();

      const r = s.reopen();
      assert.equal(r.size(), 2);
      assert.deepEqual(r.get('a'), { n: 1, s: 'a1' });
      assert.deepEqual(r.metaOf('a'), { partition: 0, expiresAtMs: 1000 });
      assert.deepEqual(r.get('b'), { n: 2, s: 'b1' });
      assert.equal(r.get('c'), undefined);
      assert.deepEqual([...r.keysInPartition(asPartitionId(0))], ['a']);
      assert.deepEqual(r.expiredKeys(1000, 10), ['a']);
      assert.deepEqual(r.hints(), [{ id: h1, target: A, key: 'a', value: { n: 1, s: 'hint' }, partition: P0 }]);
      assert.equal(r.getMeta('ring'), 'r1');
      // The recovered storage works, on the same schedule.
      const p = r.put('d', { n: 4, s: '' }, meta(0));
      clock.runCommits();
      await p;
      assert.deepEqual(r.durableGet('d'), { n: 4, s: '' });
      assert.equal(s.durableGet('d'), undefined); // the crashed instance's snapshot is not shared
    });

    it('recovers what was committed before any crash point (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.record({ t: fc.constant('put' as const), key: fc.constantFrom('a', 'b', 'c'), n: fc.integer() }),
              fc.record({ t: fc.constant('remove' as const), key: fc.constantFrom('a', 'b', 'c') }),
              fc.record({ t: fc.constant('meta' as const), value: fc.string({ maxLength: 4 }) }),
              fc.constant({ t: 'commit' as const }),
            ),
            { maxLength: 30 },
          ),
          async (ops) => {
            const clock = manualSchedule();
            const s = new MemoryStorage<Val>({ schedule: clock.schedule });
            // `committed` is what a restart must find; `pending` what a crash must lose.
            const committed = new Map<string, number>();
            let committedMeta: string | undefined;
            let pending: Array<() => void> = [];
            const writes: Promise<void>[] = [];
            for (const op of ops) {
              if (op.t === 'put') {
                writes.push(s.put(op.key, { n: op.n, s: '' }, meta(0)));
                pending.push(() => committed.set(op.key, op.n));
              } else if (op.t === 'remove') {
                writes.push(s.remove(op.key));
                pending.push(() => committed.delete(op.key));
              } else if (op.t === 'meta') {
                writes.push(s.setMeta('m', op.value));
                pending.push(() => (committedMeta = op.value));
              } else {
                clock.runCommits();
                for (const apply of pending) apply();
                pending = [];
              }
            }
            const outcomes = Promise.allSettled(writes);
            s.crash();
            const settled = await outcomes;
            const rejected = settled.filter((o) => o.status === 'rejected').length;
            // Exactly the writes after the last commit were lost.
            assert.equal(rejected, pending.length);
            const r = s.reopen();
            assert.deepEqual(
              new Map([...r.keys()].map((k) => [k, r.get(k)!.n])),
              committed,
            );
            assert.equal(r.getMeta('m'), committedMeta);
          },
        ),
        { numRuns: 200 },
      );
    });

    it('crashAndRecover() is crash() then reopen()', async () => {
      const s = new MemoryStorage<Val>();
      await s.put('kept', { n: 1, s: '' }, meta(0));
      const lost = s.put('lost', { n: 2, s: '' }, meta(0));
      const r = s.crashAndRecover();
      await assert.rejects(lost, ClosedError);
      assert.deepEqual([...r.keys()], ['kept']);
    });

    it('refuses to reopen a storage that is still open', () => {
      const s = new MemoryStorage<Val>();
      assert.throws(() => s.reopen(), AssertionFailure);
    });
  });

  it('keeps values as they were when put, even if the caller mutates them later', async () => {
    const s = new MemoryStorage<Val>();
    const v: Val = { n: 1, s: 'before', tags: ['a'] };
    await s.put('k', v, meta(0));
    v.tags!.push('mutated');
    assert.deepEqual(s.durableGet('k'), { n: 1, s: 'before', tags: ['a'] });
    assert.deepEqual(s.crashAndRecover().get('k'), { n: 1, s: 'before', tags: ['a'] });
  });

  it('returns bytes the way SQLite would (Uint8Array comes back as a Buffer)', async () => {
    const s = new MemoryStorage<Uint8Array>();
    await s.put('bin', new Uint8Array([1, 2, 3]), meta(0));
    await s.close();
    const got = s.reopen().get('bin');
    assert.ok(got instanceof Uint8Array);
    assert.deepEqual([...got], [1, 2, 3]);
  });

  describe('failNextCommit', () => {
    it('rejects that batch with StorageError, keeps it out of the snapshot, and recovers', async () => {
      const s = new MemoryStorage<Val>();
      await s.put('ok', { n: 1, s: '' }, meta(0));
      s.failNextCommit('disk full');
      const failing = [s.put('bad', { n: 2, s: '' }, meta(0)), s.setMeta('m', 'x')];
      for (const p of failing) await assert.rejects(p, (e: unknown) => e instanceof StorageError && /disk full/.test(e.message));
      assert.equal(s.durableGet('bad'), undefined);
      assert.equal(s.stats().failedCommits, 1);
      await s.put('after', { n: 3, s: '' }, meta(0));
      assert.deepEqual(s.durableGet('after'), { n: 3, s: '' });
      s.crash();
      const r = s.reopen();
      assert.deepEqual(sortedKeys(r), ['after', 'ok']);
      assert.equal(r.getMeta('m'), undefined);
    });
  });
});

function sortedKeys(s: MemoryStorage<Val>): string[] {
  return [...s.keys()].sort();
}
