/**
 * The end-of-run checks on hand-made histories and replica states: each
 * catches the loss it is for, and lets through what the protocol may
 * legitimately do (supersede a write, keep concurrent siblings, expire a
 * session).
 */
import { strict as assert } from 'node:assert';
import { asActorId, asNodeId, type NodeId } from '../../src/core/ids';
import { dvvUpdate, emptyDvv } from '../../src/clock/dvv';
import type { VersionVector } from '../../src/clock/version-vector';
import { cartAddDelta, cartRemove, emptyCart, mergeCarts } from '../../src/crdt/cart';
import { emptySession, sessionWrite } from '../../src/crdt/session';
import type { OpaqueValue, StoredObject } from '../../src/crdt/stored-object';
import { History, type OpRecord } from './history';
import { checkDeletes, checkReplicas, checkSessionRead, type ReplicaView } from './invariants';

const N1 = asNodeId('n1');
const N2 = asNodeId('n2');
const N3 = asNodeId('n3');
const P = asActorId('n1~1');

const val = (s: string): OpaqueValue => ({ ct: 'text/plain', b: new Uint8Array(Buffer.from(s)) });

function opaque(...writes: [context: VersionVector, value: string][]): StoredObject {
  let dvv = emptyDvv<OpaqueValue>();
  for (const [ctx, v] of writes) dvv = dvvUpdate(dvv, ctx, val(v), P);
  return { kind: 'opaque', dvv };
}

function acked(h: History, fields: Omit<OpRecord, 'id' | 'endMs' | 'outcome' | 'node' | 'startMs'>, startMs: number, result?: StoredObject): OpRecord {
  const op = h.begin({ ...fields, node: N1, startMs });
  h.settle(op, 'ok', startMs + 5);
  op.result = result;
  return op;
}

function check(h: History, state: Record<string, (StoredObject | undefined)[]>, hints = 0) {
  return checkReplicas({
    history: h,
    replicasOf: (key): ReplicaView[] => (state[key] ?? []).map((obj, i) => ({ node: [N1, N2, N3][i] as NodeId, obj })),
    hintCounts: [{ node: N1, hints }],
  });
}

const kinds = (vs: { kind: string }[]): string[] => [...new Set(vs.map((v) => v.kind))].sort();

