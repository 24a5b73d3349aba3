import { strict as assert } from 'node:assert';
import { InProcessCluster } from './in-process-cluster';

describe('node/event-loop-monitor: /admin/status perf and POST /admin/event-loop/reset', () => {
  let c: InProcessCluster;
  before(async () => { c = await InProcessCluster.start(1); });
  after(async () => { await c.stop(); });

  const status = async (): Promise<Record<string, any>> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await fetch(c.url(0, '/admin/status'));
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it('reports the event loop, GC, CPU, memory, peer and commit counters', async () => {
    const { perf } = await status();
    for (const k of ['maxMs', 'p50Ms', 'p99Ms', 'meanMs', 'sinceMs', 'windowMs']) assert.equal(typeof perf.eventLoop[k], 'number', k);
    assert.ok(perf.cpuMs.user > 0);
    assert.ok(perf.memory.rss > 0 && perf.memory.heapUsed > 0);
    assert.equal(typeof perf.gc.maxMs, 'number');
    assert.equal(typeof perf.peer.messagesSent, 'number');
    assert.ok(perf.storage.commits >= 1, 'the node wrote its meta at start');
  });

  it('sees a pause the event loop really took, and forgets it after a reset', async () => {
    const res = await fetch(c.url(0, '/admin/event-loop/reset'), { method: 'POST' });
    assert.equal(res.status, 200);
    // A window starts at the histogram's first sample after the reset (one resolution later).
    await new Promise((r) => setTimeout(r, 30));
    // Block this process (the node runs in it) for 60 ms, then let the histogram sample.
    const until = Date.now() + 60;
    while (Date.now() < until) { /* busy */ }
    await new Promise((r) => setTimeout(r, 30));
    const blocked = (await status()).perf.eventLoop;
    assert.ok(blocked.maxMs >= 40, `max ${blocked.maxMs} ms after a 60 ms block`);
    await fetch(c.url(0, '/admin/event-loop/reset'), { method: 'POST' });
    await new Promise((r) => setTimeout(r, 30));
    const after = (await status()).perf.eventLoop;
    assert.ok(after.maxMs < blocked.maxMs, `max ${after.maxMs} ms after the reset`);
    assert.ok(after.windowMs < 1000);
  });
});
