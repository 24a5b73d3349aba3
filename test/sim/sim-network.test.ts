/**
 * One-way cuts on top of MemoryHub: an asymmetric partition loses messages
 * in one direction only, so a request over it times out, and a request the
 * other way is handled but its reply is lost.
 */
import { strict as assert } from 'node:assert';
import { asNodeId } from '../../src/core/ids';
import { emptyCart } from '../../src/crdt/cart';
import type { PeerMsg } from '../../src/replication/peer-message';
import { MemoryHub } from '../../src/transport/memory-network';
import { EventQueue } from './event-queue';
import { LinkFaults, SimEndpoint } from './sim-network';

const A = asNodeId('a');
const B = asNodeId('b');

function setup() {
  const q = new EventQueue();
  const hub = new MemoryHub<PeerMsg>({ schedule: (ms, fn) => q.schedule(ms, fn, 'hub'), latencyMs: () => 5 });
  const links = new LinkFaults();
  const lines: string[] = [];
  const a = new SimEndpoint(hub.join(A), links, (t) => lines.push(t));
  const b = new SimEndpoint(hub.join(B), links, (t) => lines.push(t));
  const handled: string[] = [];
  for (const ep of [a, b]) {
    ep.setHandler((from, msg) => {
      handled.push(`${ep.self} got ${msg.type} from ${from}`);
      return { type: 'get-ok', obj: null };
    });
  }
  return { q, a, b, links, handled, lines };
}

async function outcome(q: EventQueue, p: Promise<PeerMsg>): Promise<string> {
  let result = 'pending';
  p.then((m) => { result = m.type; }, (e: { code?: string }) => { result = e.code ?? 'error'; });
  await q.runUntilSettled(p, q.now() + 10_000);
  return result;
}

describe('sim/sim-network', () => {
  it('delivers both ways when nothing is cut', async () => {
    const { q, a, b, handled } = setup();
    assert.equal(await outcome(q, a.request(B, { type: 'get', key: 'k' }, 100)), 'get-ok');
    assert.equal(await outcome(q, b.request(A, { type: 'get', key: 'k' }, 100)), 'get-ok');
    assert.deepEqual(handled, ['b got get from a', 'a got get from b']);
  });

  it('loses a request over a cut link, so the sender times out', async () => {
    const { q, a, links, handled } = setup();
    links.cut(A, B);
    assert.equal(await outcome(q, a.request(B, { type: 'get', key: 'k' }, 100)), 'RS_ERR_TIMEOUT');
    assert.deepEqual(handled, [], 'b never saw the request');
  });

  it('handles a request against the cut direction but loses its reply', async () => {
    const { q, b, links, handled } = setup();
    links.cut(A, B);
    assert.equal(await outcome(q, b.request(A, { type: 'get', key: 'k' }, 100)), 'RS_ERR_TIMEOUT');
    assert.deepEqual(handled, ['a got get from b'], 'a handled it: only the way back is cut');
  });

  it('loses a message already in flight when the cut starts', async () => {
    const { q, a, links, handled } = setup();
    const p = a.request(B, { type: 'get', key: 'k' }, 100);
    q.schedule(2, () => links.cut(A, B)); // before the 5 ms delivery
    assert.equal(await outcome(q, p), 'RS_ERR_TIMEOUT');
    assert.deepEqual(handled, []);
  });

  it('delivers again once cuts are cleared, and adds per-link delay', async () => {
    const { q, a, links } = setup();
    links.cut(A, B);
    links.clearCuts();
    links.setDelay(A, B, 50);
    assert.equal(links.extraDelayMs(A, B), 50);
    assert.equal(links.extraDelayMs(B, A), 0);
    assert.equal(await outcome(q, a.request(B, { type: 'get', key: 'k' }, 100)), 'get-ok');
  });

  it('lets a mutation answer a request without delivering it', async () => {
    const q = new EventQueue();
    const hub = new MemoryHub<PeerMsg>({ schedule: (ms, fn) => q.schedule(ms, fn, 'hub') });
    const links = new LinkFaults();
    const a = new SimEndpoint(hub.join(A), links, () => undefined, (_f, _t, m) => (m.type === 'put' ? { type: 'put-ok' } : null));
    const b = new SimEndpoint(hub.join(B), links, () => undefined);
    let delivered = 0;
    b.setHandler(() => { delivered++; return { type: 'put-ok' }; });
    const obj = { kind: 'cart' as const, c: emptyCart() };
    assert.equal(await outcome(q, a.request(B, { type: 'put', key: 'k', obj }, 100)), 'put-ok');
    assert.equal(delivered, 0);
  });
});
