/**
 * The node side of the client WebSocket API (src/node/client-api.ts), spoken
 * to with raw frames: every input is validated, bad requests get an error
 * reply with a stable code and the connection stays usable, malformed or
 * oversized frames close only that connection, and in-flight requests per
 * connection are bounded. (Lives under test/client because it is the
 * client's protocol; the node feature has no other test.)
 */
import { strict as assert } from 'node:assert';
import WebSocket from 'ws';
import { RingClient } from '../../src/client/ring-client';
import { DEFAULT_LIMITS } from '../../src/core/config';
import {
  decodeFrame, encodeFrame, KIND_ERROR, KIND_ONE_WAY, KIND_REPLY, KIND_REQUEST, type Envelope,
} from '../../src/transport/frame-codec';
import { waitFor } from '../cluster/process-cluster';
import { InProcessCluster } from './in-process-cluster';

const FRAME_BYTES_MAX = 256 * 1024;

class RawClient {
  readonly received: Envelope[] = [];
  closeCode: number | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      for (const env of decodeFrame(data)) this.received.push(env);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  static async open(addr: string): Promise<RawClient> {
    const ws = new WebSocket(`ws://${addr}/client`);
    const c = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  request(id: number, msg: Record<string, unknown>): void {
    this.ws.send(encodeFrame([[KIND_REQUEST, id, msg as { type: string }]]));
  }

  async answer(id: number, timeoutMs = 5000): Promise<Envelope> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const env = this.received.find((e) => (e[0] === KIND_REPLY || e[0] === KIND_ERROR) && e[1] === id);
      if (env) return env;
      if (this.closeCode !== null) throw new Error(`closed (${this.closeCode}) before answer ${id}`);
      if (Date.now() > deadline) throw new Error(`no answer to ${id}`);
      await this.next(deadline - Date.now());
    }
  }

  async closed(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === null) {
      if (Date.now() > deadline) throw new Error('not closed');
      await this.next(deadline - Date.now());
    }
    return this.closeCode;
  }

  private next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(1, ms));
      this.waiters.push(() => { clearTimeout(t); resolve(); });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

function errorCode(env: Envelope): string {
  assert.equal(env[0], KIND_ERROR, `expected an error reply, got ${JSON.stringify(env)}`);
  return (env[2] as { code: string }).code;
}