describe('sim/invariants', () => {
  it('accepts an acknowledged put held by every replica', () => {
    const h = new History();
    const obj = opaque([{}, 'w1']);
    acked(h, { kind: 'put', key: 'k', value: 'w1', context: {}, dot: [P, 1] }, 0, obj);
    assert.deepEqual(check(h, { k: [obj, obj, obj] }), []);
  });

  it('reports an acknowledged put that is gone and not covered, and a replica that differs', () => {
    const h = new History();
    const obj = opaque([{}, 'w1']);
    acked(h, { kind: 'put', key: 'k', value: 'w1', context: {}, dot: [P, 1] }, 0, obj);
    assert.deepEqual(kinds(check(h, { k: [obj, obj, undefined] })), ['acked-write-lost', 'divergence']);
  });

  it('accepts a put replaced by a write whose context covered it, and rejects one replaced by nobody', () => {
    const h = new History();
    const first = opaque([{}, 'w1']);
    const second = opaque([{}, 'w1'], [{ [P]: 1 }, 'w2']);
    acked(h, { kind: 'put', key: 'k', value: 'w1', context: {}, dot: [P, 1] }, 0, first);
    assert.deepEqual(check(h, { k: [second, second, second] }).map((v) => v.kind), ['superseded-by-nothing', 'superseded-by-nothing', 'superseded-by-nothing', 'sibling-from-nowhere']);
    acked(h, { kind: 'put', key: 'k', value: 'w2', context: { [P]: 1 }, dot: [P, 2] }, 10, second);
    assert.deepEqual(check(h, { k: [second, second, second] }), []);
  });

  it('accepts concurrent blind writes as siblings but not a sibling an acknowledged write replaced', () => {
    const h = new History();
    const both = opaque([{}, 'w1'], [{}, 'w2']);
    acked(h, { kind: 'put', key: 'k', value: 'w1', context: {}, dot: [P, 1] }, 0, opaque([{}, 'w1']));
    acked(h, { kind: 'put', key: 'k', value: 'w2', context: {}, dot: [P, 2] }, 0, both);
    assert.deepEqual(check(h, { k: [both, both, both] }), []);
    // A third write had seen w1 and replaced it: w1 must not survive as a sibling.
    acked(h, { kind: 'put', key: 'k', value: 'w3', context: { [P]: 1 } }, 20);
    const withW3 = opaque([{}, 'w1'], [{}, 'w2'], [{}, 'w3']);
    assert.ok(kinds(check(h, { k: [withW3, withW3, withW3] })).includes('siblings-exceed-writers'));
  });

  it('reports a reused dot: the acknowledged dot holds another value', () => {
    const h = new History();
    acked(h, { kind: 'put', key: 'k', value: 'w1', context: {}, dot: [P, 1] }, 0, opaque([{}, 'w1']));
    h.begin({ kind: 'put', key: 'k', value: 'other', context: {}, node: N1, startMs: 1 });
    const clash = opaque([{}, 'other']);
    assert.ok(kinds(check(h, { k: [clash, clash, clash] })).includes('dot-reused'));
  });

  it('reports a session field held below the acknowledged stamp, and accepts a later-stamped overwrite', () => {
    const h = new History();
    const mine = sessionWrite(emptySession(), { set: { a: 'v1' }, expiresAtMs: 5_000 }, 1_000, 'n1', 0);
    const older = sessionWrite(emptySession(), { set: { a: 'v0' }, expiresAtMs: 5_000 }, 900, 'n2', 0);
    const newer = sessionWrite(emptySession(), { set: { a: 'v2' }, expiresAtMs: 5_000 }, 2_000, 'n2', 0);
    acked(h, { kind: 'session-write', key: 's', set: { a: 'v1' }, del: [], expiresAtMs: 5_000 }, 0, { kind: 'session', s: mine });
    const o = (s: typeof mine): StoredObject => ({ kind: 'session', s });
    assert.deepEqual(kinds(check(h, { s: [o(older), o(older), o(older)] })), ['session-field-lost']);
    assert.deepEqual(check(h, { s: [o(newer), o(newer), o(newer)] }), []);
  });

  it('reports a lost cart add and an undone remove, and accepts an add removed by a remove that saw it', () => {
    const h = new History();
    const added = cartAddDelta('sku', 7, 'n1~1', 1);
    acked(h, { kind: 'cart-add', key: 'c', item: 'sku', qty: 7, addDot: ['n1~1', 1] }, 0, { kind: 'cart', c: added });
    const empty: StoredObject = { kind: 'cart', c: emptyCart() };
    assert.deepEqual(kinds(check(h, { c: [empty, empty, empty] })), ['cart-add-lost']);
    // Covered by the context but not held, and no remove can have seen it: removed by nobody.
    const dropped: StoredObject = { kind: 'cart', c: cartRemove(mergeCarts(added, emptyCart()), 'sku') };
    assert.deepEqual(kinds(check(h, { c: [dropped, dropped, dropped] })), ['cart-add-removed-by-nobody']);
    const removed: StoredObject = { kind: 'cart', c: cartRemove(added, 'sku') };
    acked(h, { kind: 'cart-remove', key: 'c', item: 'sku' }, 10, removed);
    assert.deepEqual(check(h, { c: [removed, removed, removed] }), []);
    const back: StoredObject = { kind: 'cart', c: added };
    assert.ok(kinds(check(h, { c: [back, back, back] })).includes('cart-remove-undone'));
  });

  it('reports hints left undelivered', () => {
    assert.deepEqual(kinds(check(new History(), {}, 3)), ['hints-undelivered']);
  });

  it('judges session expiry outside the skew window only', () => {
    const h = new History();
    acked(h, { kind: 'session-write', key: 's', set: { a: 'v' }, del: [], expiresAtMs: 10_000 }, 0);
    const s: StoredObject = { kind: 'session', s: sessionWrite(emptySession(), { set: { a: 'v' }, expiresAtMs: 10_000 }, 1, 'n1', 0) };
    const read = (nodeNowMs: number, obj: StoredObject | null = s) => checkSessionRead(h, { key: 's', node: N1, obj, nodeNowMs }, nodeNowMs, 500);
    assert.deepEqual(read(20_000), [], 'expired and reads as absent');
    assert.deepEqual(read(5_000), [], 'live and reads as live');
    assert.deepEqual(kinds(read(5_000, null)), ['live-session-absent']);
    // Expired long ago by the true clock, but the reading node's clock is far behind.
    assert.deepEqual(kinds(checkSessionRead(h, { key: 's', node: N1, obj: s, nodeNowMs: 5_000 }, 20_000, 500)), ['expired-session-live']);
    // Within the skew window either answer is right.
    assert.deepEqual(checkSessionRead(h, { key: 's', node: N1, obj: s, nodeNowMs: 9_999 }, 10_200, 500), []);
  });

  it('reports a deleted value held again or read back after a reap, and accepts a key reaped everywhere', () => {
    const h = new History();
    const written = opaque([{}, 'w1']);
    acked(h, { kind: 'put', key: 'k', value: 'w1', context: {}, dot: [P, 1] }, 0, written);
    const tomb: StoredObject = { kind: 'opaque', dvv: dvvUpdate(written.kind === 'opaque' ? written.dvv : emptyDvv(), { [P]: 1 }, null, P) };
    acked(h, { kind: 'delete', key: 'k', context: { [P]: 1 }, dot: [P, 2] }, 10, tomb);
    const input = (state: (StoredObject | undefined)[]) => ({
      history: h, reaped: true, hintCounts: [],
      replicasOf: (): ReplicaView[] => state.map((obj, i) => ({ node: [N1, N2, N3][i] as NodeId, obj })),
    });
    const reaps = [{ node: N1, key: 'k', vv: { [P]: 2 }, atMs: 30 }];
    assert.deepEqual(checkReplicas(input([undefined, undefined, undefined])), [], 'absent everywhere after a reap is fine');
    assert.deepEqual(checkDeletes(input([undefined, undefined, undefined]), [{ key: 'k', node: N2, obj: null }], reaps), []);
    assert.deepEqual(kinds(checkDeletes(input([undefined, written, undefined]), [], reaps)), ['deleted-value-resurrected']);
    const readBack = h.begin({ kind: 'get', key: 'k', node: N1, startMs: 40 });
    h.settle(readBack, 'ok', 45);
    readBack.result = written;
    assert.deepEqual(kinds(checkDeletes(input([undefined, undefined, undefined]), [], reaps)), ['deleted-value-read-back']);
  });
});
