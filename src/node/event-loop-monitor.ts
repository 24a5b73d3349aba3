/**
 * Event-loop pauses and process load, for benchmarks and operators (issue 6:
 * "no event-loop pause over 10 ms on a node during the run"). A node serves
 * every request on one thread, so the longest time that thread was busy
 * without yielding is a floor under the latency any request saw; Node's
 * perf_hooks.monitorEventLoopDelay measures exactly that (a timer's lateness,
 * sampled every `resolution` ms, in a native histogram: no JS on the hot path).
 *
 * Figures are kept for a window that `POST /admin/event-loop/reset` restarts,
 * so a benchmark can ask "the worst pause during this round". Node's
 * histogram starts a new window at its first sample after the reset, so a
 * pause that begins within one resolution (5 ms) of a reset is not counted in
 * either window; a benchmark resets before its round starts, not during it. They are shown
 * in `/admin/status` under `perf`, with the CPU time of the process, the
 * peer-message and group-commit counters, from which a benchmark derives CPU
 * time, messages and commits per operation without touching the hot path
 * either.
 */
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import type { FeatureHost } from './feature-host';
import { sendJson } from './http-router';

/** Sampling period of the delay histogram, ms (the smallest pause it resolves). */
const RESOLUTION_MS = 5;

export interface PerfStatus {
  eventLoop: {
    /** Longest event-loop delay in the window, ms. */
    maxMs: number;
    p50Ms: number;
    p99Ms: number;
    meanMs: number;
    /** When the window began (epoch ms) and how long it has run. */
    sinceMs: number;
    windowMs: number;
  };
  /**
   * Garbage-collection pauses in the window: the longest, their total and
   * count. A GC pause is the code's own doing, whatever else runs on the
   * machine, where the event-loop delay also counts time the OS gave the
   * core to other processes.
   */
  gc: { maxMs: number; totalMs: number; count: number };
  /** CPU time of the process since it started, user and system, ms. */
  cpuMs: { user: number; system: number };
  /** Resident set and V8 heap, bytes. */
  memory: { rss: number; heapUsed: number };
  /** Peer link counters (transport/ws-network.ts), cumulative. */
  peer: { messagesSent: number; messagesReceived: number; framesSent: number; bytesSent: number };
  /** Group commits and the rows they wrote (storage/sqlite-storage.ts), cumulative. */
  storage: { commits: number; rowsWritten: number };
}

export function installEventLoopMonitor(host: FeatureHost): void {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let sinceMs = Date.now();
  const gc = { maxMs: 0, totalMs: 0, count: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      gc.totalMs += e.duration;
      gc.count++;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const ns = (x: number): number => Math.round(x / 1e4) / 100; // ns -> ms, 2 decimals

  host.addStatus('perf', (): PerfStatus => {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const net = host.network.stats();
    const st = host.storage.stats();
    // An empty histogram reports min/max as sentinels: show zeros until a sample lands.
    const empty = histogram.count === 0;
    return {
      eventLoop: {
        maxMs: empty ? 0 : ns(histogram.max),
        p50Ms: empty ? 0 : ns(histogram.percentile(50)),
        p99Ms: empty ? 0 : ns(histogram.percentile(99)),
        meanMs: empty ? 0 : ns(histogram.mean),
        sinceMs,
        windowMs: Date.now() - sinceMs,
      },
      gc: { maxMs: Math.round(gc.maxMs * 100) / 100, totalMs: Math.round(gc.totalMs), count: gc.count },
      cpuMs: { user: cpu.user / 1000, system: cpu.system / 1000 },
      memory: { rss: mem.rss, heapUsed: mem.heapUsed },
      peer: {
        messagesSent: net.messagesSent, messagesReceived: net.messagesReceived,
        framesSent: net.framesSent, bytesSent: net.bytesSent,
      },
      storage: { commits: st.commits, rowsWritten: st.rowsWritten },
    };
  });

  host.router.add('POST', '/admin/event-loop/reset', (_req, res) => {
    histogram.reset();
    gc.maxMs = 0;
    gc.totalMs = 0;
    gc.count = 0;
    sinceMs = Date.now();
    sendJson(res, 200, { sinceMs });
  });

  host.onClose(() => {
    histogram.disable();
    gcObserver.disconnect();
  });
}
