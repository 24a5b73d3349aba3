import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { TimeoutError, UnreachableError, type RingstoreError } from '../../src/core/errors';
import { Prng } from '../../src/core/prng';
import { NodeConnection, wasNotSent, type NodeConnectionOptions } from '../../src/client/node-connection';
import { encodeFrame, KIND_ONE_WAY } from '../../src/transport/frame-codec';
import { silentLogger } from '../../src/transport/logger';

function options(connectTimeoutMs = 2000): NodeConnectionOptions {
  return {
    token: null, tls: null, frameBytesMax: 1 << 20, connectTimeoutMs, reconnectBaseMs: 50, reconnectMaxMs: 200,
    random: new Prng(1), logger: silentLogger,
    counters: { framesSent: 0, messagesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0 },
    onOpen: () => undefined, onDown: () => undefined, onHello: () => undefined,
  };
}

/** A /client endpoint that says hello and then never answers a request. */
async function silentNode(): Promise<{ addr: string; requests: () => number; close: () => Promise<void> }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, path: '/client' });
  let requests = 0;
  wss.on('connection', (ws) => {
    ws.send(encodeFrame([[KIND_ONE_WAY, 0, { type: 'hello', id: 'n9', region: 'r' }]]));
    ws.on('message', () => { requests++; });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    addr: `127.0.0.1:${port}`,
    requests: () => requests,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Waits (at most 5 s) for the connection to open. */
async function waitOpen(conn: NodeConnection): Promise<void> {
  const t0 = Date.now();
  while (conn.state !== 'open' && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
  assert.equal(conn.state, 'open');
}

describe('client/node-connection: request deadlines', () => {
  it('rejects each request that gets no reply with TimeoutError after its own timeout, as sent', async () => {
    const node = await silentNode();
    const conn = new NodeConnection(node.addr, options());
    try {
      await waitOpen(conn);
      const started = Date.now();
      const settled: Array<{ ms: number; err: RingstoreError }> = [];
      const track = (timeoutMs: number): Promise<void> =>
        conn.request({ type: 'ring' }, timeoutMs).then(
          () => assert.fail('a silent node cannot answer'),
          (err: RingstoreError) => { settled.push({ ms: Date.now() - started, err }); },
        );
      await Promise.all([track(300), track(100), track(200)]);
      assert.deepEqual(settled.map((s) => s.err.code), ['RS_ERR_TIMEOUT', 'RS_ERR_TIMEOUT', 'RS_ERR_TIMEOUT']);
      assert.ok(settled.every((s) => s.err instanceof TimeoutError && !wasNotSent(s.err)), 'a request that left may have been applied');
      // In deadline order, none before its timeout, none far after it (the timer is shared).
      const ms = settled.map((s) => s.ms);
      assert.ok(ms[0]! >= 95 && ms[1]! >= 195 && ms[2]! >= 295, `settled at ${ms.join(', ')} ms`);
      assert.ok(ms[2]! < 2000, `settled at ${ms.join(', ')} ms`);
      assert.equal(conn.pendingCount, 0);
      assert.equal(node.requests() > 0, true, 'the requests reached the node');
    } finally {
      await conn.close();
      await node.close();
    }
  });

  it('rejects a request on a link that never opened with UnreachableError after its timeout', async () => {
    // Accepts TCP and never answers the upgrade.
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => { sockets.push(s); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const conn = new NodeConnection(`127.0.0.1:${(server.address() as AddressInfo).port}`, options(5000));
    try {
      const t0 = Date.now();
      await assert.rejects(conn.request({ type: 'ring' }, 150), (err: RingstoreError) => err instanceof UnreachableError);
      const ms = Date.now() - t0;
      assert.ok(ms >= 145 && ms < 2000, `rejected after ${ms} ms`);
    } finally {
      await conn.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('rejects requests still waiting with RS_ERR_CLOSED when closed', async () => {
    const node = await silentNode();
    const conn = new NodeConnection(node.addr, options());
    try {
      await waitOpen(conn);
      const waiting = conn.request({ type: 'ring' }, 60_000).then(() => null, (err: RingstoreError) => err);
      await conn.close();
      assert.equal((await waiting)?.code, 'RS_ERR_CLOSED');
    } finally {
      await node.close();
    }
  });
});
