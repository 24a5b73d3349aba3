/**
 * The event trace of one run: every event the queue runs and every message
 * a node sends, one line each. Two runs of one seed must produce the same
 * lines byte for byte (TigerBeetle's VOPR and FoundationDB check the same
 * way), so the trace is hashed as it grows; the last lines are kept for
 * failure reports, and all of them only when asked (--verbose).
 */
import { createHash, type Hash } from 'node:crypto';

export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private readonly tail: string[] = [];
  private lines = 0;
  private digestHex: string | null = null;
  /** Lines waiting to be hashed: one update() per few KB, not per line. */
  private buffered: string[] = [];
  private bufferedChars = 0;

  constructor(
    private readonly tailMax = 200,
    private readonly sink: ((line: string) => void) | null = null,
  ) {}

  add(timeMs: number, text: string): void {
    const line = `${timeMs.toFixed(3)} ${text}`;
    this.buffered.push(line);
    this.bufferedChars += line.length;
    if (this.bufferedChars > 16_384) this.flush();
    this.lines++;
    if (this.tailMax > 0) {
      this.tail.push(line);
      // Trim in chunks: shift() per line would copy the array every time.
      if (this.tail.length > 2 * this.tailMax) this.tail.splice(0, this.tail.length - this.tailMax);
    }
    this.sink?.(line);
  }

  lineCount(): number {
    return this.lines;
  }

  /** The last lines recorded (at most tailMax). */
  lastLines(n = this.tailMax): string[] {
    return this.tail.slice(-Math.min(n, this.tailMax));
  }

  /** sha256 of every line so far; ends the trace. */
  digest(): string {
    if (this.digestHex === null) {
      this.flush();
      this.digestHex = this.hash.digest('hex');
    }
    return this.digestHex;
  }

  private flush(): void {
    if (this.buffered.length === 0) return;
    this.hash.update(`${this.buffered.join('\n')}\n`);
    this.buffered = [];
    this.bufferedChars = 0;
  }
}
