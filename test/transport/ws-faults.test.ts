import { strict as assert } from 'node:assert';
import { RingstoreError } from '../../src/core/errors';
import type { NodeId } from '../../src/core/ids';
import { link, sleep, startNode, until, type TestNode } from './ws-harness';

function hasCode(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RingstoreError, `expected a RingstoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

// DESIGN.md POST /admin/faults: delays and cuts injected in the transport.
describe('transport/ws-network faults', () => {
  let a: TestNode; // region eu
  let b: TestNode; // region eu
  let c: TestNode; // region us
  const ups: NodeId[] = [];
  const downs: NodeId[] = [];

  beforeEach(async () => {
    a = await startNode('a', { region: 'eu' });
    b = await startNode('b', { region: 'eu' });
    c = await startNode('c', { region: 'us' });
    link(a, b, { a: 'eu', b: 'eu' });
    // a learns c's region from c's hello, not from addPeer.
    a.net.addPeer(c.id, c.addr);
    c.net.addPeer(a.id, a.addr, 'eu');
    ups.length = 0;
    downs.length = 0;
    a.net.onPeerUp((id) => ups.push(id));
    a.net.onPeerDown((id) => downs.push(id));
    await c.net.request(a.id, { type: 'echo', n: 0 }, 2000);
    await a.net.request(c.id, { type: 'echo', n: 0 }, 2000);
    await a.net.request(b.id, { type: 'echo', n: 0 }, 2000);
  });
  afterEach(async () => {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  it('cut: drops messages to the region, rejects requests at once, and heals', async () => {
    a.net.setFaults({ cut: ['us'] });
    assert.deepEqual(a.net.faults(), { delayMs: {}, cut: ['us'] });
    const t0 = Date.now();
    await assert.rejects(a.net.request(c.id, { type: 'echo', n: 1 }, 5000), hasCode('RS_ERR_UNREACHABLE'));
    assert.ok(Date.now() - t0 < 50);
    assert.equal(a.net.isReachable(c.id), false);
    assert.deepEqual(downs, ['c']);

    // One-way messages are dropped, and so are a's replies to c's requests.
    a.net.send(c.id, { type: 'note', text: 'lost' });
    await assert.rejects(c.net.request(a.id, { type: 'echo', n: 2 }, 200), hasCode('RS_ERR_TIMEOUT'));
    assert.equal(c.notes.length, 0);
    assert.ok(a.net.stats().messagesDropped >= 3);

    // Other regions are untouched.
    assert.equal((await a.net.request(b.id, { type: 'echo', n: 3 }, 2000)).n, 3);

    a.net.clearFaults();
    assert.deepEqual(a.net.faults(), { delayMs: {}, cut: [] });
    assert.deepEqual(ups.slice(-1), ['c']);
    assert.equal((await a.net.request(c.id, { type: 'echo', n: 4 }, 2000)).n, 4);
    a.net.send(c.id, { type: 'note', text: 'arrives' });
    await until(() => c.notes.length === 1, 2000, 'note after heal');
  });

  it('delay: holds messages to the region for delayMs', async () => {
    a.net.setFaults({ delayMs: { us: 200 } });
    let t0 = Date.now();
    await a.net.request(c.id, { type: 'echo', n: 1 }, 2000);
    assert.ok(Date.now() - t0 >= 200, `request took ${Date.now() - t0} ms`);

    // Replies are delayed too: c's request to a waits for a's delayed answer.
    t0 = Date.now();
    await c.net.request(a.id, { type: 'echo', n: 2 }, 2000);
    assert.ok(Date.now() - t0 >= 200, `reply took ${Date.now() - t0} ms`);

    t0 = Date.now();
    a.net.send(c.id, { type: 'note', text: 'slow' });
    await until(() => c.notes.length === 1, 2000, 'delayed note');
    assert.ok(Date.now() - t0 >= 200);

    t0 = Date.now();
    await a.net.request(b.id, { type: 'echo', n: 3 }, 2000);
    assert.ok(Date.now() - t0 < 150, 'eu is not delayed');

    a.net.clearFaults();
    t0 = Date.now();
    await a.net.request(c.id, { type: 'echo', n: 4 }, 2000);
    assert.ok(Date.now() - t0 < 150, 'healed');
  });

  it('delay counts toward a request timeout', async () => {
    a.net.setFaults({ delayMs: { us: 300 } });
    await assert.rejects(a.net.request(c.id, { type: 'echo', n: 1 }, 100), hasCode('RS_ERR_TIMEOUT'));
    await sleep(250); // let the held message go before the nodes stop
  });

  it('rejects malformed fault settings', () => {
    assert.throws(() => a.net.setFaults({ delayMs: { us: -1 } }), hasCode('RS_ERR_BAD_REQUEST'));
    assert.throws(() => a.net.setFaults({ cut: [3 as unknown as string] }), hasCode('RS_ERR_BAD_REQUEST'));
    assert.deepEqual(a.net.faults(), { delayMs: {}, cut: [] });
  });
});
