/**
 * `npm start` (DESIGN.md Interfaces: CLI): a local 3-node cluster in three
 * regions, as child processes with their data under ./data, plus the demo
 * shop on http://127.0.0.1:3000. Prints one line per node address and a line
 * `shop: http://127.0.0.1:PORT` once everything answers; stops everything on
 * SIGINT/SIGTERM.
 *
 * Environment: PORT (shop, default 3000), RINGSTORE_BASE_PORT (first node,
 * default 7000; the others follow), RINGSTORE_DATA (default ./data),
 * SHOP_SESSION_SECRET (default: a random secret kept in DATA/shop-secret, so
 * sessions survive a restart).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { devClusterSpecs, type DevNodeSpec } from '../src/cli/dev-cluster-command';
import { createShop, type Shop } from './shop-app';

const BIN = path.resolve(__dirname, '../../bin/ringstore.js');

function envPort(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  return n;
}

function sessionSecret(dataDir: string): string {
  if (process.env.SHOP_SESSION_SECRET) return process.env.SHOP_SESSION_SECRET;
  const file = path.join(dataDir, 'shop-secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const s = crypto.randomBytes(32).toString('hex');
    fs.writeFileSync(file, s, { mode: 0o600 });
    return s;
  }
}

/** Whether nothing listens on 127.0.0.1:port (else a node would die on start and another cluster could answer for it). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function waitForCluster(specs: DevNodeSpec[], exited: () => string | null, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = exited();
    if (dead) throw new Error(dead);
    let ready = true;
    for (const s of specs) {
      try {
        const res = await fetch(`http://127.0.0.1:${s.port}/admin/status`, { signal: AbortSignal.timeout(1000) });
        const st = (await res.json()) as { members?: Array<{ id: string; state: string }> };
        const alive = new Set((st.members ?? []).filter((m) => m.state === 'alive').map((m) => m.id));
        if (!specs.every((o) => alive.has(o.id))) ready = false;
      } catch {
        ready = false;
      }
      if (!ready) break;
    }
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`the cluster did not come up within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startDemo(): Promise<void> {
  const shopPort = envPort('PORT', 3000);
  const basePort = envPort('RINGSTORE_BASE_PORT', 7000);
  const data = path.resolve(process.env.RINGSTORE_DATA ?? './data');
  fs.mkdirSync(data, { recursive: true });
  const specs = devClusterSpecs({ nodes: 3, basePort, data, regions: 'region-a,region-b,region-c', n: 3, r: 2, w: 2 });

  for (const port of [...specs.map((s) => s.port), shopPort]) {
    if (!(await portFree(port))) {
      throw new Error(`port ${port} on 127.0.0.1 is in use (another npm start?); set PORT or RINGSTORE_BASE_PORT`);
    }
  }

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let firstExit: string | null = null;
  let shop: Shop | null = null;

  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const forced = setTimeout(() => {
      for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      process.exit(code || 1);
    }, 5000);
    forced.unref();
    try {
      await shop?.close();
    } catch (err) {
      process.stderr.write(`shop: error while closing: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    await Promise.all([...children.values()].map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    })));
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  for (const spec of specs) {
    fs.mkdirSync(spec.dataDir, { recursive: true });
    const logPath = path.join(spec.dataDir, 'node.log');
    const log = fs.openSync(logPath, 'a');
    const child = spawn(process.execPath, [BIN, ...spec.args], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    child.on('exit', (code, signal) => {
      const what = `node ${spec.id} exited (${signal ?? code}); see ${logPath}`;
      firstExit ??= what;
      if (!stopping) {
        process.stderr.write(`${what}\n`);
        void stop(1);
      }
    });
    children.set(spec.id, child);
  }

  try {
    await waitForCluster(specs, () => firstExit, 30_000);
  } catch (err) {
    process.stderr.write(`ringstore demo: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
    return;
  }
  for (const s of specs) process.stdout.write(`node ${s.id}: http://127.0.0.1:${s.port} region ${s.region} data ${s.dataDir}\n`);

  shop = createShop({ nodes: specs.map((s) => `127.0.0.1:${s.port}`), sessionSecret: sessionSecret(data) });
  try {
    await shop.listen(shopPort, '127.0.0.1');
  } catch (err) {
    process.stderr.write(`shop: cannot listen on 127.0.0.1:${shopPort}: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
    return;
  }
  process.stdout.write(`shop: http://127.0.0.1:${shopPort}\n`);
}

if (require.main === module) {
  startDemo().catch((err) => {
    process.stderr.write(`ringstore demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
