/**
 * Peer links over TLS (issue 7): wss with certificate verification against a
 * CA, and handshake proofs bound to the TLS session. Certificates are made
 * with openssl at test time; without openssl the tests skip.
 */
import { strict as assert } from 'node:assert';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { RingstoreError } from '../../src/core/errors';
import { asNodeId } from '../../src/core/ids';
import { WsNetwork, type WsNetworkOptions } from '../../src/transport/ws-network';
import { handshake, openRawPeer } from './auth-client';
import { makeCerts, type TestCerts } from './tls-certs';
import { recordingLogger, until, type LogLine, type TestMsg } from './ws-harness';

const SECRET = Buffer.from('tls test cluster secret, 32 bytes!');

interface TlsNode {
  net: WsNetwork<TestMsg>;
  addr: string;
  logs: LogLine[];
  seen: string[];
  stop(): Promise<void>;
}

async function startTlsNode(name: string, certs: TestCerts, opts: Partial<WsNetworkOptions> = {}): Promise<TlsNode> {
  const server = https.createServer({ cert: certs.cert, key: certs.key }, (_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const logs: LogLine[] = [];
  const seen: string[] = [];
  const net = new WsNetwork<TestMsg>({
    self: asNodeId(name), selfAddr: addr, frameBytesMax: 1024 * 1024, logger: recordingLogger(logs),
    reconnectBaseMs: 20, reconnectMaxMs: 100, secret: SECRET, tls: { ca: certs.ca }, ...opts,
  });
  server.on('upgrade', (req, socket, head) => {
    if (!net.handleUpgrade(req, socket, head)) socket.destroy();
  });
  net.setHandler((from, msg) => {
    seen.push(`${from}:${msg.type}`);
    return { type: 'echo-ok', by: name };
  });
  return {
    net, addr, logs, seen,
    async stop() {
      await net.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('transport/ws-network over TLS', function () {
  let certs: TestCerts | null = null;
  let otherCa: TestCerts | null = null;
  let nodes: TlsNode[] = [];

  before(function () {
    certs = makeCerts(['127.0.0.1']);
    otherCa = makeCerts(['127.0.0.1'], 'some-other-ca');
    if (certs === null) {
      console.log('      (skipped: openssl is not installed, so no test certificates)');
      this.skip();
    }
  });
  after(() => {
    certs?.cleanup();
    otherCa?.cleanup();
  });
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    nodes = [];
  });
  const start = async (name: string, c: TestCerts, opts: Partial<WsNetworkOptions> = {}): Promise<TlsNode> => {
    const n = await startTlsNode(name, c, opts);
    nodes.push(n);
    return n;
  };

  it('links two nodes over wss and carries requests both ways', async () => {
    const a = await start('a', certs!);
    const b = await start('b', certs!);
    a.net.addPeer(asNodeId('b'), b.addr);
    b.net.addPeer(asNodeId('a'), a.addr);
    assert.deepEqual(await a.net.request(asNodeId('b'), { type: 'echo' }, 3000), { type: 'echo-ok', by: 'b' });
    assert.deepEqual(await b.net.request(asNodeId('a'), { type: 'echo' }, 3000), { type: 'echo-ok', by: 'a' });
    assert.equal(a.net.stats().authFailures + b.net.stats().authFailures, 0);
  });

  it('refuses to link to a node whose certificate its CA did not sign', async () => {
    const a = await start('a', certs!, { tls: { ca: otherCa!.ca } });
    const b = await start('b', certs!);
    a.net.addPeer(asNodeId('b'), b.addr);
    await assert.rejects(a.net.request(asNodeId('b'), { type: 'echo' }, 2000),
      (e: unknown) => e instanceof RingstoreError && e.code === 'RS_ERR_UNREACHABLE' && /certificate/i.test(e.message));
    assert.deepEqual(b.seen, []);
  });

  it('does not speak plain ws on a TLS port', async () => {
    const b = await start('b', certs!);
    await assert.rejects(openRawPeer(`ws://${b.addr}/peer`));
  });

  it('binds proofs to the TLS session: a proof made without its keying material is refused', async () => {
    const b = await start('b', certs!);
    // handshake() computes proofs with an empty channel binding, as a relay
    // between two TLS sessions would have to: b's own proof fails there, too.
    await assert.rejects(handshake(`wss://${b.addr}/peer`, SECRET, 'relay', { ca: certs!.ca }), /failed to prove/);
    await until(() => b.net.stats().authFailures >= 1, 2000, 'b to count the failed handshake');
    assert.deepEqual(b.seen, []);
  });
});
