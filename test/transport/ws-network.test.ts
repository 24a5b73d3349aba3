import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { RingstoreError } from '../../src/core/errors';
import { asNodeId, type NodeId } from '../../src/core/ids';
import { encodeFrame } from '../../src/transport/frame-codec';
import { RemoteError } from '../../src/transport/remote-error';
import { WsNetwork } from '../../src/transport/ws-network';
import { freePort, link, sleep, startNode, until, type TestMsg, type TestNode } from './ws-harness';

const B = asNodeId('b');

function hasCode(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RingstoreError, `expected a RingstoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

/** A raw ws client on a node's peer path, to misbehave at will. */
async function rawClient(node: TestNode): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://${node.addr}/peer`);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

/** A peer that completes the upgrade and then never reads again: no pongs, no draining. */
async function stalledPeer(): Promise<{ addr: string; stop(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => (ws as unknown as { _socket: Socket })._socket.pause());
  return {
    addr: `127.0.0.1:${(wss.address() as AddressInfo).port}`,
    async stop() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

describe('transport/ws-network', () => {
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

  it('answers requests both ways and tells the handler who asked', async () => {
    const a = await start('a');
    const b = await start('b');
    link(a, b);
    assert.deepEqual(await a.net.request(b.id, { type: 'echo', n: 1 }, 2000), { type: 'echo-ok', n: 1, by: 'b' });
    assert.deepEqual(await b.net.request(a.id, { type: 'echo', n: 2 }, 2000), { type: 'echo-ok', n: 2, by: 'a' });
    assert.deepEqual(b.requestsFrom, ['a']);
    assert.deepEqual(a.requestsFrom, ['b']);
    assert.ok(a.net.isReachable(b.id));
    // Each side dialled the other once: one outgoing and one incoming link each.
    assert.equal(a.net.stats().peers.b.state, 'open');
    assert.equal(a.net.stats().peers.b.incomingLinks, 1);
  });

  it('delivers one-way messages, dialling lazily', async () => {
    const a = await start('a');
    const b = await start('b');
    link(a, b);
    assert.equal(a.net.stats().peers.b.state, 'idle');
    a.net.send(b.id, { type: 'note', text: 'hi' });
    a.net.send(b.id, { type: 'note', text: 'there' });
    await until(() => b.notes.length === 2, 2000, 'notes');
    assert.deepEqual(b.notes, [
      { from: 'a', msg: { type: 'note', text: 'hi' } },
      { from: 'a', msg: { type: 'note', text: 'there' } },
    ]);
  });

  it('answers a request to itself through the local handler', async () => {
    const a = await start('a');
    const msg = { type: 'echo', n: 7 };
    assert.deepEqual(await a.net.request(a.id, msg, 1000), { type: 'echo-ok', n: 7, by: 'a' });
    assert.deepEqual(a.requestsFrom, ['a']);
  });

  it('turns a thrown RingstoreError into an error reply with the same code', async () => {
    const a = await start('a');
    const b = await start('b');
    link(a, b);
    await assert.rejects(a.net.request(b.id, { type: 'fail' }, 2000), (err: unknown) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.code, 'RS_ERR_NOT_FOUND');
      assert.equal(err.status, 404);
      assert.equal(err.peer, 'b');
      assert.equal(err.message, 'no such thing');
      return true;
    });
    await assert.rejects(a.net.request(b.id, { type: 'crash' }, 2000), hasCode('RS_ERR_INTERNAL'));
    assert.ok(b.logs.some((l) => l.level === 'error' && /handler threw/.test(l.msg ?? '')), 'crash logged');
    await assert.rejects(a.net.request(b.id, { type: 'silent' }, 2000), hasCode('RS_ERR_INTERNAL'));
    // The link survives all of that.
    assert.equal((await a.net.request(b.id, { type: 'later' }, 2000)).type, 'later-ok');
  });

  it('times out a request nobody answers', async () => {
    const a = await start('a');
    const b = await start('b');
    link(a, b);
    await a.net.request(b.id, { type: 'echo', n: 0 }, 2000); // link up
    const t0 = Date.now();
    await assert.rejects(a.net.request(b.id, { type: 'hang' }, 150), hasCode('RS_ERR_TIMEOUT'));
    assert.ok(Date.now() - t0 >= 145, `timed out after ${Date.now() - t0} ms`);
    assert.equal(a.net.stats().peers.b.pendingRequests, 0);
  });

  it('rejects UnreachableError at once for an unknown peer', async () => {
    const a = await start('a');
    const t0 = Date.now();
    await assert.rejects(a.net.request(asNodeId('nobody'), { type: 'echo', n: 0 }, 5000), hasCode('RS_ERR_UNREACHABLE'));
    assert.ok(Date.now() - t0 < 100);
    assert.equal(a.net.isReachable(asNodeId('nobody')), false);
  });

  it('rejects UnreachableError as soon as the dial to a closed server fails', async () => {
    const a = await start('a');
    a.net.addPeer(B, `127.0.0.1:${await freePort()}`);
    const t0 = Date.now();
    await assert.rejects(a.net.request(B, { type: 'echo', n: 0 }, 5000), hasCode('RS_ERR_UNREACHABLE'));
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    // While the link waits to redial, requests fail at once too.
    assert.equal(a.net.stats().peers.b.state, 'backoff');
    await assert.rejects(a.net.request(B, { type: 'echo', n: 0 }, 5000), hasCode('RS_ERR_UNREACHABLE'));
    assert.equal(a.net.isReachable(B), false);
  });

  it('fails pending requests when the link drops and reconnects when the peer restarts on its port', async () => {
    const a = await start('a');
    let b = await start('b');
    link(a, b);
    const ups: NodeId[] = [];
    const downs: NodeId[] = [];
    a.net.onPeerUp((id) => ups.push(id));
    a.net.onPeerDown((id) => downs.push(id));
    await a.net.request(b.id, { type: 'echo', n: 1 }, 2000);
    assert.deepEqual(ups, ['b']);

    const hanging = assert.rejects(a.net.request(b.id, { type: 'hang' }, 10_000), hasCode('RS_ERR_UNREACHABLE'));
    await sleep(20);
    const t0 = Date.now();
    await b.stop();
    nodes = nodes.filter((n) => n !== b);
    await hanging;
    assert.ok(Date.now() - t0 < 2000);
    await until(() => downs.length === 1, 2000, 'peer down');
    assert.equal(a.net.isReachable(b.id), false);
    await sleep(150); // a few failed redials

    b = await start('b', { port: b.port });
    b.net.addPeer(a.id, a.addr);
    await until(() => ups.length === 2, 3000, 'peer up again');
    assert.deepEqual(await a.net.request(b.id, { type: 'echo', n: 2 }, 2000), { type: 'echo-ok', n: 2, by: 'b' });
    assert.deepEqual(downs, ['b']);
  });

  it('completes 10,000 concurrent requests, many per frame', async () => {
    const a = await start('a');
    const b = await start('b');
    link(a, b);
    const replies = await Promise.all(
      Array.from({ length: 10_000 }, (_, n) => a.net.request(b.id, { type: 'echo', n }, 10_000)),
    );
    replies.forEach((r, n) => assert.equal(r.n, n));
    const sa = a.net.stats();
    const sb = b.net.stats();
    assert.ok(sa.messagesSent >= 10_000 && sa.framesSent < sa.messagesSent / 10, `a sent ${sa.messagesSent} in ${sa.framesSent} frames`);
    assert.ok(sb.messagesSent >= 10_000 && sb.framesSent < sb.messagesSent / 10, `b sent ${sb.messagesSent} in ${sb.framesSent} frames`);
    assert.equal(sb.messagesReceived, sa.messagesSent);
  });

  it('flushes early when the queue passes batchBytesMax', async () => {
    const a = await start('a', { batchBytesMax: 4096 });
    const b = await start('b');
    link(a, b);
    await a.net.request(b.id, { type: 'echo', n: 0 }, 2000);
    const before = a.net.stats().framesSent;
    const pad = 'x'.repeat(1000);
    await Promise.all(Array.from({ length: 100 }, (_, n) => a.net.request(b.id, { type: 'echo', n, pad }, 5000)));
    const frames = a.net.stats().framesSent - before;
    // ~100 KB at <= 4 KiB a frame: at least 25 frames, and still several messages in each.
    assert.ok(frames >= 25 && frames <= 50, `${frames} frames`);
  });

  it('refuses a message too large for a frame and keeps the link', async () => {
    const a = await start('a');
    const b = await start('b');
    link(a, b);
    await assert.rejects(
      a.net.request(b.id, { type: 'echo', n: 0, pad: 'x'.repeat(2 * 1024 * 1024) }, 2000),
      hasCode('RS_ERR_VALUE_TOO_LARGE'),
    );
    assert.equal((await a.net.request(b.id, { type: 'echo', n: 1 }, 2000)).n, 1);
  });

  it('closes a link that sends a malformed frame and keeps serving the others', async () => {
    const a = await start('a');
    const b = await start('b');
    link(a, b);
    await a.net.request(b.id, { type: 'echo', n: 0 }, 2000);
    const evil = await rawClient(b);
    evil.ws.send(encodeFrame([[2, 0, { type: 'hello', id: 'evil', addr: 'x:1', region: null }]]));
    evil.ws.send(Buffer.from([0x93, 0x07, 0x01, 0xc1]));
    assert.equal(await evil.closed, 1002);
    assert.ok(b.logs.some((l) => l.level === 'warn' && /malformed frame/.test(l.msg ?? '')), 'warned');
    assert.equal(b.net.stats().badFrames, 1);
    assert.equal((await a.net.request(b.id, { type: 'echo', n: 1 }, 2000)).n, 1);
  });

  it('closes a socket whose first message is not a hello, or that sends nothing', async () => {
    const b = await start('b', { helloTimeoutMs: 100 });
    const rude = await rawClient(b);
    rude.ws.send(encodeFrame([[0, 1, { type: 'echo', n: 1 }]]));
    assert.equal(await rude.closed, 1008);
    assert.ok(b.logs.some((l) => /first message was not a hello/.test(l.msg ?? '')));

    const silent = await rawClient(b);
    const t0 = Date.now();
    assert.equal(await silent.closed, 1008);
    assert.ok(Date.now() - t0 >= 90);
    assert.ok(b.logs.some((l) => /no hello within 100 ms/.test(l.msg ?? '')));
    assert.equal(b.requestsFrom.length, 0);
  });

  it('rejects pending and later requests with ClosedError on close()', async () => {
    const a = await start('a');
    const b = await start('b');
    link(a, b);
    await a.net.request(b.id, { type: 'echo', n: 0 }, 2000);
    const hanging = assert.rejects(a.net.request(b.id, { type: 'hang' }, 10_000), hasCode('RS_ERR_CLOSED'));
    await sleep(10);
    await a.net.close();
    await hanging;
    await assert.rejects(a.net.request(b.id, { type: 'echo', n: 1 }, 1000), hasCode('RS_ERR_CLOSED'));
    await until(() => b.net.stats().incomingLinks === 0, 2000, 'b sees the link close');
  });

  it('removePeer closes the link and fails its requests', async () => {
    const a = await start('a');
    const b = await start('b');
    link(a, b);
    await a.net.request(b.id, { type: 'echo', n: 0 }, 2000);
    const hanging = assert.rejects(a.net.request(b.id, { type: 'hang' }, 10_000), hasCode('RS_ERR_UNREACHABLE'));
    a.net.removePeer(b.id);
    await hanging;
    assert.deepEqual(a.net.peers(), []);
    await assert.rejects(a.net.request(b.id, { type: 'echo', n: 1 }, 1000), hasCode('RS_ERR_UNREACHABLE'));
  });

  it('tears down a link whose peer stops answering pings', async () => {
    const a = await start('a', { pingIntervalMs: 40 });
    const x = await stalledPeer();
    try {
      const downs: NodeId[] = [];
      a.net.onPeerDown((id) => downs.push(id));
      a.net.addPeer(asNodeId('x'), x.addr);
      const hanging = assert.rejects(a.net.request(asNodeId('x'), { type: 'echo', n: 0 }, 10_000), hasCode('RS_ERR_UNREACHABLE'));
      await until(() => a.net.isReachable(asNodeId('x')), 2000, 'link open');
      await hanging; // rejected by the teardown, long before its timeout
      assert.deepEqual(downs, ['x']);
    } finally {
      await x.stop();
    }
  });

  it('stops writing to a slow socket and refuses messages once its queue is full', async () => {
    const a = await start('a', { batchBytesMax: 64 * 1024, queueBytesMax: 4 * 1024 * 1024 });
    const x = await stalledPeer();
    const X = asNodeId('x');
    try {
      a.net.addPeer(X, x.addr);
      a.net.send(X, { type: 'note' });
      await until(() => a.net.isReachable(X), 2000, 'link open');
      const pad = 'x'.repeat(100_000);
      for (let i = 0; i < 400; i++) a.net.send(X, { type: 'note', pad });
      const s = a.net.stats();
      assert.ok(s.messagesDropped > 0, 'some messages refused');
      assert.ok(s.peers.x.queuedBytes <= 4 * 1024 * 1024, `queued ${s.peers.x.queuedBytes}`);
      assert.ok(s.peers.x.queuedBytes > 3 * 1024 * 1024, `queued ${s.peers.x.queuedBytes}: the queue absorbed the overflow`);
      assert.ok(s.peers.x.bufferedBytes < 2 * 1024 * 1024, `ws buffered ${s.peers.x.bufferedBytes}`);
      await assert.rejects(a.net.request(X, { type: 'echo', n: 0, pad }, 5000), hasCode('RS_ERR_UNREACHABLE'));
    } finally {
      await x.stop();
    }
  });

  it('takes only upgrades for its path, and attach() refuses other paths when alone', async () => {
    const net = new WsNetwork<TestMsg>({
      self: asNodeId('solo'), selfAddr: '127.0.0.1:1', frameBytesMax: 1 << 20, logger: pino({ level: 'silent' }),
    });
    const server = http.createServer();
    net.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    try {
      const fake = { url: '/client?x=1' } as http.IncomingMessage;
      assert.equal(net.handleUpgrade(fake, null as never, Buffer.alloc(0)), false);
      const status = await new Promise<number | string>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/client`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', (e) => resolve(e.message));
      });
      assert.equal(status, 404);
      const ok = new WebSocket(`ws://127.0.0.1:${port}/peer?v=1`);
      await new Promise<void>((resolve, reject) => { ok.on('open', () => resolve()); ok.on('error', reject); });
      ok.terminate();
    } finally {
      await net.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
