/**
 * The simulator's virtual time: events run in (time, scheduling order), and
 * every promise continuation an event sets off runs before the next event.
 */
import { strict as assert } from 'node:assert';
import { EventQueue } from './event-queue';

describe('sim/event-queue', () => {
  it('runs events by virtual time, and events at one time in the order they were scheduled', async () => {
    const q = new EventQueue();
    const ran: string[] = [];
    q.schedule(5, () => ran.push('c@5'));
    q.schedule(1, () => ran.push('a@1'));
    q.schedule(5, () => ran.push('d@5'));
    q.schedule(2, () => ran.push('b@2'));
    await q.run(() => false);
    assert.deepEqual(ran, ['a@1', 'b@2', 'c@5', 'd@5']);
    assert.equal(q.now(), 5);
    assert.equal(q.executed(), 4);
  });

  it('keeps its order over many events with equal and random times (the heap)', async () => {
    const q = new EventQueue();
    const ran: number[] = [];
    const times: number[] = [];
    let x = 7;
    for (let i = 0; i < 500; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const t = x % 50;
      times.push(t);
      q.schedule(t, () => ran.push(i));
    }
    await q.run(() => false);
    const expected = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
    assert.deepEqual(ran, expected);
  });

  it('skips cancelled events', async () => {
    const q = new EventQueue();
    const ran: string[] = [];
    const cancel = q.schedule(1, () => ran.push('cancelled'));
    q.schedule(2, () => ran.push('kept'));
    cancel();
    await q.run(() => false);
    assert.deepEqual(ran, ['kept']);
    assert.equal(q.executed(), 1);
  });

  it('lets every await chain an event starts finish before the next event runs', async () => {
    const q = new EventQueue();
    const ran: string[] = [];
    q.schedule(1, () => {
      void (async () => {
        await Promise.resolve();
        await new Promise<void>((r) => r());
        await Promise.all([Promise.resolve(), (async () => { await null; })()]);
        ran.push('chain of the first event');
        // Scheduled from a continuation, at the same time: after what was already queued there.
        q.schedule(0, () => ran.push('scheduled by the chain'));
      })();
    });
    q.schedule(1, () => ran.push('second event'));
    await q.run(() => false);
    assert.deepEqual(ran, ['chain of the first event', 'second event', 'scheduled by the chain']);
  });

  it('stops at the time limit and moves time up to it', async () => {
    const q = new EventQueue();
    const ran: number[] = [];
    for (const t of [10, 20, 30]) q.schedule(t, () => ran.push(t));
    await q.run(() => false, 25);
    assert.deepEqual(ran, [10, 20]);
    assert.equal(q.now(), 25);
    await q.runFor(100);
    assert.deepEqual(ran, [10, 20, 30]);
  });

  it('runs until a promise settles, driven by scheduled events', async () => {
    const q = new EventQueue();
    const p = new Promise<string>((resolve) => q.schedule(40, () => resolve('done')));
    q.schedule(100, () => assert.fail('ran past the settled promise'));
    assert.equal(await q.runUntilSettled(p), true);
    assert.equal(q.now(), 40);
    assert.equal(await p, 'done');
  });
});
