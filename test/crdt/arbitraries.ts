/**
 * fast-check arbitraries for CRDT property tests: random executions over a few
 * replicas (local operations interleaved with random merges), so the states
 * under test are ones a real cluster can reach, not arbitrary garbage.
 */
import fc from 'fast-check';
import { dvvScheduleArb, runDvvSchedule } from '../clock/dvv-schedule';
import {
  cartAddDelta, cartEntryDotId, cartNextCounter, cartRemove, cartSet, emptyCart, mergeCarts, type CartState,
} from '../../src/crdt/cart';
import {
  emptySession, mergeSessions, sessionDestroy, sessionTouch, sessionWrite, type SessionState,
} from '../../src/crdt/session';
import type { OpaqueValue, StoredObject } from '../../src/crdt/stored-object';

// ---- sessions ----

const FIELDS = ['a', 'b', 'c', '__proto__'];

type SessionOp =
  | { t: 'write'; at: number; set: [string, unknown][]; del: string[]; stamp: number; writer: string; exp: number | null; now: number }
  | { t: 'touch'; at: number; exp: number; now: number }
  | { t: 'destroy'; at: number; now: number }
  | { t: 'merge'; from: number; to: number };

function sessionOpArb(replicas: number): fc.Arbitrary<SessionOp> {
  const at = fc.nat(replicas - 1);
  const ms = fc.nat(100);
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('write' as const),
        at,
        set: fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }),
        del: fc.subarray(FIELDS, { maxLength: 2 }),
        // Few stamps and writers, so equal stamps and even equal (stamp, writer) pairs occur.
        stamp: fc.nat(12),
        writer: fc.constantFrom('n0', 'n1'),
        exp: fc.option(ms, { nil: null }),
        now: ms,
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('touch' as const), at, exp: ms, now: ms }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('destroy' as const), at, now: ms }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('merge' as const), from: at, to: at }) },
  );
}

/** Every state the replicas went through (the final replica states last). */
export function sessionStatesArb(replicas = 3, maxOps = 25): fc.Arbitrary<SessionState[]> {
  return fc.array(sessionOpArb(replicas), { minLength: 1, maxLength: maxOps }).map((ops) => {
    const rs: SessionState[] = Array.from({ length: replicas }, emptySession);
    const seen: SessionState[] = [];
    for (const op of ops) {
      if (op.t === 'merge') {
        rs[op.to] = mergeSessions(rs[op.to]!, rs[op.from]!);
        seen.push(rs[op.to]!);
        continue;
      }
      const s = rs[op.at]!;
      rs[op.at] =
        op.t === 'write'
          ? sessionWrite(s, { set: Object.fromEntries(op.set), del: op.del, ...(op.exp === null ? {} : { expiresAtMs: op.exp }) }, op.stamp, op.writer, op.now)
          : op.t === 'touch'
            ? sessionTouch(s, op.exp, op.now)
            : sessionDestroy(s, op.now);
      seen.push(rs[op.at]!);
    }
    return [...seen, ...rs];
  });
}

// ---- carts ----

const ITEMS = ['apple', 'pear', 'plum'];

type CartOp =
  | { t: 'add'; at: number; item: string; qty: number }
  | { t: 'remove'; at: number; item: string }
  | { t: 'set'; at: number; item: string; qty: number }
  | { t: 'merge'; from: number; to: number }
  | { t: 'deliver'; delta: number; to: number };

export interface CartRun {
  readonly replicas: CartState[];
  /** Every state some replica held, and every add delta. */
  readonly snapshots: CartState[];
  /** The add deltas, in the order they were minted (an add is shipped as one, coordinator.ts). */
  readonly deltas: CartState[];
  /** Every add minted: dot id -> [item, qty]. */
  readonly minted: Map<string, readonly [string, number]>;
  /** Dot ids some remove (or set) observed at its replica. */
  readonly removedObserved: Set<string>;
}

function cartOpArb(replicas: number): fc.Arbitrary<CartOp> {
  const at = fc.nat(replicas - 1);
  const item = fc.constantFrom(...ITEMS);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('add' as const), at, item, qty: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('remove' as const), at, item }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('set' as const), at, item, qty: fc.integer({ min: 0, max: 3 }) }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('merge' as const), from: at, to: at }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('deliver' as const), delta: fc.nat(50), to: at }) },
  );
}

