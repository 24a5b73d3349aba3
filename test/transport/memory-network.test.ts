import { strict as assert } from 'node:assert';
import { NotFoundError, RingstoreError } from '../../src/core/errors';
import { asNodeId, type NodeId } from '../../src/core/ids';
import { Prng } from '../../src/core/prng';
import { MemoryHub, type MemoryNetwork } from '../../src/transport/memory-network';

type Msg = { type: string; [field: string]: unknown };

/** Virtual time: tasks run in (time, insertion) order when the test advances the clock. */
class ManualScheduler {
  now = 0;
  private seq = 0;
  private tasks: { at: number; seq: number; fn: () => void }[] = [];

  readonly schedule = (delayMs: number, fn: () => void): (() => void) => {
    const task = { at: this.now + Math.max(0, delayMs), seq: this.seq++, fn };
    this.tasks.push(task);
    return () => { this.tasks = this.tasks.filter((t) => t !== task); };
  };

  get pending(): number {
    return this.tasks.length;
  }

  /** Run everything due within `ms`, letting promise callbacks settle after each task. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await settle();
      const due = this.tasks.filter((t) => t.at <= end);
      if (due.length === 0) break;
      const next = due.reduce((x, y) => (x.at < y.at || (x.at === y.at && x.seq < y.seq) ? x : y));
      this.tasks = this.tasks.filter((t) => t !== next);
      this.now = next.at;
      next.fn();
    }
    this.now = end;
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function hasCode(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RingstoreError, `expected a RingstoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

/** Track a promise's outcome without awaiting it. */
function watch<T>(p: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const w: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  p.then((value) => { w.state = 'resolved'; w.value = value; }, (error) => { w.state = 'rejected'; w.error = error; });
  return w;
}

interface Node {
  id: NodeId;
  net: MemoryNetwork<Msg>;
  seen: { from: NodeId; msg: Msg }[];
}

function joinAll(hub: MemoryHub<Msg>, names: string[]): Node[] {
  return names.map((name) => {
    const id = asNodeId(name);
    const node: Node = { id, net: hub.join(id, name === 'c' ? 'us' : 'eu'), seen: [] };
    node.net.setHandler((from, msg) => {
      node.seen.push({ from, msg });
      if (msg.type === 'echo') return { type: 'echo-ok', n: msg.n, by: name };
      if (msg.type === 'fail') throw new NotFoundError('gone');
      if (msg.type === 'hang') return new Promise<Msg>(() => undefined);
      return undefined;
    });
    return node;
  });
}

describe('transport/memory-network', () => {
  it('delivers requests, replies and one-way messages as copies', async () => {
    const hub = new MemoryHub<Msg>();
    const [a, b] = joinAll(hub, ['a', 'b']);
    const msg = { type: 'echo', n: 1, nested: { list: [1, 2] } };
    const reply = a.net.request(b.id, msg, 1000);
    msg.nested.list.push(3); // after sending: must not travel
    assert.deepEqual(await reply, { type: 'echo-ok', n: 1, by: 'b' });
    assert.deepEqual(b.seen[0], { from: 'a', msg: { type: 'echo', n: 1, nested: { list: [1, 2] } } });
    assert.notEqual(b.seen[0].msg, msg);

    b.net.send(a.id, { type: 'note' });
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(a.seen, [{ from: 'b', msg: { type: 'note' } }]);
    await assert.rejects(a.net.request(b.id, { type: 'fail' }, 1000), hasCode('RS_ERR_NOT_FOUND'));
    await assert.rejects(a.net.request(b.id, { type: 'silent' }, 1000), hasCode('RS_ERR_INTERNAL'));
  });

  it('delivers after the injected latency, on virtual time', async () => {
    const clock = new ManualScheduler();
    const hub = new MemoryHub<Msg>({ schedule: clock.schedule, latencyMs: (from, to) => (from === 'a' && to === 'b' ? 10 : 5) });
    const [a, b] = joinAll(hub, ['a', 'b']);
    const w = watch(a.net.request(b.id, { type: 'echo', n: 1 }, 1000));
    await clock.advance(9);
    assert.equal(b.seen.length, 0);
    await clock.advance(1);
    assert.equal(b.seen.length, 1);
    await clock.advance(4);
    assert.equal(w.state, 'pending');
    await clock.advance(1);
    assert.equal(w.state, 'resolved');
    assert.equal(clock.pending, 0, 'the settled request cancelled its timeout');
  });

  it('times out requests on the injected scheduler, never on real timers', async () => {
    const clock = new ManualScheduler();
    const hub = new MemoryHub<Msg>({ schedule: clock.schedule });
    const [a, b] = joinAll(hub, ['a', 'b']);
    const w = watch(a.net.request(b.id, { type: 'hang' }, 60_000));
    await clock.advance(59_999);
    assert.equal(w.state, 'pending');
    await clock.advance(1);
    assert.equal(w.state, 'rejected');
    hasCode('RS_ERR_TIMEOUT')(w.error);
  });

  it('partitions: unreachable at once across groups, in-flight messages lost, heal restores', async () => {
    const clock = new ManualScheduler();
    const hub = new MemoryHub<Msg>({ schedule: clock.schedule, latencyMs: () => 5 });
    const [a, b, c] = joinAll(hub, ['a', 'b', 'c']);
    const inFlight = watch(a.net.request(c.id, { type: 'echo', n: 0 }, 100));
    await clock.advance(1);
    hub.partition([[a.id, b.id], [c.id]]);
    await clock.advance(100);
    assert.equal(c.seen.length, 0, 'lost in flight');
    hasCode('RS_ERR_TIMEOUT')(inFlight.error);

    await assert.rejects(a.net.request(c.id, { type: 'echo', n: 1 }, 100), hasCode('RS_ERR_UNREACHABLE'));
    assert.equal(a.net.isReachable(c.id), false);
    assert.equal(a.net.isReachable(b.id), true);
    const ab = watch(a.net.request(b.id, { type: 'echo', n: 2 }, 100));
    await clock.advance(10);
    assert.equal(ab.state, 'resolved');

    hub.heal();
    const ac = watch(a.net.request(c.id, { type: 'echo', n: 3 }, 100));
    await clock.advance(10);
    assert.deepEqual(ac.value, { type: 'echo-ok', n: 3, by: 'c' });
  });

  it('isolates one node from all others', async () => {
    const hub = new MemoryHub<Msg>();
    const [a, b, c] = joinAll(hub, ['a', 'b', 'c']);
    hub.isolate(c.id);
    await assert.rejects(a.net.request(c.id, { type: 'echo', n: 0 }, 100), hasCode('RS_ERR_UNREACHABLE'));
    await assert.rejects(c.net.request(b.id, { type: 'echo', n: 0 }, 100), hasCode('RS_ERR_UNREACHABLE'));
    assert.equal((await a.net.request(b.id, { type: 'echo', n: 1 }, 100)).n, 1);
    hub.heal();
    assert.equal((await c.net.request(a.id, { type: 'echo', n: 2 }, 100)).n, 2);
  });

  it('down nodes neither send nor receive, and their pending requests fail at once', async () => {
    const clock = new ManualScheduler();
    const hub = new MemoryHub<Msg>({ schedule: clock.schedule, latencyMs: () => 1 });
    const [a, b] = joinAll(hub, ['a', 'b']);
    const toB = watch(a.net.request(b.id, { type: 'hang' }, 1000));
    const fromB = watch(b.net.request(a.id, { type: 'hang' }, 1000));
    await clock.advance(5);
    hub.setDown(b.id, true);
    await settle();
    hasCode('RS_ERR_UNREACHABLE')(toB.error);
    hasCode('RS_ERR_UNREACHABLE')(fromB.error);

    const seenBefore = b.seen.length;
    await assert.rejects(a.net.request(b.id, { type: 'echo', n: 1 }, 1000), hasCode('RS_ERR_UNREACHABLE'));
    await assert.rejects(b.net.request(a.id, { type: 'echo', n: 1 }, 1000), hasCode('RS_ERR_UNREACHABLE'));
    a.net.send(b.id, { type: 'note' });
    b.net.send(a.id, { type: 'note' });
    await clock.advance(10);
    assert.equal(b.seen.length, seenBefore);
    assert.equal(a.seen.filter((s) => s.msg.type === 'note').length, 0);

    hub.setDown(b.id, false);
    const back = watch(a.net.request(b.id, { type: 'echo', n: 2 }, 1000));
    await clock.advance(2);
    assert.equal(back.state, 'resolved');
  });

  it('announces peers going down and up', async () => {
    const clock = new ManualScheduler();
    const hub = new MemoryHub<Msg>({ schedule: clock.schedule });
    const [a, b, c] = joinAll(hub, ['a', 'b', 'c']);
    const events: string[] = [];
    a.net.onPeerUp((id) => events.push(`up ${id}`));
    a.net.onPeerDown((id) => events.push(`down ${id}`));
    hub.partition([[a.id], [b.id, c.id]]);
    await clock.advance(0);
    hub.heal();
    hub.setDown(c.id, true);
    await clock.advance(0);
    // heal() brought c back for an instant before setDown() took it away.
    assert.deepEqual(events, ['down b', 'down c', 'up b', 'up c', 'down c']);
    await b.net.close();
    hub.join(asNodeId('d'));
    await clock.advance(0);
    assert.deepEqual(events.slice(5), ['down b', 'up d']);
  });

  it('drops and duplicates messages as its seeded Random decides', async () => {
    const clock = new ManualScheduler();
    const hub = new MemoryHub<Msg>({ schedule: clock.schedule, random: new Prng(42), dropRate: 1 });
    const [a, b] = joinAll(hub, ['a', 'b']);
    const lost = watch(a.net.request(b.id, { type: 'echo', n: 0 }, 50));
    await clock.advance(50);
    hasCode('RS_ERR_TIMEOUT')(lost.error);

    hub.dropRate = 0;
    hub.duplicateRate = 1;
    const twice = watch(a.net.request(b.id, { type: 'echo', n: 1 }, 50));
    await clock.advance(0);
    assert.equal(b.seen.filter((s) => s.msg.n === 1).length, 2, 'handler ran twice');
    assert.equal(twice.state, 'resolved');
    assert.ok(hub.stats().duplicated >= 2);

    // Same seed, same losses.
    const runs = [1, 2].map(() => {
      const h = new MemoryHub<Msg>({ schedule: () => undefined, random: new Prng(7), dropRate: 0.5 });
      const [x] = joinAll(h, ['x', 'y']);
      for (let i = 0; i < 50; i++) x.net.send(asNodeId('y'), { type: 'note', i });
      return h.stats().dropped;
    });
    assert.equal(runs[0], runs[1]);
    assert.ok(runs[0] > 10 && runs[0] < 40, `${runs[0]} of 50 dropped`);
  });

  it('rejects requests to unknown nodes and from closed endpoints', async () => {
    const hub = new MemoryHub<Msg>();
    const [a, b] = joinAll(hub, ['a', 'b']);
    await assert.rejects(a.net.request(asNodeId('zed'), { type: 'echo', n: 0 }, 100), hasCode('RS_ERR_UNREACHABLE'));
    const pending = assert.rejects(a.net.request(b.id, { type: 'hang' }, 1000), hasCode('RS_ERR_CLOSED'));
    await new Promise((r) => setTimeout(r, 5));
    await a.net.close();
    await pending;
    await assert.rejects(a.net.request(b.id, { type: 'echo', n: 0 }, 100), hasCode('RS_ERR_CLOSED'));
    await assert.rejects(b.net.request(a.id, { type: 'echo', n: 0 }, 100), hasCode('RS_ERR_UNREACHABLE'));
  });

  it('refuses messages that could not cross a real link', async () => {
    const hub = new MemoryHub<Msg>();
    const [a, b] = joinAll(hub, ['a', 'b']);
    await assert.rejects(a.net.request(b.id, { type: '' } as Msg, 100), /cannot encode envelope/);
  });
});
