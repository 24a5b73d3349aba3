/**
 * A fresh local ringstore cluster for benchmarks: real `ringstore node`
 * processes on 127.0.0.1, each with its own SQLite file in a temp dir (as
 * `ringstore dev-cluster` starts them), plus what a benchmark needs around
 * them: per-node CPU time from /proc, the nodes' `perf` status (event-loop
 * pauses, peer message counters; src/node/event-loop-monitor.ts), injected
 * inter-region delay (POST /admin/faults), and a graceful stop so that a
 * node run with `--cpu-prof` writes its profile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { processCpuMs } from './proc-stat';

const BIN = path.resolve(__dirname, '../../bin/ringstore.js');

export interface BenchClusterOptions {
  nodes: number;
  n: number;
  r: number;
  w: number;
  /** Region names assigned round-robin (default: all nodes in one region). */
  regions?: string[];
  /** The cluster's default consistency. */
  consistency?: 'local' | 'global';
  /** Extra arguments for node itself (e.g. --cpu-prof), before the script. */
  nodeArgs?: string[];
  /** `ringstore node --sqlite-sync` (default: the node's own default, full). */
  sqliteSync?: 'full' | 'normal';
  /** Node log level (default warn: logging is not what is measured). */
  logLevel?: string;
  /** Keep the data dir (for inspection) instead of removing it on stop. */
  keepData?: boolean;
  /** The ringstore executable (bin/ringstore.js) to run; another build's for A/B comparisons. Default: this build's. */
  bin?: string;
}

export interface BenchNode {
  id: string;
  port: number;
  region: string;
  addr: string;
  dataDir: string;
  proc: ChildProcess;
}

/** The `perf` part of /admin/status (src/node/event-loop-monitor.ts). */
export interface NodePerf {
  eventLoop: { maxMs: number; p50Ms: number; p99Ms: number; meanMs: number; windowMs: number };
  gc?: { maxMs: number; totalMs: number; count: number };
  cpuMs: { user: number; system: number };
  memory: { rss: number; heapUsed: number };
  peer: { messagesSent: number; messagesReceived: number; framesSent: number; bytesSent: number };
  storage?: { commits: number; rowsWritten: number };
}

