/**
 * The control for event-loop pause figures: an idle Node process that only
 * measures its own event-loop delay. It does no work, so any pause it sees
 * is the machine's doing (the OS scheduler giving the core to other
 * processes), not the code's. On a shared 2-core machine a node's pauses
 * must be read against this floor.
 *
 * As a module: LoopProbe.start() forks this file; reset() opens a window,
 * read() returns the longest delay since. As a child: answers over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopDelay {
  maxMs: number;
  p99Ms: number;
}

export class LoopProbe {
  private constructor(private readonly child: ChildProcess) {}

  static start(): LoopProbe {
    return new LoopProbe(fork(__filename, ['--child'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  }

  reset(): Promise<LoopDelay> {
    return this.ask('reset');
  }

  read(): Promise<LoopDelay> {
    return this.ask('read');
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }

  private ask(cmd: 'reset' | 'read'): Promise<LoopDelay> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('loop probe did not answer')), 5000);
      this.child.once('message', (m) => {
        clearTimeout(t);
        resolve(m as LoopDelay);
      });
      this.child.send(cmd);
    });
  }
}

/** The same measurement in this process (the benchmark client's own pauses). */
export function ownLoopDelay(): { reset(): void; read(): LoopDelay } {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  return {
    reset: () => h.reset(),
    read: () => ({ maxMs: h.count === 0 ? 0 : h.max / 1e6, p99Ms: h.count === 0 ? 0 : h.percentile(99) / 1e6 }),
  };
}

if (require.main === module && process.argv.includes('--child')) {
  const own = ownLoopDelay();
  process.on('message', (cmd) => {
    const now = own.read();
    if (cmd === 'reset') own.reset();
    process.send?.(now);
  });
  process.on('disconnect', () => process.exit(0));
}
