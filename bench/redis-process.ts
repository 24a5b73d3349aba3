/**
 * A fresh redis-server for the comparison runs: its own port on 127.0.0.1,
 * its own empty working directory, and a stated durability: `none` (no RDB
 * snapshots, no AOF: what the DESIGN.md reference figure used) or
 * `everysec` (AOF fsynced once a second: Redis's recommended durable mode,
 * the closest to a write acknowledged after it reached the disk).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePorts, sleep } from './bench-cluster';
import { processCpuMs } from './proc-stat';

export type RedisDurability = 'none' | 'everysec' | 'always';

export class RedisProcess {
  private constructor(readonly port: number, readonly dir: string, readonly proc: ChildProcess, readonly durability: RedisDurability) {}

  static async start(durability: RedisDurability, bin = 'redis-server'): Promise<RedisProcess> {
    const [port] = await freePorts(1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-bench-redis-'));
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      ...(durability === 'none' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', durability]),
    ];
    const proc = spawn(bin, args, { stdio: 'ignore' });
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
    });
    failed.catch(() => undefined);
    const r = new RedisProcess(port!, dir, proc, durability);
    try {
      await Promise.race([failed, r.waitReady()]);
    } catch (err) {
      await r.stop();
      throw err;
    }
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  cpuMs(): number {
    return processCpuMs(this.proc.pid!);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitReady(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.ping()) return;
      await sleep(50);
    }
    throw new Error(`redis-server on port ${this.port} did not answer PING within ${timeoutMs} ms`);
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(this.port, '127.0.0.1');
      s.setTimeout(500);
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
      s.once('error', () => resolve(false));
      s.once('timeout', () => { s.destroy(); resolve(false); });
    });
  }
}