/**
 * Runs ops on `replicas` replicas, replica r minting under actor `r<r>` the
 * way a coordinator does: one past what its own copy covers. An add is
 * applied as its delta; `deliver` hands an earlier delta to another replica
 * (a replica that missed the actor's earlier dots holds it in its cloud).
 */
export function runCartOps(ops: readonly CartOp[], replicas: number): CartRun {
  const rs: CartState[] = Array.from({ length: replicas }, emptyCart);
  const snapshots: CartState[] = [];
  const deltas: CartState[] = [];
  const minted = new Map<string, readonly [string, number]>();
  const removedObserved = new Set<string>();
  const observe = (s: CartState, item: string) => {
    for (const e of s.entries) if (e[2] === item) removedObserved.add(cartEntryDotId(e));
  };
  for (const op of ops) {
    if (op.t === 'merge') {
      rs[op.to] = mergeCarts(rs[op.to]!, rs[op.from]!);
      snapshots.push(rs[op.to]!);
      continue;
    }
    if (op.t === 'deliver') {
      if (deltas.length > 0) rs[op.to] = mergeCarts(rs[op.to]!, deltas[op.delta % deltas.length]!);
      snapshots.push(rs[op.to]!);
      continue;
    }
    const s = rs[op.at]!;
    const actor = `r${op.at}`;
    const counter = cartNextCounter(s, actor);
    if (op.t === 'add') {
      const delta = cartAddDelta(op.item, op.qty, actor, counter);
      rs[op.at] = mergeCarts(s, delta);
      deltas.push(delta);
      snapshots.push(delta);
      minted.set(cartEntryDotId(delta.entries[0]!), [op.item, op.qty]);
    } else if (op.t === 'remove') {
      observe(s, op.item);
      rs[op.at] = cartRemove(s, op.item);
    } else {
      observe(s, op.item);
      rs[op.at] = cartSet(s, op.item, op.qty, actor, counter);
      if (op.qty > 0) minted.set(`${actor}#${counter}`, [op.item, op.qty]);
    }
    snapshots.push(rs[op.at]!);
  }
  return { replicas: rs, snapshots, deltas, minted, removedObserved };
}

export function cartRunArb(replicas = 3, maxOps = 30): fc.Arbitrary<CartRun> {
  return fc.array(cartOpArb(replicas), { minLength: 1, maxLength: maxOps }).map((ops) => runCartOps(ops, replicas));
}

// ---- opaque values and stored objects ----

export function opaqueValueOf(n: number): OpaqueValue {
  // Every fourth write is a delete, so tombstone siblings mix with live ones.
  return n % 4 === 3 ? null : { ct: n % 2 === 0 ? 'text/plain' : 'application/octet-stream', b: Uint8Array.of(n & 255, n >> 8) };
}

export function opaqueObjectsArb(replicas = 3, maxOps = 25): fc.Arbitrary<StoredObject[]> {
  return dvvScheduleArb(replicas, maxOps).map((ops) => {
    const run = runDvvSchedule(ops, replicas, opaqueValueOf);
    return [...run.snapshots, ...run.replicas].map((dvv): StoredObject => ({ kind: 'opaque', dvv }));
  });
}

/** States of one key from each kind's execution: mixing them models concurrent creates of different types. */
export function storedObjectsArb(): fc.Arbitrary<StoredObject[]> {
  return fc
    .tuple(opaqueObjectsArb(), sessionStatesArb(), cartRunArb())
    .map(([opaque, sessions, cartRun]) => [
      ...opaque,
      ...sessions.map((s): StoredObject => ({ kind: 'session', s })),
      ...cartRun.snapshots.map((c): StoredObject => ({ kind: 'cart', c })),
    ]);
}

/** Picks three entries of a non-empty list by free indices. */
export const threeIndices = fc.tuple(fc.nat(), fc.nat(), fc.nat());
export function pick3<T>(xs: readonly T[], [i, j, k]: [number, number, number]): [T, T, T] {
  return [xs[i % xs.length]!, xs[j % xs.length]!, xs[k % xs.length]!];
}
