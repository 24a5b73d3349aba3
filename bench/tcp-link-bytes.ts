/**
 * Bytes that node processes sent each other, per pair of processes, as the
 * kernel counts them: `ss -tinp` gives each established TCP socket's
 * `bytes_acked` (payload bytes the peer acknowledged: WebSocket framing and
 * our frame headers included, retransmissions not) and the process owning it.
 * A socket of process A whose remote end is a socket of process B carries
 * A's bytes to B. This needs no counter in the node: the transport keeps its
 * byte counter per node, not per peer (src/transport/ws-network.ts), and a
 * benchmark that asks "bytes between regions" must not change what it
 * measures.
 *
 * The kernel forgets a socket when it closes, so the meter is polled (every
 * second by the region-cut bench) and keeps the last figure of every socket it
 * saw: bytes a socket sent after its last poll and before it closed are
 * missed. Loopback only (all bench nodes listen on 127.0.0.1).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One established TCP socket: its two endpoints, owning pid and bytes acked. */
export interface TcpSocketBytes {
  local: string;
  peer: string;
  pid: number;
  bytesAcked: number;
}

/** Parses `ss -tinpH state established`: a socket line followed by its tcp_info line. */
export function parseSs(text: string): TcpSocketBytes[] {
  const out: TcpSocketBytes[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i]!.trim().split(/\s+/);
    // Recv-Q Send-Q Local Peer users:(("node",pid=1,fd=2))
    if (head.length < 4 || !/^\d+$/.test(head[0]!)) continue;
    const pidMatch = /pid=(\d+)/.exec(lines[i]!);
    const info = lines[i + 1] ?? '';
    const acked = /bytes_acked:(\d+)/.exec(info);
    if (pidMatch === null) continue;
    out.push({ local: head[2]!, peer: head[3]!, pid: Number(pidMatch[1]), bytesAcked: acked ? Number(acked[1]) : 0 });
  }
  return out;
}

/** Asynchronous, so that polling does not stall the benchmark's own clients. */
export async function readSockets(): Promise<TcpSocketBytes[]> {
  const { stdout } = await run('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return parseSs(stdout);
}

/** Bytes sent from process `from` to process `to`, summed over every socket seen between them. */
export type PairBytes = Map<string, number>;
export const pairKey = (from: number, to: number): string => `${from}>${to}`;

interface SeenSocket {
  from: number;
  to: number;
  /** Bytes of earlier sockets on the same endpoints (a reused port), plus this one's last figure. */
  base: number;
  last: number;
}

export class TcpByteMeter {
  private readonly seen = new Map<string, SeenSocket>();
  private readonly pids: Set<number>;
  private chain: Promise<void> = Promise.resolve();

  /** Counts only sockets between two of these processes. */
  constructor(pids: number[]) {
    this.pids = new Set(pids);
  }

  /**
   * Read every socket now and remember its figure. Polls run one at a time:
   * an older reading landing after a newer one would look like a new socket.
   */
  poll(): Promise<void> {
    const next = this.chain.then(() => this.pollOnce());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async pollOnce(): Promise<void> {
    const sockets = await readSockets();
    const owner = new Map<string, number>();
    for (const s of sockets) owner.set(s.local, s.pid);
    for (const s of sockets) {
      const to = owner.get(s.peer);
      if (!this.pids.has(s.pid) || to === undefined || !this.pids.has(to) || to === s.pid) continue;
      const key = `${s.local}>${s.peer}`;
      const prev = this.seen.get(key);
      if (prev === undefined) this.seen.set(key, { from: s.pid, to, base: 0, last: s.bytesAcked });
      else if (s.bytesAcked < prev.last) {
        // The same endpoints on a new socket: keep what the old one sent.
        prev.base += prev.last;
        prev.last = s.bytesAcked;
      } else prev.last = s.bytesAcked;
    }
  }

  /** Poll, then the cumulative bytes of each (from, to) pair so far. */
  async snapshot(): Promise<PairBytes> {
    await this.poll();
    const out: PairBytes = new Map();
    for (const s of this.seen.values()) {
      const k = pairKey(s.from, s.to);
      out.set(k, (out.get(k) ?? 0) + s.base + s.last);
    }
    return out;
  }
}

/** Bytes sent between `a` and `b` (b later), summed over the pairs `pick` accepts. */
export function bytesBetween(a: PairBytes, b: PairBytes, pick: (from: number, to: number) => boolean): number {
  let total = 0;
  for (const [k, v] of b) {
    const [from, to] = k.split('>').map(Number) as [number, number];
    if (pick(from, to)) total += v - (a.get(k) ?? 0);
  }
  return total;
}
