/**
 * Member tables merge by gossip (Dynamo 4.8.1): the record with the higher
 * incarnation wins, so merging is a join: order and repetition do not matter.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asNodeId } from '../../src/core/ids';
import {
  emptyTable, mergeMembers, parseMemberRecord, type MemberRecord, type MemberTable,
} from '../../src/membership/member-table';

const arbRecord: fc.Arbitrary<MemberRecord> = fc.record({
  id: fc.constantFrom('a', 'b', 'c', 'd').map(asNodeId),
  addr: fc.constantFrom('h:1', 'h:2'),
  region: fc.constantFrom('r1', 'r2'),
  joinedAtMs: fc.integer({ min: 0, max: 10 }),
  incarnation: fc.integer({ min: 0, max: 5 }),
  status: fc.constantFrom('alive' as const, 'leaving' as const),
});

const canon = (t: MemberTable): string => JSON.stringify([...t.values()].sort((x, y) => (x.id < y.id ? -1 : 1)));
const fold = (recs: MemberRecord[]): MemberTable => mergeMembers(emptyTable(), recs).table;

describe('membership/member-table (Dynamo 4.8.1: gossip-merged membership)', () => {
  it('lets a higher incarnation win, whatever arrives first', () => {
    const old: MemberRecord = { id: asNodeId('a'), addr: 'h:1', region: 'r', joinedAtMs: 1, incarnation: 1, status: 'alive' };
    const leaving: MemberRecord = { ...old, incarnation: 2, status: 'leaving' };
    assert.equal(fold([old, leaving]).get(old.id)!.status, 'leaving');
    assert.equal(fold([leaving, old]).get(old.id)!.status, 'leaving');
  });

  it('reports only records that were new or newer', () => {
    const a: MemberRecord = { id: asNodeId('a'), addr: 'h:1', region: 'r', joinedAtMs: 1, incarnation: 3, status: 'alive' };
    const t = fold([a]);
    const r = mergeMembers(t, [{ ...a, incarnation: 2 }, a]);
    assert.deepEqual(r.changed, []);
    assert.equal(r.table, t, 'an unchanged merge returns the same table');
  });

  it('merges commutatively, associatively and idempotently', () => {
    fc.assert(fc.property(fc.array(arbRecord, { maxLength: 12 }), fc.array(arbRecord, { maxLength: 12 }), fc.array(arbRecord, { maxLength: 12 }), (x, y, z) => {
      const tx = fold(x);
      const ty = fold(y);
      const tz = fold(z);
      const m = (a: MemberTable, b: MemberTable): MemberTable => mergeMembers(a, [...b.values()]).table;
      assert.equal(canon(m(tx, ty)), canon(m(ty, tx)));
      assert.equal(canon(m(m(tx, ty), tz)), canon(m(tx, m(ty, tz))));
      assert.equal(canon(m(tx, tx)), canon(tx));
    }), { numRuns: 300 });
  });

  it('rejects malformed records from the wire', () => {
    for (const bad of [null, {}, { id: '', addr: 'h', region: 'r', joinedAtMs: 1, incarnation: 0, status: 'alive' },
      { id: 'a', addr: 'h', region: 'r', joinedAtMs: 1, incarnation: -1, status: 'alive' },
      { id: 'a', addr: 'h', region: 'r', joinedAtMs: 1, incarnation: 0, status: 'down' }]) {
      assert.throws(() => parseMemberRecord(bad), /malformed/);
    }
  });
});
