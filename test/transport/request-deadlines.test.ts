import { strict as assert } from 'node:assert';
import { RequestDeadlines, TimedRequest } from '../../src/transport/request-deadlines';

/** A request that records when it expired. */
class Probe extends TimedRequest<string> {
  expiredAtMs: number | null = null;
  constructor(deadlines: RequestDeadlines, readonly name: string, readonly log: string[]) {
    super(deadlines);
    this.promise.catch(() => undefined);
  }

  expire(): void {
    this.expiredAtMs = performance.now();
    this.log.push(this.name);
    this.reject(new Error(`${this.name} timed out`));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function refedTimeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('transport/request-deadlines', () => {
  let deadlines: RequestDeadlines;
  beforeEach(() => { deadlines = new RequestDeadlines(); });
  afterEach(() => deadlines.stop());

  it('expires a request that is not settled within its timeout, and not before', async () => {
    const log: string[] = [];
    const r = new Probe(deadlines, 'a', log);
    const t0 = performance.now();
    deadlines.track(r, 60);
    await assert.rejects(r.promise, /a timed out/);
    assert.ok((r.expiredAtMs as number) - t0 >= 60, `expired after ${(r.expiredAtMs as number) - t0} ms`);
    assert.equal(deadlines.size, 0);
  });

  it('does not expire a request settled in time', async () => {
    const log: string[] = [];
    const r = new Probe(deadlines, 'a', log);
    deadlines.track(r, 30);
    r.resolve({ type: 'ok' });
    assert.deepEqual(await r.promise, { type: 'ok' });
    await sleep(60);
    assert.deepEqual(log, []);
    assert.equal(deadlines.size, 0);
    assert.equal(deadlines.queued, 0, 'nothing waits, so nothing is kept');
  });

  it('expires in deadline order across timeout values, re-arming for an earlier deadline', async () => {
    const log: string[] = [];
    const slow = new Probe(deadlines, 'slow', log);
    deadlines.track(slow, 120);
    const fast = new Probe(deadlines, 'fast', log);
    deadlines.track(fast, 20); // earlier than the armed deadline
    const mid = new Probe(deadlines, 'mid', log);
    deadlines.track(mid, 60);
    await Promise.allSettled([slow.promise, fast.promise, mid.promise]);
    assert.deepEqual(log, ['fast', 'mid', 'slow']);
  });

  it('expires every unsettled request of a burst and none of the settled ones', async () => {
    const log: string[] = [];
    const all: Probe[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = new Probe(deadlines, `r${i}`, log);
      deadlines.track(r, 30);
      all.push(r);
    }
    for (let i = 0; i < all.length; i += 2) all[i].resolve({ type: 'ok' });
    await Promise.allSettled(all.map((r) => r.promise));
    assert.deepEqual(log, all.filter((_, i) => i % 2 === 1).map((r) => r.name), 'in send order');
    assert.equal(deadlines.size, 0);
  });

  it('keeps the settled entries bounded behind a request that never settles', () => {
    const log: string[] = [];
    const stuck = new Probe(deadlines, 'stuck', log);
    deadlines.track(stuck, 60_000);
    for (let i = 0; i < 20_000; i++) {
      const r = new Probe(deadlines, 'r', log);
      deadlines.track(r, 60_000);
      r.resolve({ type: 'ok' });
    }
    assert.equal(deadlines.size, 1);
    assert.ok(deadlines.queued <= 2 * deadlines.size + 1024 + 1, `${deadlines.queued} entries queued`);
  });

  it('keeps the process alive only while a request waits', () => {
    const before = refedTimeouts();
    const r = new Probe(deadlines, 'a', []);
    deadlines.track(r, 10_000);
    assert.equal(refedTimeouts(), before + 1);
    r.resolve({ type: 'ok' });
    assert.equal(refedTimeouts(), before, 'the timer is unref\'d once nothing waits');
    const again = new Probe(deadlines, 'b', []);
    deadlines.track(again, 10_000);
    assert.equal(refedTimeouts(), before + 1, 'and ref\'d again for the next request');
    again.resolve({ type: 'ok' });
  });
});
