/**
 * Test harness: real RingstoreNode instances (ws + SQLite) in this process on
 * 127.0.0.1, each with its own temp data dir and a silent logger; nodes can
 * be closed and restarted on the same port and data. Cheaper than the
 * process cluster (test/cluster/process-cluster.ts) when a test needs real
 * sockets but not SIGKILL.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { NodeConfig } from '../../src/core/config';
import { RingstoreNode, type NodeOptions } from '../../src/node/ringstore-node';
import { freePorts, waitFor } from '../cluster/process-cluster';

export interface InProcessSpec {
  id: string;
  port: number;
  region: string;
  dataDir: string;
}

export class InProcessCluster {
  readonly nodes: Array<RingstoreNode | null>;

  private constructor(
    readonly specs: InProcessSpec[],
    readonly root: string,
    private readonly config: Partial<NodeConfig>,
    private readonly nodeOptions: Partial<NodeOptions>,
  ) {
    this.nodes = specs.map(() => null);
  }

  static async start(opts: {
    nodes?: number; regions?: string[]; config?: Partial<NodeConfig>; nodeOptions?: Partial<NodeOptions>;
  } = {}): Promise<InProcessCluster> {
    const count = opts.nodes ?? 3;
    const regions = opts.regions ?? ['r1', 'r2', 'r3'];
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-inproc-'));
    const ports = await freePorts(count);
    const specs = ports.map((port, i) => ({
      id: `n${i + 1}`, port, region: regions[i % regions.length]!, dataDir: path.join(root, `n${i + 1}`),
    }));
    const c = new InProcessCluster(specs, root, { gossipIntervalMs: 200, ...opts.config }, opts.nodeOptions ?? {});
    await Promise.all(specs.map((_, i) => c.startNode(i)));
    await c.waitConverged();
    return c;
  }

  addrs(): string[] {
    return this.specs.map((s) => `127.0.0.1:${s.port}`);
  }

  async startNode(i: number): Promise<RingstoreNode> {
    const s = this.specs[i]!;
    const node = await RingstoreNode.start({
      ...this.nodeOptions,
      id: s.id,
      host: '127.0.0.1',
      port: s.port,
      dataDir: s.dataDir,
      region: s.region,
      seeds: this.addrs(),
      config: this.config,
      logger: pino({ level: process.env.RINGSTORE_TEST_LOG_LEVEL ?? 'silent' }),
    });
    this.nodes[i] = node;
    return node;
  }

  async stopNode(i: number): Promise<void> {
    const node = this.nodes[i];
    this.nodes[i] = null;
    await node?.close();
  }

  /** Every running node knows every running node and they agree on the ring. */
  async waitConverged(timeoutMs = 15_000): Promise<void> {
    await waitFor('in-process cluster converged', () => {
      const up = this.nodes.filter((n): n is RingstoreNode => n !== null);
      const versions = new Set(up.map((n) => n.currentRing().version));
      return versions.size === 1 && up.every((n) => n.currentRing().members.length === this.specs.length);
    }, timeoutMs, 50);
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.stopNode(i)));
    if (!process.env.RINGSTORE_KEEP_TEST_DATA) fs.rmSync(this.root, { recursive: true, force: true });
  }
}
