/**
 * `ringstore dev-cluster`: a local cluster of real node processes, each with
 * its own data directory, seeded from the first node. Stops them all on
 * SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface DevClusterOptions {
  nodes: number; basePort: number; data: string; regions: string; n: number; r: number; w: number;
}

export interface DevNodeSpec {
  id: string; port: number; region: string; dataDir: string; args: string[];
}

export function devClusterSpecs(o: DevClusterOptions, host = '127.0.0.1'): DevNodeSpec[] {
  const regions = o.regions.split(',').map((s) => s.trim()).filter(Boolean);
  const seeds = Array.from({ length: o.nodes }, (_, i) => `${host}:${o.basePort + i}`).join(',');
  return Array.from({ length: o.nodes }, (_, i) => {
    const id = `node${i + 1}`;
    const port = o.basePort + i;
    const region = regions[i % regions.length] ?? 'default';
    const dataDir = path.resolve(o.data, id);
    const args = [
      'node', '--id', id, '--host', host, '--port', String(port), '--data', dataDir, '--seeds', seeds,
      '--region', region, '--n', String(o.n), '--r', String(o.r), '--w', String(o.w),
    ];
    return { id, port, region, dataDir, args };
  });
}

export async function runDevCluster(o: DevClusterOptions): Promise<void> {
  fs.mkdirSync(o.data, { recursive: true });
  const bin = path.resolve(__dirname, '../../../bin/ringstore.js');
  const children: ChildProcess[] = [];
  let stopping = false;
  for (const spec of devClusterSpecs(o)) {
    fs.mkdirSync(spec.dataDir, { recursive: true });
    const log = fs.openSync(path.join(spec.dataDir, 'node.log'), 'a');
    const child = spawn(process.execPath, [bin, ...spec.args], { stdio: ['ignore', 'ignore', log] });
    child.on('exit', (code, signal) => {
      if (!stopping) process.stdout.write(`${spec.id} exited (${signal ?? code}); log: ${path.join(spec.dataDir, 'node.log')}\n`);
    });
    children.push(child);
    process.stdout.write(`node ${spec.id}: http://127.0.0.1:${spec.port} region ${spec.region} data ${spec.dataDir}\n`);
  }
  const stop = (): void => {
    stopping = true;
    for (const c of children) c.kill('SIGTERM');
    setTimeout(() => process.exit(0), 3000).unref();
    Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r))))).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
