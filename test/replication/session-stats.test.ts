/**
 * Session TTL statistics (DESIGN.md HTTP API: /admin/sessions/stats):
 * partials, their exact merge, the finished JSON and the partition
 * assignment that counts each session once. fast-check prints the seed of
 * any failing run; replay it with `{ seed, path }` in fc.assert.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asNodeId, asPartitionId, type NodeId } from '../../src/core/ids';
import { cartAddDelta } from '../../src/crdt/cart';
import { emptySession, sessionDestroy, sessionWrite } from '../../src/crdt/session';
import type { StoredObject } from '../../src/crdt/stored-object';
import { buildRing } from '../../src/ring/ring';
import { preferenceList } from '../../src/ring/preference-list';
import { allPartitions, assignPartitions } from '../../src/replication/partition-assignment';
import {
  IDLE_BOUNDS_S, SessionStatsBuilder, TTL_BOUNDS_S, bucketOf, emptyPartial, finishStats, histogramQuantile,
  mergePartials, validateSessionStatsPartial, validateSessionStatsRequest, type SessionStatsPartial,
} from '../../src/replication/session-stats';

const NOW = 1_700_000_000_000;
const DAY_MS = 86_400_000;

interface Spec { ttlMs: number; idleMs: number; destroyed: boolean }

function obj(sp: Spec, now = NOW): StoredObject {
  let s = sessionWrite(emptySession(), { set: { u: 1 }, expiresAtMs: Math.max(0, now + sp.ttlMs) }, 1, 'n1', Math.max(0, now - sp.idleMs));
  if (sp.destroyed) s = sessionDestroy(s, Math.max(0, now - sp.idleMs));
  return { kind: 'session', s };
}

function partialOf(specs: readonly Spec[], extra: { expired?: number; swept?: number; partitions?: number } = {}): SessionStatsPartial {
  const b = new SessionStatsBuilder(NOW);
  for (const sp of specs) b.add(obj(sp));
  b.addPartitions(extra.partitions ?? 0);
  b.addSweeps(extra.expired ?? 0, extra.swept ?? 0);
  return b.result();
}

function cov(total = 0) {
  return { nowMs: NOW, partitionsTotal: total, asked: [], answered: [], failed: [] };
}

// Remaining TTLs and idle times around the bucket bounds, where off-by-one errors live.
const msAround = (bounds: readonly number[]) => fc.oneof(
  fc.integer({ min: -10_000, max: 8 * DAY_MS }),
  fc.tuple(fc.constantFrom(...bounds), fc.integer({ min: -1, max: 1 })).map(([s, d]) => s * 1000 + d),
);
const specArb: fc.Arbitrary<Spec> = fc.record({
  ttlMs: msAround(TTL_BOUNDS_S),
  idleMs: msAround(IDLE_BOUNDS_S).map((x) => Math.max(0, x)),
  destroyed: fc.boolean(),
});

describe('replication/session-stats (DESIGN.md: /admin/sessions/stats)', () => {
  it('counts live sessions only: not destroyed ones, not expired ones, not other kinds', () => {
    const b = new SessionStatsBuilder(NOW);
    b.add(obj({ ttlMs: 30_000, idleMs: 5_000, destroyed: false }));
    b.add(obj({ ttlMs: 30_000, idleMs: 5_000, destroyed: true }));
    b.add(obj({ ttlMs: 0, idleMs: 5_000, destroyed: false })); // expires exactly now: absent
    b.add(obj({ ttlMs: -1, idleMs: 5_000, destroyed: false }));
    b.add({ kind: 'cart', c: cartAddDelta('sku', 1, 'n1~0', 1) });
    b.add(undefined);
    const s = finishStats(b.result(), cov());
    assert.equal(s.active, 1);
    assert.deepEqual(s.expiringWithin, { '60': 1, '300': 1, '1800': 1 });
    assert.equal(s.idleSeconds.max, 5);
  });

  it('buckets by "at most": a TTL of exactly 60 s is within 60, 60.001 s is not', () => {
    assert.equal(bucketOf(TTL_BOUNDS_S, 60_000), 0);
    assert.equal(bucketOf(TTL_BOUNDS_S, 60_001), 1);
    assert.equal(bucketOf(TTL_BOUNDS_S, 1), 0);
    assert.equal(bucketOf(TTL_BOUNDS_S, 10 * 604_800_000), TTL_BOUNDS_S.length);
    const s = finishStats(partialOf([
      { ttlMs: 60_000, idleMs: 0, destroyed: false },
      { ttlMs: 60_001, idleMs: 0, destroyed: false },
      { ttlMs: 300_000, idleMs: 0, destroyed: false },
      { ttlMs: 1_800_001, idleMs: 0, destroyed: false },
    ]), cov());
    assert.deepEqual(s.expiringWithin, { '60': 1, '300': 3, '1800': 3 });
  });

  it('matches brute force: cumulative histogram ending at active, expiringWithin, max idle (property)', () => {
    fc.assert(fc.property(fc.array(specArb, { maxLength: 60 }), (specs) => {
      const s = finishStats(partialOf(specs), cov());
      const live = specs.filter((sp) => !sp.destroyed && sp.ttlMs > 0);
      assert.equal(s.active, live.length);
      for (const k of ['60', '300', '1800']) {
        assert.equal(s.expiringWithin[k], live.filter((sp) => sp.ttlMs <= Number(k) * 1000).length, `within ${k}`);
      }
      assert.equal(s.ttlHistogram.length, TTL_BOUNDS_S.length + 1);
      assert.deepEqual(s.ttlHistogram[s.ttlHistogram.length - 1], { le: '+Inf', count: live.length });
      s.ttlHistogram.forEach((b, i) => {
        if (i > 0) assert.ok(b.count >= s.ttlHistogram[i - 1]!.count, 'cumulative');
        if (b.le !== '+Inf') assert.equal(b.count, live.filter((sp) => sp.ttlMs <= (b.le as number) * 1000).length);
      });
      const maxIdle = live.reduce((m, sp) => Math.max(m, sp.idleMs), 0);
      assert.equal(s.idleSeconds.max, maxIdle / 1000);
      assert.ok(s.idleSeconds.p50 <= s.idleSeconds.p90 && s.idleSeconds.p90 <= s.idleSeconds.max);
    }));
  });

  it('estimates idle percentiles inside the bucket of the exact (nearest-rank) percentile (property)', () => {
    fc.assert(fc.property(fc.array(specArb, { minLength: 1, maxLength: 80 }), fc.constantFrom(0.5, 0.9), (specs, q) => {
      const live = specs.filter((sp) => !sp.destroyed && sp.ttlMs > 0).map((sp) => sp.idleMs).sort((a, b) => a - b);
      fc.pre(live.length > 0);
      const p = partialOf(specs);
      const est = histogramQuantile(IDLE_BOUNDS_S, p.idleCounts, q, p.idleMaxMs / 1000);
      const exact = live[Math.ceil(q * live.length) - 1]!;
      const i = bucketOf(IDLE_BOUNDS_S, exact);
      const lower = i === 0 ? 0 : IDLE_BOUNDS_S[i - 1]!;
      const upper = i < IDLE_BOUNDS_S.length ? IDLE_BOUNDS_S[i]! : Infinity;
      assert.ok(est >= lower && est <= upper, `estimate ${est} outside (${lower}, ${upper}] of exact ${exact / 1000}`);
      assert.ok(est <= live[live.length - 1]! / 1000 + 1e-9);
    }));
  });

  it('merging the partials of disjoint sets gives the partial of their union, in any grouping (property)', () => {
    const part = fc.record({
      specs: fc.array(specArb, { maxLength: 25 }),
      expired: fc.nat(50), swept: fc.nat(50), partitions: fc.nat(20),
    });
    fc.assert(fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
      const partials = parts.map((x) => partialOf(x.specs, x));
      const union = partialOf(parts.flatMap((x) => x.specs), {
        expired: parts.reduce((a, x) => a + x.expired, 0),
        swept: parts.reduce((a, x) => a + x.swept, 0),
        partitions: parts.reduce((a, x) => a + x.partitions, 0),
      });
      const leftFold = partials.reduce(mergePartials, emptyPartial());
      const rightFold = partials.reduceRight((acc, x) => mergePartials(x, acc), emptyPartial());
      assert.deepEqual(leftFold, union);
      assert.deepEqual(rightFold, union);
      assert.deepEqual(finishStats(leftFold, cov(100)), finishStats(union, cov(100)));
    }));
  });

  it('finishes the DESIGN.md JSON shape, partial when partitions are missing', () => {
    const s = finishStats(partialOf([{ ttlMs: 1_000, idleMs: 2_000, destroyed: false }], { expired: 2, swept: 5, partitions: 3 }), {
      nowMs: NOW, partitionsTotal: 4, asked: ['n1', 'n2'], answered: ['n1'], failed: ['n2'],
    });
    assert.deepEqual(Object.keys(s).sort(), [
      'active', 'asOf', 'asOfMs', 'expiredPerMinute', 'expiringWithin', 'idleHistogram', 'idleSeconds', 'nodes',
      'partial', 'partitions', 'sweptPerMinute', 'ttlHistogram',
    ]);
    assert.equal(s.asOf, new Date(NOW).toISOString());
    assert.equal(s.expiredPerMinute, 2);
    assert.equal(s.sweptPerMinute, 5);
    assert.equal(s.partial, true);
    assert.deepEqual(s.partitions, { total: 4, covered: 3 });
    assert.equal(finishStats(emptyPartial(), cov(0)).partial, false);
    assert.deepEqual(finishStats(emptyPartial(), cov(0)).idleSeconds, { p50: 0, p90: 0, max: 0 });
  });

  it('rejects malformed partials and requests from peers', () => {
    const good = partialOf([{ ttlMs: 1_000, idleMs: 0, destroyed: false }], { partitions: 2 });
    assert.deepEqual(validateSessionStatsPartial(JSON.parse(JSON.stringify(good)), 256), good);
    const bad: unknown[] = [
      null, 'x', { ...good, active: 2 }, { ...good, active: -1 }, { ...good, ttlCounts: good.ttlCounts.slice(1) },
      { ...good, idleCounts: good.idleCounts.map(() => 0) }, { ...good, partitions: 300 }, { ...good, swept: 1.5 },
    ];
    for (const b of bad) assert.throws(() => validateSessionStatsPartial(b, 256), { code: 'RS_ERR_BAD_REQUEST' });
    assert.deepEqual(validateSessionStatsRequest({ type: 'session-stats', partitions: [3, 1], nowMs: NOW }, 8), {
      partitions: [3, 1], nowMs: NOW,
    });
    for (const b of [{ partitions: [8], nowMs: NOW }, { partitions: [1, 1], nowMs: NOW }, { partitions: [1], nowMs: -1 },
      { partitions: 'all', nowMs: NOW }, { partitions: [0.5], nowMs: NOW }, { partitions: Array.from({ length: 9 }, (_, i) => i), nowMs: NOW }]) {
      assert.throws(() => validateSessionStatsRequest(b, 8), { code: 'RS_ERR_BAD_REQUEST' });
    }
  });
});

describe('replication/partition-assignment (each partition counted by one replica)', () => {
  const ring = buildRing(['a', 'b', 'c', 'd', 'e'].map((id, i) => ({ id: asNodeId(id), region: `r${i % 3}`, joinedAtMs: i })), 64);

  it('gives every partition to the first usable node of its preference list, exactly once (property)', () => {
    fc.assert(fc.property(fc.subarray(['a', 'b', 'c', 'd', 'e']), fc.integer({ min: 1, max: 5 }), (downIds, n) => {
      const down = new Set(downIds as string[]);
      const usable = (id: NodeId): boolean => !down.has(id);
      const a = assignPartitions(ring, n, allPartitions(ring), usable);
      const seen = new Map<number, NodeId>();
      for (const [node, parts] of a.byNode) for (const p of parts) {
        assert.ok(!seen.has(p), `partition ${p} assigned twice`);
        seen.set(p, node);
      }
      for (const p of a.unassigned) assert.ok(!seen.has(p));
      assert.equal(seen.size + a.unassigned.length, ring.q);
      for (const p of allPartitions(ring)) {
        const first = preferenceList(ring, p, n).find(usable);
        if (first === undefined) assert.ok(a.unassigned.includes(p));
        else assert.equal(seen.get(p), first);
      }
    }));
  });

  it('reassigns only the partitions asked about', () => {
    const a = assignPartitions(ring, 3, [asPartitionId(5), asPartitionId(9)], () => true);
    const all = [...a.byNode.values()].flat().sort((x, y) => x - y);
    assert.deepEqual(all, [5, 9]);
  });
});
