/**
 * Several RingstoreNodes in this process on loopback ports with temporary
 * SQLite directories: real WebSocket links and real files, quicker to start
 * than child processes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RingstoreNode, type NodeOptions } from '../../src/node/ringstore-node';
import { createLogger } from '../../src/node/logger';
import { freePorts, waitFor } from '../cluster/process-cluster';

export class InProcessCluster {
  private constructor(readonly nodes: RingstoreNode[], readonly root: string) {}

  static async start(count: number, opts: Partial<NodeOptions> = {}): Promise<InProcessCluster> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-inproc-'));
    const ports = await freePorts(count);
    const seeds = ports.map((p) => `127.0.0.1:${p}`);
    const regions = ['r1', 'r2', 'r3'];
    const nodes = await Promise.all(ports.map((port, i) => RingstoreNode.start({
      id: `n${i + 1}`, host: '127.0.0.1', port, dataDir: path.join(root, `n${i + 1}`), seeds,
      region: regions[i % regions.length], logger: createLogger({ level: 'silent' }),
      ...opts,
      config: { gossipIntervalMs: 200, ...opts.config },
    })));
    const c = new InProcessCluster(nodes, root);
    await waitFor('every node knows every node', () => nodes.every((n) => n.members().size === count &&
      n.status().members.every((m) => m.state === 'alive')), 15_000);
    return c;
  }

  url(i: number, p: string): string {
    return `http://${this.nodes[i]!.addr}${p}`;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
