/**
 * Test harness: real `ringstore node` processes on loopback, each with its
 * own SQLite data directory, started, killed (SIGKILL) and restarted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const BIN = path.resolve(__dirname, '../../../bin/ringstore.js');

export interface ProcNodeSpec {
  id: string;
  port: number;
  region: string;
  dataDir: string;
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown = null;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastErr = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

export class ProcessCluster {
  readonly specs: ProcNodeSpec[];
  readonly root: string;
  private readonly procs = new Map<string, ChildProcess>();

  private constructor(specs: ProcNodeSpec[], root: string, private readonly extraArgs: string[]) {
    this.specs = specs;
    this.root = root;
  }

  static async create(opts: { nodes: number; regions?: string[]; extraArgs?: string[] }): Promise<ProcessCluster> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-cluster-'));
    const ports = await freePorts(opts.nodes);
    const regions = opts.regions ?? ['r1', 'r2', 'r3'];
    const specs = ports.map((port, i) => ({
      id: `n${i + 1}`, port, region: regions[i % regions.length]!, dataDir: path.join(root, `n${i + 1}`),
    }));
    return new ProcessCluster(specs, root, opts.extraArgs ?? []);
  }

  addr(id: string): string {
    return `127.0.0.1:${this.spec(id).port}`;
  }

  url(id: string, p: string): string {
    return `http://${this.addr(id)}${p}`;
  }

  spec(id: string): ProcNodeSpec {
    const s = this.specs.find((x) => x.id === id);
    if (!s) throw new Error(`no node ${id}`);
    return s;
  }

  start(id: string): void {
    const s = this.spec(id);
    fs.mkdirSync(s.dataDir, { recursive: true });
    const seeds = this.specs.map((x) => `127.0.0.1:${x.port}`).join(',');
    const log = fs.openSync(path.join(s.dataDir, 'node.log'), 'a');
    const child = spawn(process.execPath, [
      BIN, 'node', '--id', s.id, '--port', String(s.port), '--data', s.dataDir, '--seeds', seeds, '--region', s.region,
      ...this.extraArgs,
    ], { stdio: ['ignore', log, log], env: { ...process.env, RINGSTORE_LOG_LEVEL: process.env.RINGSTORE_LOG_LEVEL ?? 'info' } });
    fs.closeSync(log);
    this.procs.set(id, child);
  }

  startAll(): void {
    for (const s of this.specs) this.start(s.id);
  }

  /** SIGKILL: no shutdown hooks run, uncommitted work is lost. */
  async kill(id: string): Promise<void> {
    const p = this.procs.get(id);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    this.procs.delete(id);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((id) => this.kill(id)));
  }

  /** The usual after() hook: show each node's log tail if the test failed, stop every node, remove the data. */
  async teardown(testFailed: boolean, tailChars = 3000): Promise<void> {
    if (testFailed) for (const s of this.specs) console.log(`--- ${s.id} log tail\n${this.log(s.id).slice(-tailChars)}`);
    await this.stopAll();
    this.cleanup();
  }

  cleanup(): void {
    if (process.env.RINGSTORE_KEEP_TEST_DATA) return;
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  log(id: string): string {
    try {
      return fs.readFileSync(path.join(this.spec(id).dataDir, 'node.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async status(id: string): Promise<StatusBody> {
    const res = await fetch(this.url(id, '/admin/status'));
    if (!res.ok) throw new Error(`status ${res.status}`);
    return (await res.json()) as StatusBody;
  }

  /** Wait until every listed node sees every listed node alive. */
  async waitConverged(ids: string[] = this.specs.map((s) => s.id), timeoutMs = 20_000): Promise<void> {
    await waitFor(`members ${ids.join(',')} alive everywhere`, async () => {
      for (const id of ids) {
        const st = await this.status(id);
        for (const other of ids) {
          if (st.members.find((m) => m.id === other)?.state !== 'alive') return false;
        }
      }
      return true;
    }, timeoutMs);
  }
}

export interface StatusBody {
  id: string;
  ringVersion: string;
  members: Array<{ id: string; addr: string; region: string; state: string }>;
  partitions: { total: number; owned: number };
  hints: { pending: number; stored: number; delivered: number };
  keys: number;
}
