/**
 * Peer authentication (src/transport/peer-auth.ts, issue 7): the mutual HMAC
 * challenge-response on every ws peer link, and the per-address and per-peer
 * link limits.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { RingstoreError } from '../../src/core/errors';
import { KIND_ONE_WAY, KIND_REQUEST } from '../../src/transport/frame-codec';
import { authProof, checkClusterSecret, newNonce, proofMatches } from '../../src/transport/peer-auth';
import type { Hello } from '../../src/transport/ws-network';
import { handshake, openRawPeer } from './auth-client';
import { link, sleep, startNode, until, type TestNode } from './ws-harness';

const SECRET = Buffer.from('correct horse battery staple, 2024');
const OTHER = Buffer.from('a different secret of some length');

function warned(node: TestNode, re: RegExp): boolean {
  return node.logs.some((l) => l.level === 'warn' && re.test(l.msg ?? ''));
}

describe('transport/peer-auth', () => {
  let nodes: TestNode[] = [];
  const start = async (...args: Parameters<typeof startNode>): Promise<TestNode> => {
    const n = await startNode(...args);
    nodes.push(n);
    return n;
  };
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    nodes = [];
  });

  describe('proofs', () => {
    it('bind the role, both nonces, the dialler id and the channel binding', () => {
      const cn = newNonce();
      const sn = newNonce();
      const none = Buffer.alloc(0);
      const base = authProof(SECRET, 'client', cn, sn, 'a', none);
      assert.ok(proofMatches(base, authProof(SECRET, 'client', cn, sn, 'a', none)));
      const variants = [
        authProof(SECRET, 'server', cn, sn, 'a', none),
        authProof(SECRET, 'client', newNonce(), sn, 'a', none),
        authProof(SECRET, 'client', cn, newNonce(), 'a', none),
        authProof(SECRET, 'client', cn, sn, 'b', none),
        authProof(SECRET, 'client', cn, sn, 'a', randomBytes(32)),
        authProof(OTHER, 'client', cn, sn, 'a', none),
      ];
      for (const v of variants) assert.ok(!proofMatches(base, v));
      assert.ok(!proofMatches(base, 'not bytes'));
      assert.ok(!proofMatches(base, base.subarray(0, 16)));
    });

    it('refuses a secret shorter than 16 bytes', () => {
      assert.throws(() => checkClusterSecret(Buffer.from('short')), (e: unknown) => e instanceof RingstoreError && e.code === 'RS_ERR_BAD_REQUEST');
      assert.doesNotThrow(() => checkClusterSecret(randomBytes(16)));
    });
  });

  it('links two nodes that share the secret and carries requests both ways', async () => {
    const a = await start('a', { secret: SECRET });
    const b = await start('b', { secret: SECRET });
    const hellos: Hello[] = [];
    b.net.onHello((h) => hellos.push(h));
    link(a, b);
    assert.deepEqual(await a.net.request(b.id, { type: 'echo', n: 1 }, 2000), { type: 'echo-ok', n: 1, by: 'b' });
    assert.deepEqual(await b.net.request(a.id, { type: 'echo', n: 2 }, 2000), { type: 'echo-ok', n: 2, by: 'a' });
    assert.deepEqual(hellos.map((h) => h.id), ['a']);
    assert.equal(a.net.stats().authFailures + b.net.stats().authFailures, 0);
    assert.ok(a.net.isReachable(b.id));
  });

  it('queues messages sent before the handshake ends and delivers them after it, in order', async () => {
    const a = await start('a', { secret: SECRET });
    const b = await start('b', { secret: SECRET });
    link(a, b);
    for (let i = 0; i < 50; i++) a.net.send(b.id, { type: 'note', i });
    await until(() => b.notes.length === 50, 3000, '50 notes');
    assert.deepEqual(b.notes.map((n) => n.msg.i), Array.from({ length: 50 }, (_, i) => i));
  });

  it('refuses a peer with a different secret: logged, nothing delivered, never announced', async () => {
    const a = await start('a', { secret: OTHER, helloTimeoutMs: 300 });
    const b = await start('b', { secret: SECRET, helloTimeoutMs: 300 });
    const hellos: Hello[] = [];
    b.net.onHello((h) => hellos.push(h));
    link(a, b);
    a.net.send(b.id, { type: 'note', secret: 'should never arrive' });
    await assert.rejects(a.net.request(b.id, { type: 'echo', n: 1 }, 1000), (e: unknown) => e instanceof RingstoreError && e.code === 'RS_ERR_UNREACHABLE');
    await until(() => warned(a, /does not know the cluster secret/) && warned(b, /closed during authentication/), 2000, 'warnings on both sides');
    assert.equal(b.notes.length, 0);
    assert.deepEqual(b.requestsFrom, []);
    assert.deepEqual(hellos, []);
    assert.ok(!a.net.isReachable(b.id));
    assert.ok(a.net.stats().authFailures >= 1 && b.net.stats().authFailures >= 1);
  });

  it('refuses a dialler that has no secret', async () => {
    const a = await start('a');
    const b = await start('b', { secret: SECRET });
    link(a, b);
    a.net.send(b.id, { type: 'note' });
    await until(() => warned(b, /sent no authentication nonce/), 2000, 'the refusal on b');
    await until(() => warned(a, /refused our link/), 2000, 'the refusal seen by a');
    await sleep(50);
    assert.equal(b.notes.length, 0);
  });

  it('sends nothing to an acceptor that cannot prove it knows the secret', async () => {
    const a = await start('a', { secret: SECRET, helloTimeoutMs: 200 });
    const b = await start('b'); // no secret: it would trust any hello
    link(a, b);
    a.net.send(b.id, { type: 'note', payload: 'private' });
    await until(() => warned(a, /did not authenticate within 200 ms/), 2000, 'a giving up on b');
    assert.ok(warned(b, /offers authentication but this node has no cluster secret/));
    assert.equal(b.notes.length, 0, 'the queued message never left a');
  });

  it('refuses a raw client that sends a wrong proof, or a request before its proof', async () => {
    const b = await start('b', { secret: SECRET });
    const url = `ws://${b.addr}/peer`;
    const wrong = await handshake(url, SECRET, 'mallory', { proofOverride: randomBytes(32) });
    assert.equal(await wrong.peer.closed, 1008);
    assert.ok(warned(b, /mallory's proof does not match/));

    const early = await openRawPeer(url);
    early.send([
      [KIND_ONE_WAY, 0, { type: 'hello', id: 'eve', addr: 'x:1', region: null, nonce: newNonce() }],
      [KIND_REQUEST, 1, { type: 'echo', n: 1 }],
    ]);
    assert.equal(await early.closed, 1008);
    assert.ok(warned(b, /eve sent messages before authenticating/));

    const skip = await openRawPeer(url);
    skip.send([[KIND_ONE_WAY, 0, { type: 'hello', id: 'trudy', addr: 'x:1', region: null, nonce: newNonce() }]]);
    assert.ok(await skip.nextFrame(), 'a challenge');
    skip.send([[KIND_REQUEST, 1, { type: 'echo', n: 1 }]]);
    assert.equal(await skip.closed, 1008);
    assert.ok(warned(b, /trudy sent a message before completing authentication/));
    assert.deepEqual(b.requestsFrom, []);
  });

  it('does not accept a recorded proof on a new link (fresh server nonce)', async () => {
    const b = await start('b', { secret: SECRET });
    const url = `ws://${b.addr}/peer`;
    const first = await handshake(url, SECRET, 'c');
    first.peer.send([[KIND_REQUEST, 1, { type: 'echo', n: 1 }]]);
    const reply = await first.peer.nextFrame();
    assert.deepEqual(reply?.[0], [1, 1, { type: 'echo-ok', n: 1, by: 'b' }], 'the honest handshake works');
    first.peer.close();
    // An eavesdropper replays the same hello nonce and proof.
    const replay = await handshake(url, SECRET, 'c', { clientNonce: first.clientNonce, proofOverride: first.proof });
    assert.notDeepEqual(replay.serverNonce, first.serverNonce);
    assert.equal(await replay.peer.closed, 1008);
    assert.deepEqual(b.requestsFrom, ['c']);
  });

  it('refuses more handshakes from one address than handshakesPerAddressMax, with 429', async () => {
    const b = await start('b', { secret: SECRET, handshakesPerAddressMax: 2 });
    const url = `ws://${b.addr}/peer`;
    const p1 = await openRawPeer(url);
    const p2 = await openRawPeer(url);
    await assert.rejects(openRawPeer(url), /upgrade refused with 429/);
    assert.equal(b.net.stats().linksRefused, 1);
    p1.close();
    await p1.closed;
    await until(() => b.net.stats().incomingLinks === 1, 2000, 'b to see the close');
    const p3 = await openRawPeer(url); // room again
    p2.close();
    p3.close();
  });

  it('keeps at most linksPerPeerMax links per peer, closing the oldest', async () => {
    const b = await start('b', { secret: SECRET, linksPerPeerMax: 1 });
    const url = `ws://${b.addr}/peer`;
    const old = await handshake(url, SECRET, 'c');
    old.peer.send([[KIND_REQUEST, 1, { type: 'echo', n: 1 }]]);
    assert.ok(await old.peer.nextFrame());
    const fresh = await handshake(url, SECRET, 'c');
    fresh.peer.send([[KIND_REQUEST, 1, { type: 'echo', n: 2 }]]);
    assert.ok(await fresh.peer.nextFrame());
    assert.equal(await old.peer.closed, 1008);
    assert.ok(warned(b, /closing the oldest link from c/));
    fresh.peer.close();
  });
});
