/**
 * WsNetwork nodes on 127.0.0.1 for tests: each with its own http server that
 * routes /peer upgrades to the network and refuses the rest, the way the
 * node layer does, and a handler that understands the test messages below.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { NotFoundError } from '../../src/core/errors';
import { asNodeId, type NodeId } from '../../src/core/ids';
import type { Logger } from '../../src/transport/logger';
import { WsNetwork, type WsNetworkOptions } from '../../src/transport/ws-network';

export type TestMsg = { type: string; [field: string]: unknown };

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

export function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: LogLine['level']) => (obj: object, msg?: string): void => { lines.push({ level, obj, msg }); };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface TestNode {
  id: NodeId;
  net: WsNetwork<TestMsg>;
  server: http.Server;
  port: number;
  addr: string;
  /** One-way messages received, with their sender. */
  notes: { from: NodeId; msg: TestMsg }[];
  /** Senders of the requests handled. */
  requestsFrom: NodeId[];
  logs: LogLine[];
  stop(): Promise<void>;
}

export const FRAME_BYTES_MAX = 1024 * 1024;

/**
 * Test messages: echo -> echo-ok; fail -> NotFoundError; crash -> a plain
 * Error; silent -> no reply; hang -> never answers; note (one-way) -> recorded.
 */
export async function startNode(
  name: string,
  opts: Partial<WsNetworkOptions> & { port?: number } = {},
): Promise<TestNode> {
  const id = asNodeId(name);
  const logs: LogLine[] = [];
  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const addr = `127.0.0.1:${port}`;
  const net = new WsNetwork<TestMsg>({
    self: id,
    selfAddr: addr,
    frameBytesMax: FRAME_BYTES_MAX,
    logger: recordingLogger(logs),
    reconnectBaseMs: 20,
    reconnectMaxMs: 100,
    ...opts,
  });
  server.on('upgrade', (req, socket, head) => {
    if (!net.handleUpgrade(req, socket, head)) socket.destroy();
  });
  const node: TestNode = {
    id, net, server, port, addr, notes: [], requestsFrom: [], logs,
    async stop() {
      await net.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  net.setHandler((from, msg) => {
    switch (msg.type) {
      case 'echo':
        node.requestsFrom.push(from);
        return { type: 'echo-ok', n: msg.n, by: name };
      case 'fail':
        throw new NotFoundError('no such thing');
      case 'crash':
        throw new Error('boom');
      case 'silent':
        return undefined;
      case 'hang':
        return new Promise<TestMsg>(() => undefined);
      case 'later':
        return new Promise<TestMsg>((resolve) => setTimeout(() => resolve({ type: 'later-ok' }), 5));
      default:
        node.notes.push({ from, msg });
        return undefined;
    }
  });
  return node;
}

/** Both nodes know each other. */
export function link(a: TestNode, b: TestNode, regions: { a?: string; b?: string } = {}): void {
  a.net.addPeer(b.id, b.addr, regions.b);
  b.net.addPeer(a.id, a.addr, regions.a);
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Poll `cond` every 5 ms until it holds, failing after `ms`. */
export async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
