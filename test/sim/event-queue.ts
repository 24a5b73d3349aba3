/**
 * The simulator's virtual time (FoundationDB's simulated run loop;
 * TigerBeetle's "time is measured in logical ticks"): one priority queue of
 * (time, seq, fn) that every delay in a run goes through, from message
 * delivery and request timeouts to storage commits, hint ticks, client
 * arrivals and faults. Nothing in a run reads the wall clock or sleeps.
 *
 * Ordering is total: by virtual time, then by the order events were
 * scheduled (seq), so two runs that schedule the same events run them in the
 * same order.
 *
 * Promise continuations: the protocol code is async, and its `await`s resume
 * as microtasks. After each event the loop waits for one setImmediate, which
 * Node runs only once the microtask and nextTick queues are empty, so every
 * continuation an event set off has run (and scheduled whatever it wanted)
 * before the next event starts. setImmediate here is a barrier, not a timer:
 * it carries no time and decides no order, so the run stays a pure function
 * of the seed.
 */

export interface QueuedEvent {
  readonly time: number;
  readonly seq: number;
  readonly label: string;
  readonly fn: () => void;
  cancelled: boolean;
}

/** Called with every event as it runs (the trace). */
export type EventObserver = (time: number, label: string) => void;

const drainMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class EventQueue {
  private readonly heap: QueuedEvent[] = [];
  private seq = 0;
  private nowMs = 0;
  private ran = 0;
  private observer: EventObserver | null = null;

  /** Virtual milliseconds since the start of the run. */
  now(): number {
    return this.nowMs;
  }

  /** Events run so far (cancelled ones are not counted). */
  executed(): number {
    return this.ran;
  }

  pending(): number {
    return this.heap.length;
  }

  observe(observer: EventObserver): void {
    this.observer = observer;
  }

  /** Run `fn` `delayMs` virtual ms from now; returns a function that cancels it. */
  schedule(delayMs: number, fn: () => void, label = 'task'): () => void {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw new RangeError(`bad delay ${delayMs}`);
    const ev: QueuedEvent = { time: this.nowMs + delayMs, seq: this.seq++, label, fn, cancelled: false };
    this.push(ev);
    return () => {
      ev.cancelled = true;
    };
  }

  /**
   * Run events in order until `stop()` holds (checked before each event), the
   * queue is empty, or the next event lies after `untilMs`; in that last case
   * virtual time moves to `untilMs`.
   */
  async run(stop: () => boolean, untilMs = Infinity): Promise<void> {
    while (!stop()) {
      const ev = this.peekLive();
      if (ev === undefined) return;
      if (ev.time > untilMs) {
        this.nowMs = Math.max(this.nowMs, untilMs);
        return;
      }
      this.pop();
      this.nowMs = ev.time;
      this.ran++;
      this.observer?.(ev.time, ev.label);
      ev.fn();
      await drainMicrotasks();
    }
  }

  /** Run until `untilMs` (or the queue empties). */
  runFor(durationMs: number): Promise<void> {
    return this.run(() => false, this.nowMs + durationMs);
  }

  /** Run until `p` settles or `untilMs` passes; resolves with whether it settled. */
  async runUntilSettled(p: Promise<unknown>, untilMs = Infinity): Promise<boolean> {
    let settled = false;
    p.then(() => { settled = true; }, () => { settled = true; });
    await drainMicrotasks();
    await this.run(() => settled, untilMs);
    return settled;
  }

  // ---- binary heap on (time, seq) ----

  private peekLive(): QueuedEvent | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private push(ev: QueuedEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): QueuedEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
