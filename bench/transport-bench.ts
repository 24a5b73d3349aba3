/**
 * Peer transport benchmark (DESIGN.md "Reference figures"): request/reply
 * round trips over loopback, a fixed number in flight, for a fixed time,
 * through WsNetwork (batched frames) and, side by side in the same run, a
 * baseline of bare ws + msgpackr with one message per frame (the setup of
 * the DESIGN.md reference figure), so the ratio can be compared across
 * machines. The answering side runs in a child process so each side has a
 * core, as two nodes would.
 *
 *   node dist/bench/transport-bench.js [--seconds 5] [--inflight 256]
 *     [--batch BYTES] [--msgs N] [--no-baseline]
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Packr, Unpackr } from 'msgpackr';
import WebSocket, { WebSocketServer } from 'ws';
import { asNodeId } from '../src/core/ids';
import { WsNetwork } from '../src/transport/ws-network';

type BenchMsg =
  | { type: 'get'; key: string }
  | { type: 'get-ok'; key: string; value: Buffer; ctx: { v: [string, number][] } };

const FRAME_BYTES_MAX = 64 * 1024 * 1024;
const VALUE = Buffer.alloc(100, 7);

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function answer(msg: BenchMsg): BenchMsg | undefined {
  if (msg.type !== 'get') return undefined;
  return { type: 'get-ok', key: msg.key, value: VALUE, ctx: { v: [['server', 42], ['other', 7]] } };
}

function networkOptions(name: string, addr: string) {
  return {
    self: asNodeId(name),
    selfAddr: addr,
    frameBytesMax: FRAME_BYTES_MAX,
    batchBytesMax: arg('batch', 256 * 1024),
    batchMessagesMax: arg('msgs', 64),
  };
}

/** Child process: a WsNetwork node and a bare ws server; reports both addresses. */
async function serve(): Promise<void> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const net = new WsNetwork<BenchMsg>(networkOptions('server', addr));
  net.attach(server);
  net.setHandler((_from, msg) => answer(msg));

  const packr = new Packr({ useRecords: false });
  const unpackr = new Unpackr({ mapsAsObjects: true });
  const bare = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((resolve) => bare.once('listening', () => resolve()));
  bare.on('connection', (ws) => {
    ws.on('message', (data) => {
      const [, id, msg] = unpackr.unpack(data as Buffer) as [number, number, BenchMsg];
      ws.send(packr.pack([1, id, answer(msg)]));
    });
  });
  process.send?.({ addr, bare: `127.0.0.1:${(bare.address() as AddressInfo).port}` });
  process.on('disconnect', () => process.exit(0));
}

/** A request function over bare ws: one message per frame, correlated by id. */
async function bareClient(addr: string): Promise<{ request(msg: BenchMsg): Promise<BenchMsg>; close(): void }> {
  const packr = new Packr({ useRecords: false });
  const unpackr = new Unpackr({ mapsAsObjects: true });
  const ws = new WebSocket(`ws://${addr}`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const pending = new Map<number, { resolve(m: BenchMsg): void; timer: NodeJS.Timeout }>();
  let next = 1;
  ws.on('message', (data) => {
    const [, id, msg] = unpackr.unpack(data as Buffer) as [number, number, BenchMsg];
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(msg);
  });
  return {
    request: (msg) => new Promise((resolve, reject) => {
      const id = next++;
      // The same per-request timer WsNetwork keeps, so the comparison is fair.
      pending.set(id, { resolve, timer: setTimeout(() => { pending.delete(id); reject(new Error('timeout')); }, 10_000) });
      ws.send(packr.pack([0, id, msg]));
    }),
    close: () => ws.close(),
  };
}

interface Result {
  rate: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

/** Keep `inflight` requests going; measure `seconds` after a one-second warm-up. */
async function drive(request: (msg: BenchMsg) => Promise<BenchMsg>, inflight: number, seconds: number): Promise<Result> {
  const latencies: number[] = [];
  let measuring = false;
  let stop = false;
  let errors = 0;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      const t0 = process.hrtime.bigint();
      try {
        await request({ type: 'get', key: `sess:${w}:${i}` });
        if (measuring) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch {
        errors++;
      }
    }
  };
  const workers = Array.from({ length: inflight }, (_, w) => worker(w));
  await new Promise((r) => setTimeout(r, 1000));
  measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  await Promise.all(workers);
  const sorted = Float64Array.from(latencies).sort();
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { rate: sorted.length / elapsedS, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1], errors };
}

function report(name: string, r: Result, extra = ''): void {
  const rate = Math.round(r.rate).toLocaleString('en-US').padStart(9);
  console.log(`  ${name.padEnd(34)} ${rate} round trips/s   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms   max ${r.max.toFixed(1)} ms${extra}${r.errors > 0 ? `   errors ${r.errors}` : ''}`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve')) return serve();
  const seconds = arg('seconds', 5);
  const inflight = arg('inflight', 256);
  const child: ChildProcess = fork(__filename, ['--serve', ...process.argv.slice(2)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const addrs = await new Promise<{ addr: string; bare: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { addr: string; bare: string }));
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  console.log(`transport-bench: request/reply over loopback, ${inflight} in flight, ${seconds} s each, server in a child process`);

  const client = new WsNetwork<BenchMsg>(networkOptions('client', '127.0.0.1:0'));
  const server = asNodeId('server');
  client.addPeer(server, addrs.addr);
  await client.request(server, { type: 'get', key: 'warm' }, 5000);
  const before = client.stats();
  const ws = await drive((msg) => client.request(server, msg, 10_000), inflight, seconds);
  const after = client.stats();
  const perFrame = (after.messagesSent - before.messagesSent) / Math.max(1, after.framesSent - before.framesSent);
  const perFrameIn = (after.messagesReceived - before.messagesReceived) / Math.max(1, after.framesReceived - before.framesReceived);
  report('WsNetwork (batched frames)', ws, `   msgs/frame out ${perFrame.toFixed(1)} in ${perFrameIn.toFixed(1)}`);
  await client.close();

  if (!process.argv.includes('--no-baseline')) {
    const bare = await bareClient(addrs.bare);
    const base = await drive(bare.request, inflight, seconds);
    report('bare ws + msgpackr, 1 msg/frame', base);
    bare.close();
    console.log(`  ratio                              ${(ws.rate / base.rate).toFixed(2)}x the baseline`);
  }
  child.disconnect();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