describe('node/client-api: the /client WebSocket protocol', function () {
  this.timeout(30_000);
  let cluster: InProcessCluster;
  let addr: string;

  before(async () => {
    cluster = await InProcessCluster.start({
      nodes: 3, config: { clientInflightMax: 4, limits: { ...DEFAULT_LIMITS, frameBytesMax: FRAME_BYTES_MAX } },
    });
    addr = cluster.addrs()[0]!;
  });

  after(async () => {
    await cluster?.close();
  });

  it('greets with a hello naming the node, and answers ring with members, ring and limits', async () => {
    await waitFor('every member alive at n1', () => [...cluster.nodes[0]!.members().keys()].every((id) => cluster.nodes[0]!.memberStateOf(id) === 'alive'), 10_000, 50);
    const c = await RawClient.open(addr);
    c.request(1, { type: 'ring' });
    const env = await c.answer(1);
    const hello = c.received[0]!;
    assert.equal(hello[0], KIND_ONE_WAY);
    assert.deepEqual(hello[2], { type: 'hello', id: 'n1', addr, region: 'r1' });
    assert.equal(env[0], KIND_REPLY);
    const info = env[2] as unknown as {
      type: string; self: { id: string }; members: Array<{ id: string; state: string }>;
      ring: { q: number; owners: string[]; version: string }; quorum: { n: number }; limits: { frameBytesMax: number };
    };
    assert.equal(info.type, 'ring-ok');
    assert.equal(info.self.id, 'n1');
    assert.deepEqual(info.members.map((m) => [m.id, m.state]), [['n1', 'alive'], ['n2', 'alive'], ['n3', 'alive']]);
    assert.equal(info.ring.owners.length, info.ring.q);
    assert.equal(info.ring.version, cluster.nodes[0]!.currentRing().version);
    assert.equal(info.quorum.n, 3);
    assert.equal(info.limits.frameBytesMax, FRAME_BYTES_MAX);
    c.ws.close();
  });

  it('runs a cart add named by an opId once, however often it is sent (a client retry)', async () => {
    const c = await RawClient.open(addr);
    const add = { type: 'op', key: 'cart/op-id', op: { op: 'cart', action: 'add', item: 'sku', qty: 1 }, opId: 'client-x-1' };
    c.request(1, add);
    c.request(2, add);
    const first = (await c.answer(1))[2] as unknown as { view: { items: Record<string, number> } };
    const second = (await c.answer(2))[2] as unknown as { view: { items: Record<string, number> } };
    assert.deepEqual([first.view.items, second.view.items], [{ sku: 1 }, { sku: 1 }]);
    c.request(3, { ...add, opId: 'client-x-2' });
    assert.deepEqual(((await c.answer(3))[2] as unknown as { view: { items: Record<string, number> } }).view.items, { sku: 2 }, 'a new opId is a new add');
    c.ws.close();
  });

  it('answers malformed requests with RS_ERR_BAD_REQUEST and keeps the connection', async () => {
    const c = await RawClient.open(addr);
    const bad: Array<Record<string, unknown>> = [
      { type: 'op', key: 5, op: { op: 'get' } },
      { type: 'op', key: '', op: { op: 'get' } },
      { type: 'op', key: 'k', op: { op: 'explode' } },
      { type: 'op', key: 'k', op: { op: 'get' }, opts: { r: 0 } },
      { type: 'op', key: 'k', op: { op: 'get' }, opts: { consistency: 'sometimes' } },
      { type: 'op', key: 'k', op: { op: 'session-touch', expiresAtMs: Date.now() + 1000 }, opts: { after: -1 } },
      { type: 'op', key: 'k', op: { op: 'session-touch', expiresAtMs: Date.now() + 1000 }, opts: { after: 'soon' } },
      { type: 'op', key: 'k', op: { op: 'put', ct: 'x', body: 'not bytes', context: {} } },
      { type: 'op', key: 'k', op: { op: 'session-write', set: { a: new Uint8Array(3) }, del: [], expiresAtMs: Date.now() + 1000 } },
      { type: 'op', key: 'k', op: { op: 'session-write', set: { '': 1 }, del: [], expiresAtMs: Date.now() + 1000 } },
      { type: 'op', key: 'k', op: { op: 'session-write', set: {}, del: [7], expiresAtMs: Date.now() + 1000 } },
      { type: 'op', key: 'k', op: { op: 'cart', action: 'add', item: 'x', qty: -1 } },
      { type: 'scan', prefix: 7, cursor: null },
      { type: 'scan', prefix: '', cursor: [99_999, ''] },
      { type: 'scan', prefix: '', cursor: null, limit: 0 },
      { type: 'teleport' },
    ];
    for (let i = 0; i < bad.length; i++) {
      c.request(i + 1, bad[i]!);
      assert.equal(errorCode(await c.answer(i + 1)), 'RS_ERR_BAD_REQUEST', `request ${JSON.stringify(bad[i])}`);
    }
    c.request(100, { type: 'op', key: 'k', op: { op: 'get' } });
    // An absent key: stamp 0, for a client's session token.
    assert.deepEqual((await c.answer(100))[2], { type: 'op-ok', view: null, stamp: 0 });
    c.ws.close();
  });

  it('closes a connection that sends a frame that is not msgpack envelopes, or a text frame, and only that one', async () => {
    const good = await RawClient.open(addr);
    const garbage = await RawClient.open(addr);
    garbage.ws.send(Buffer.from([0xc1, 0xff, 0x00]));
    assert.equal(await garbage.closed(), 1002);
    const texter = await RawClient.open(addr);
    texter.ws.send('{"type":"ring"}');
    assert.equal(await texter.closed(), 1002);
    good.request(1, { type: 'ring' });
    assert.equal((await good.answer(1))[0], KIND_REPLY);
    good.ws.close();
  });

  it('closes a connection whose frame exceeds frameBytesMax (1009)', async () => {
    const c = await RawClient.open(addr);
    c.request(1, { type: 'op', key: 'k', op: { op: 'put', ct: 'x', body: new Uint8Array(FRAME_BYTES_MAX + 1), context: {} } });
    assert.equal(await c.closed(), 1009);
  });

  it('refuses requests beyond clientInflightMax with RS_ERR_OVERLOADED and answers every one', async () => {
    const c = await RawClient.open(addr);
    const envs: Envelope[] = [];
    for (let i = 1; i <= 20; i++) {
      envs.push([KIND_REQUEST, i, { type: 'op', key: `ov-${i}`, op: { op: 'session-touch', expiresAtMs: Date.now() + 1000 } } as never]);
    }
    c.ws.send(encodeFrame(envs));
    const answers = await Promise.all(envs.map((e) => c.answer(e[1])));
    const ok = answers.filter((a) => a[0] === KIND_REPLY).length;
    const overloaded = answers.filter((a) => a[0] === KIND_ERROR && errorCode(a) === 'RS_ERR_OVERLOADED').length;
    assert.equal(ok + overloaded, 20);
    assert.ok(ok >= 4 && overloaded >= 1, `ok ${ok}, overloaded ${overloaded}`);
    c.ws.close();
  });

  it('refuses a request too large for a frame on the client side, before sending it', async () => {
    const client = new RingClient({ nodes: [addr], frameBytesMax: FRAME_BYTES_MAX });
    try {
      await client.ready();
      await assert.rejects(client.put('huge', new Uint8Array(FRAME_BYTES_MAX)), (e: { code?: string }) => e.code === 'RS_ERR_VALUE_TOO_LARGE');
      await waitFor('connections stay up', () => client.connections().filter((x) => x.state === 'open').length === 3, 5000, 20);
      assert.deepEqual((await client.get('huge')).values, [], 'nothing was written');
    } finally {
      await client.close();
    }
  });
});