export interface NodeStatusBody {
  id: string;
  region: string;
  members: Array<{ id: string; state: string }>;
  partitions: { total: number; owned: number };
  handoff?: { active: number };
  hints: { pending: number; stored: number; delivered: number };
  keys: number;
  stats: { reads: number; writes: number; forwarded: number; readRepairs: number; hintsStored: number };
  perf?: NodePerf;
  /** Peer frame bytes by region (src/node/peer-traffic.ts). */
  traffic?: { crossRegion: { bytesSent: number; bytesReceived: number } };
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class BenchCluster {
  readonly nodes: BenchNode[] = [];
  private stopped = false;

  private constructor(readonly root: string, private readonly o: BenchClusterOptions) {}

  static async start(o: BenchClusterOptions): Promise<BenchCluster> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-bench-'));
    const c = new BenchCluster(root, o);
    try {
      await c.spawnAll();
      await c.waitReady();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  addrs(region?: string): string[] {
    return this.nodes.filter((x) => region === undefined || x.region === region).map((x) => x.addr);
  }

  async status(node: BenchNode): Promise<NodeStatusBody> {
    const res = await fetch(`http://${node.addr}/admin/status`);
    if (!res.ok) throw new Error(`${node.id}: /admin/status answered ${res.status}`);
    return (await res.json()) as NodeStatusBody;
  }

  async statuses(): Promise<NodeStatusBody[]> {
    return Promise.all(this.nodes.map((x) => this.status(x)));
  }

  /** Start a new event-loop window on every node (POST /admin/event-loop/reset). */
  async resetEventLoop(): Promise<void> {
    await Promise.all(this.nodes.map(async (x) => {
      const res = await fetch(`http://${x.addr}/admin/event-loop/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`${x.id}: event-loop reset answered ${res.status}`);
    }));
  }

  /** CPU time (user + system, ms) of each node process, from /proc. */
  cpuMs(): number[] {
    return this.nodes.map((x) => processCpuMs(x.proc.pid!));
  }

  /** POST /admin/faults on one node. */
  async setFaults(node: BenchNode, faults: { delayMs?: Record<string, number>; cut?: string[] }): Promise<void> {
    const res = await fetch(`http://${node.addr}/admin/faults`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults),
    });
    if (!res.ok) throw new Error(`${node.id}: /admin/faults answered ${res.status}: ${await res.text()}`);
  }

  /** Delay every message between different regions by `delayMs` (one way), on every node. */
  async delayBetweenRegions(delayMs: number): Promise<void> {
    const regions = [...new Set(this.nodes.map((x) => x.region))];
    await Promise.all(this.nodes.map((x) => this.setFaults(x, {
      delayMs: Object.fromEntries(regions.filter((r) => r !== x.region).map((r) => [r, delayMs])),
    })));
  }

  /** SIGTERM every node (so --cpu-prof profiles get written), SIGKILL after a grace period; remove the data. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.nodes.map(async (x) => {
      const p = x.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    }));
    if (!this.o.keepData) fs.rmSync(this.root, { recursive: true, force: true });
  }

  /** Bytes of every node's data dir (SQLite file and WAL). */
  dataBytes(): number[] {
    return this.nodes.map((x) => dirBytes(x.dataDir));
  }

  private async spawnAll(): Promise<void> {
    const ports = await freePorts(this.o.nodes);
    const regions = this.o.regions ?? ['bench'];
    const seeds = ports.map((p) => `127.0.0.1:${p}`).join(',');
    for (let i = 0; i < this.o.nodes; i++) {
      const id = `n${i + 1}`;
      const port = ports[i]!;
      const region = regions[i % regions.length]!;
      const dataDir = path.join(this.root, id);
      fs.mkdirSync(dataDir, { recursive: true });
      const log = fs.openSync(path.join(dataDir, 'node.log'), 'a');
      const args = [
        ...(this.o.nodeArgs ?? []), this.o.bin ?? BIN, 'node', '--id', id, '--host', '127.0.0.1', '--port', String(port),
        '--data', dataDir, '--seeds', seeds, '--region', region,
        '--n', String(this.o.n), '--r', String(this.o.r), '--w', String(this.o.w),
        '--consistency', this.o.consistency ?? 'global', '--log-level', this.o.logLevel ?? 'warn',
        ...(this.o.sqliteSync !== undefined ? ['--sqlite-sync', this.o.sqliteSync] : []),
      ];
      const proc = spawn(process.execPath, args, { stdio: ['ignore', log, log], cwd: dataDir });
      fs.closeSync(log);
      this.nodes.push({ id, port, region, addr: `127.0.0.1:${port}`, dataDir, proc });
    }
  }

  /** Every node up, each sees every other alive, and no partition is moving. */
  private async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      for (const x of this.nodes) {
        if (x.proc.exitCode !== null) throw new Error(`node ${x.id} exited with ${x.proc.exitCode}; log: ${path.join(x.dataDir, 'node.log')}`);
      }
      try {
        const all = await this.statuses();
        const alive = all.every((s) => this.nodes.every((x) => s.members.find((m) => m.id === x.id)?.state === 'alive'));
        // Nodes that started before the others first owned their partitions:
        // wait until those handoffs are done, so they do not run during the timed part.
        const settled = all.every((s) => (s.handoff?.active ?? 0) === 0);
        if (alive && settled) return;
        last = alive ? 'partition handoff still running' : 'members not all alive yet';
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(200);
    }
    throw new Error(`cluster not ready after ${timeoutMs} ms: ${last}`);
  }
}

export function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}
