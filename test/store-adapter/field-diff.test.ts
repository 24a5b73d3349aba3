/**
 * The store adapter's pure parts: field-level change detection
 * (store-adapter/field-diff.ts), expiry from the cookie
 * (store-adapter/session-expiry.ts) and the bounded snapshot LRU.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { diffSnapshot, fieldsOf, jsonSnapshot, snapshotOf } from '../../store-adapter/field-diff';
import { sessionExpiresAtMs } from '../../store-adapter/session-expiry';
import { SnapshotLru } from '../../store-adapter/snapshot-lru';

const fieldsArb = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'cookie', 'user'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 });

describe('store-adapter/field-diff: only changed fields are sent', () => {
  it('applying the change to what was loaded gives the saved session, and unchanged fields are not sent', () => {
    const seed = Date.now() % 2 ** 31;
    console.log(`      fast-check seed ${seed}`);
    fc.assert(fc.property(fieldsArb, fieldsArb, (loadedData, nowData) => {
      const loaded = snapshotOf(JSON.parse(JSON.stringify(loadedData)) as Record<string, unknown>);
      const now = jsonSnapshot(nowData);
      const change = diffSnapshot(loaded, now.snapshot);
      const applied = new Map(loaded);
      for (const [k, v] of Object.entries(change.set)) applied.set(k, JSON.stringify(v));
      for (const k of change.del) applied.delete(k);
      assert.deepEqual(new Map([...applied].sort()), new Map([...now.snapshot].sort()));
      for (const k of Object.keys(change.set)) assert.notEqual(loaded.get(k), now.snapshot.get(k), `${k} was unchanged`);
    }), { seed, numRuns: 300 });
  });

  it('serialises field by field exactly as JSON.parse(JSON.stringify(session)) would give the fields', () => {
    class WithToJson {
      constructor(readonly x: number) {}
      toJSON(): string { return `x=${this.x}`; }
    }
    const extra = fc.record({
      when: fc.date({ noInvalidDate: true }),
      gone: fc.constant(undefined),
      fn: fc.constant(() => 1),
      custom: fc.integer().map((x) => new WithToJson(x)),
      'odd "name"\u2028': fc.string(),
      '7': fc.integer(),
    }, { requiredKeys: [] });
    fc.assert(fc.property(fieldsArb, extra, (fields, more) => {
      const session = { ...fields, ...more };
      const text = JSON.stringify(session);
      const expected = new Map(Object.entries(JSON.parse(text) as Record<string, unknown>).map(([k, v]) => [k, JSON.stringify(v)]));
      const got = jsonSnapshot(session);
      assert.deepEqual([...got.snapshot], [...expected]);
      assert.equal(got.bytes, Buffer.byteLength(text));
    }), { numRuns: 300 });
    // Whole-text path: a session with its own toJSON.
    const own = { a: 1, toJSON: () => ({ b: 2 }) };
    assert.deepEqual([...jsonSnapshot(own).snapshot], [['b', '2']]);
  });

  it('diffSnapshot sends the JSON values of the changed fields and names the removed ones', () => {
    fc.assert(fc.property(fieldsArb, fieldsArb, (loadedData, nowData) => {
      const loaded = snapshotOf(JSON.parse(JSON.stringify(loadedData)) as Record<string, unknown>);
      // The change worked out naively from the sessions as JSON.
      const now = JSON.parse(JSON.stringify(nowData)) as Record<string, unknown>;
      const expected = {
        set: Object.fromEntries(Object.entries(now).filter(([k, v]) => loaded.get(k) !== JSON.stringify(v))),
        del: [...loaded.keys()].filter((k) => !(k in now)),
      };
      assert.deepEqual(diffSnapshot(loaded, jsonSnapshot(nowData).snapshot), expected);
    }), { numRuns: 300 });
  });

  it('stores what JSON keeps: Dates as ISO strings, undefined and functions dropped; refuses cycles and BigInt', () => {
    const when = new Date(0);
    const { snapshot, bytes } = jsonSnapshot({ when, gone: undefined, fn: () => 1, n: 1 });
    const fields = fieldsOf(snapshot);
    assert.deepEqual(fields, { when: '1970-01-01T00:00:00.000Z', n: 1 });
    assert.equal(bytes, Buffer.byteLength(JSON.stringify(fields)));
    const cyclic: Record<string, unknown> = {};
    cyclic.me = cyclic;
    assert.throws(() => jsonSnapshot(cyclic), TypeError);
    assert.throws(() => jsonSnapshot({ n: BigInt(1) }), TypeError);
    assert.throws(() => jsonSnapshot([1, 2]), TypeError);
  });
});

describe('store-adapter/session-expiry: expiry like connect-redis', () => {
  const NOW = 1_000_000;
  it('uses cookie.expires (Date or ISO string), else cookie.maxAge, else the ttl', () => {
    assert.equal(sessionExpiresAtMs({ cookie: { expires: new Date(NOW + 5) } }, NOW, 10), NOW + 5);
    assert.equal(sessionExpiresAtMs({ cookie: { expires: new Date(NOW + 7).toISOString() } }, NOW, 10), NOW + 7);
    assert.equal(sessionExpiresAtMs({ cookie: { expires: null, maxAge: 3000 } }, NOW, 10), NOW + 3000);
    assert.equal(sessionExpiresAtMs({ cookie: { expires: 'not a date' } }, NOW, 10), NOW + 10_000);
    assert.equal(sessionExpiresAtMs({}, NOW, 10), NOW + 10_000);
    assert.equal(sessionExpiresAtMs(null, NOW, 86400), NOW + 86_400_000);
  });
});

describe('store-adapter/snapshot-lru', () => {
  it('keeps the most recently used snapshots up to its bound', () => {
    const lru = new SnapshotLru(2);
    lru.set('a', new Map([['x', '1']]));
    lru.set('b', new Map());
    assert.ok(lru.get('a'));
    lru.set('c', new Map());
    assert.equal(lru.size, 2);
    assert.equal(lru.get('b'), undefined, 'b was least recently used');
    assert.ok(lru.get('a') && lru.get('c'));
  });

  it('holds at most its bound, keeps what was used within the last half-bound uses, and returns the latest snapshot', () => {
    // Few sids and long runs, so that generations fill, rotate and drop entries.
    const opArb = fc.record({ kind: fc.constantFrom('set', 'get', 'get', 'delete'), sid: fc.integer({ min: 0, max: 9 }) });
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(opArb, { minLength: 40, maxLength: 200 }), (max, ops) => {
      const lru = new SnapshotLru(max);
      const recent = Math.floor(max / 2);
      const latest = new Map<string, Map<string, string>>();
      // Every use (a set, or a get that found its sid), in order, and where each live sid was last used.
      let uses = 0;
      const lastUse = new Map<string, number>();
      ops.forEach(({ kind, sid: n }, i) => {
        const sid = `s${n}`;
        if (kind === 'set') {
          const snap = new Map([['v', String(i)]]);
          lru.set(sid, snap);
          latest.set(sid, snap);
          lastUse.set(sid, uses++);
        } else if (kind === 'delete') {
          lru.delete(sid);
          latest.delete(sid);
          lastUse.delete(sid);
        } else {
          const got = lru.get(sid);
          // Whatever it returns is the snapshot last set for that sid, never an older one.
          if (got !== undefined) assert.equal(got, latest.get(sid));
          // Fewer than max/2 uses of other sids since its own last use: still held (deletes free no room early).
          const last = lastUse.get(sid);
          if (last !== undefined && uses - 1 - last < recent) assert.ok(got !== undefined, `${sid} was used recently`);
          if (got !== undefined) lastUse.set(sid, uses++);
        }
        assert.ok(lru.size <= max, `size ${lru.size} over ${max}`);
      });
    }));
  });
});
