import { strict as assert } from 'node:assert';
import { TurnAffinity } from '../../src/client/turn-affinity';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('client/turn-affinity', () => {
  it('sends every request of one turn to the same replica', () => {
    const t = new TurnAffinity<string>();
    const first = t.choose(['a', 'b', 'c']);
    assert.equal(t.choose(['b', 'c', 'a']), first);
    assert.equal(t.choose(['c', 'a', 'b']), first);
  });

  it('sends a key the turn node does not replicate to its first replica', () => {
    const t = new TurnAffinity<string>();
    const first = t.choose(['a', 'b', 'c']);
    const others = ['a', 'b', 'c', 'd', 'e'].filter((x) => x !== first);
    assert.equal(t.choose(others), others[0]);
    assert.equal(t.choose(['a', 'b', 'c']), first, 'the turn node stays for the rest of the turn');
  });

  it('moves to the next replica each turn, so every replica takes an equal share', async () => {
    const t = new TurnAffinity<string>();
    const counts = new Map<string, number>();
    const picks: string[] = [];
    for (let turn = 0; turn < 30; turn++) {
      const pick = t.choose(['a', 'b', 'c']);
      picks.push(pick);
      counts.set(pick, (counts.get(pick) ?? 0) + 1);
      await nextTurn();
    }
    assert.deepEqual(picks.slice(0, 3), ['a', 'b', 'c']);
    assert.deepEqual([...counts.values()], [10, 10, 10]);
  });
});
