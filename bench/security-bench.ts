/**
 * What the security features cost (issue 7; docs/security.md), side by side
 * in one run on loopback, one process:
 *
 * - link setup: dial, handshake and first round trip on a fresh peer link,
 *   over plain ws without a secret, with the HMAC challenge-response, and
 *   with the handshake over wss (TLS 1.3);
 * - round trips per second over one established link, 256 in flight, for
 *   each of the three (the handshake is paid once per link, so these should
 *   match, except for TLS's encryption);
 * - HTTP requests per second through the guard, without and with bearer
 *   tokens and a (non-binding) rate limit.
 *
 *   node dist/bench/security-bench.js [--seconds 2] [--links 50]
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_LIMITS } from '../src/core/config';
import { asNodeId } from '../src/core/ids';
import { TokenTable } from '../src/node/auth';
import { createLogger } from '../src/node/logger';
import { RingstoreNode } from '../src/node/ringstore-node';
import { WsNetwork } from '../src/transport/ws-network';
import { makeCerts, type TestCerts } from '../test/transport/tls-certs';

type Msg = { type: string; n?: number };

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SECRET = Buffer.from('benchmark cluster secret, 32 bytes');

interface Mode {
  name: string;
  secret?: Buffer;
  tls?: TestCerts;
}

async function pair(mode: Mode): Promise<{ a: WsNetwork<Msg>; bAddr: string; stop(): Promise<void> }> {
  const server = mode.tls
    ? https.createServer({ cert: mode.tls.cert, key: mode.tls.key })
    : http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const bAddr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const common = { frameBytesMax: 64 * 1024 * 1024, secret: mode.secret, tls: mode.tls ? { ca: mode.tls.ca } : undefined, pingIntervalMs: 0 };
  const b = new WsNetwork<Msg>({ self: asNodeId('b'), selfAddr: bAddr, ...common });
  server.on('upgrade', (req, socket, head) => {
    if (!b.handleUpgrade(req, socket, head)) socket.destroy();
  });
  b.setHandler((_from, m) => ({ type: 'ok', n: m.n }));
  const a = new WsNetwork<Msg>({ self: asNodeId('a'), selfAddr: '127.0.0.1:1', ...common });
  a.setHandler(() => undefined);
  return {
    a, bAddr,
    async stop() {
      await a.close();
      await b.close();
      (server as http.Server).closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function linkSetup(mode: Mode, links: number): Promise<{ meanMs: number; p99Ms: number }> {
  const p = await pair(mode);
  const times: number[] = [];
  for (let i = 0; i < links; i++) {
    const id = asNodeId(`b${i}`);
    const t0 = process.hrtime.bigint();
    p.a.addPeer(id, p.bAddr);
    await p.a.request(id, { type: 'ping', n: i }, 5000);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    p.a.removePeer(id);
  }
  await p.stop();
  times.sort((x, y) => x - y);
  return { meanMs: times.reduce((s, t) => s + t, 0) / times.length, p99Ms: times[Math.floor(times.length * 0.99)]! };
}

async function roundTrips(mode: Mode, seconds: number): Promise<number> {
  const p = await pair(mode);
  const id = asNodeId('b');
  p.a.addPeer(id, p.bAddr);
  await p.a.request(id, { type: 'warm' }, 5000);
  const end = Date.now() + seconds * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      await p.a.request(id, { type: 'get', n: done }, 5000);
      done++;
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 256 }, worker));
  const rate = done / ((Date.now() - t0) / 1000);
  await p.stop();
  return rate;
}

async function httpRate(secured: boolean, seconds: number): Promise<number> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-secbench-'));
  const token = 'bench-admin-token-0123456789';
  const node = await RingstoreNode.start({
    id: 'bench', host: '127.0.0.1', port: 0, dataDir: root, logger: createLogger({ level: 'silent' }),
    tokens: secured ? TokenTable.parse(`admin ${token}`) : undefined,
    config: { n: 1, r: 1, w: 1, limits: { ...DEFAULT_LIMITS, httpRequestsPerSecondMax: secured ? 1_000_000 : 0 } },
  });
  const port = node.listeningPort();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const get = (): Promise<void> => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/carts/bench', agent, headers: secured ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.resume();
      res.on('end', () => resolve());
    }).on('error', reject);
  });
  const end = Date.now() + seconds * 1000;
  let done = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (Date.now() < end) {
      await get();
      done++;
    }
  }));
  const rate = done / ((Date.now() - t0) / 1000);
  agent.destroy();
  await node.close();
  fs.rmSync(root, { recursive: true, force: true });
  return rate;
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 2);
  const links = arg('links', 50);
  const certs = makeCerts(['127.0.0.1']);
  const modes: Mode[] = [{ name: 'ws, no secret' }, { name: 'ws + HMAC handshake', secret: SECRET }];
  if (certs) modes.push({ name: 'wss + HMAC handshake', secret: SECRET, tls: certs });
  else console.log('(no openssl: the wss rows are skipped)');
  console.log(`link setup (dial + handshake + first reply), ${links} links each:`);
  for (const m of modes) {
    const r = await linkSetup(m, links);
    console.log(`  ${m.name.padEnd(22)} mean ${r.meanMs.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms`);
  }
  await roundTrips(modes[0]!, 1); // warm-up (JIT), not reported
  console.log(`round trips over one link, 256 in flight, ${seconds} s each:`);
  for (const m of modes) console.log(`  ${m.name.padEnd(22)} ${Math.round(await roundTrips(m, seconds)).toLocaleString('en-US')} /s`);
  await httpRate(false, 1); // warm-up
  console.log(`HTTP GET /carts/x through the guard, 32 keep-alive connections, ${seconds} s each:`);
  console.log(`  open                   ${Math.round(await httpRate(false, seconds)).toLocaleString('en-US')} req/s`);
  console.log(`  token + rate limit     ${Math.round(await httpRate(true, seconds)).toLocaleString('en-US')} req/s`);
  certs?.cleanup();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
