/**
 * Random update/sync schedules over a few replicas for DVV property tests
 * (shared with test/crdt). Replica i coordinates writes as actor `r<i>`, so
 * actors are unique per replica as in the real system. A write takes its
 * context from what a client read at some replica (or none: a blind write).
 */
import fc from 'fast-check';
import { asActorId } from '../../src/core/ids';
import { dvvSync, dvvUpdate, emptyDvv, type Dot, type Dvv } from '../../src/clock/dvv';
import { vvGet, type VersionVector } from '../../src/clock/version-vector';

export type DvvOp =
  | { readonly t: 'write'; readonly at: number; readonly ctxFrom: number | null }
  | { readonly t: 'sync'; readonly from: number; readonly to: number };

export function dvvOpArb(replicas: number): fc.Arbitrary<DvvOp> {
  const idx = fc.nat(replicas - 1);
  return fc.oneof(
    fc.record({ t: fc.constant('write' as const), at: idx, ctxFrom: fc.option(idx, { nil: null }) }),
    fc.record({ t: fc.constant('sync' as const), from: idx, to: idx }),
  );
}

export function dvvScheduleArb(replicas: number, maxOps = 40): fc.Arbitrary<DvvOp[]> {
  return fc.array(dvvOpArb(replicas), { minLength: 1, maxLength: maxOps });
}

export interface WriteRecord<V> {
  readonly dot: Dot;
  readonly context: VersionVector;
  readonly value: V;
}

export interface DvvRun<V> {
  readonly replicas: Dvv<V>[];
  /** Every state any replica went through, in order. */
  readonly snapshots: Dvv<V>[];
  readonly writes: WriteRecord<V>[];
}

export function runDvvSchedule<V>(ops: readonly DvvOp[], replicaCount: number, valueOf: (i: number) => V): DvvRun<V> {
  const replicas: Dvv<V>[] = Array.from({ length: replicaCount }, () => emptyDvv<V>());
  const snapshots: Dvv<V>[] = [];
  const writes: WriteRecord<V>[] = [];
  for (const op of ops) {
    if (op.t === 'write') {
      const context = op.ctxFrom === null ? {} : replicas[op.ctxFrom]!.vv;
      const value = valueOf(writes.length);
      const actor = asActorId(`r${op.at}`);
      const next = dvvUpdate(replicas[op.at]!, context, value, actor);
      writes.push({ dot: [actor, vvGet(next.vv, actor)], context, value });
      replicas[op.at] = next;
      snapshots.push(next);
    } else {
      replicas[op.to] = dvvSync(replicas[op.to]!, replicas[op.from]!);
      snapshots.push(replicas[op.to]!);
    }
  }
  return { replicas, snapshots, writes };
}
