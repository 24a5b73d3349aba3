import { strict as assert } from 'node:assert';
import { SessionTokens } from '../../src/client/session-tokens';

describe('client/session-tokens', () => {
  it('keeps the highest stamp and the node that answered with it', () => {
    const t = new SessionTokens<string>(10);
    t.note('s', 5, 'n1');
    t.note('s', 3, 'n2'); // an older answer changes nothing
    assert.deepEqual(t.get('s'), { stamp: 5, node: 'n1', destroyed: false });
    t.note('s', 5, 'n3'); // as new: this node has it too
    t.note('s', 8, 'n2');
    assert.deepEqual(t.get('s'), { stamp: 8, node: 'n2', destroyed: false });
  });

  it('calls a read stale when its stamp is lower, or when it shows a session this client destroyed', () => {
    const t = new SessionTokens<string>(10);
    t.note('s', 8, 'n1');
    const token = t.get('s')!;
    assert.equal(t.isStale(token, 7, true), true);
    assert.equal(t.isStale(token, 8, true), false);
    t.note('s', 0, 'n2', true); // the destroy's answer: no fields left, stamp 0
    assert.deepEqual(t.get('s'), { stamp: 8, node: 'n2', destroyed: true });
    assert.equal(t.isStale(t.get('s')!, 8, true), true, 'a live session after this client destroyed it');
    assert.equal(t.isStale(t.get('s')!, 0, false), false);
    t.note('s', 8, 'n1'); // not a later write: the destroy stands
    assert.equal(t.get('s')!.destroyed, true);
    t.note('s', 9, 'n1'); // a later write lifts it
    assert.deepEqual(t.get('s'), { stamp: 9, node: 'n1', destroyed: false });
  });

  it('holds at most max sessions, dropping the first used', () => {
    const t = new SessionTokens<string>(2);
    t.note('a', 1, 'n1');
    t.note('b', 1, 'n1');
    t.note('a', 2, 'n1');
    t.note('c', 1, 'n1');
    assert.equal(t.get('a'), undefined);
    assert.ok(t.get('b') && t.get('c'));
  });
});
