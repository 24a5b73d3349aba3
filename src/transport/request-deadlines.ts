/**
 * Request timeouts of one network with a single timer, instead of a
 * setTimeout (a Timeout object, a closure, a timer-list insertion and its
 * removal) per request on the hot path.
 *
 * Requests are queued in the order they were sent, one queue per timeout
 * value: the deadlines in one queue are then monotonic (sent time plus the
 * same timeout, on a monotonic clock), so the earliest deadline of all is at
 * the head of one of the few queues. One timer is armed for it; when it fires,
 * every request past its deadline expires and the timer is re-armed for the
 * next head. A settled request (answered, refused, or rejected with its link)
 * is not searched for: it only stops waiting, and the queue drops it when it
 * reaches the head (lazy deletion), or when settled entries pile up behind a
 * request that is still waiting (compaction, amortized O(1) per request).
 *
 * While no request waits, the timer is unref'd so it keeps no process alive,
 * as a cleared per-request timer would not have.
 */
import { assert } from '../core/assert';
import type { PeerMessage } from '../core/network-port';
import type { PendingRequest } from './peer-link';

/** Settled entries beyond twice the waiting ones (plus this slack) that trigger a compaction. */
const COMPACT_SLACK = 1024;

// The executor that hands a new promise's resolving functions to TimedRequest:
// one function for all requests rather than a closure per request.
let capturedResolve: ((v: never) => void) | null = null;
let capturedReject: ((err: Error) => void) | null = null;
function capture(resolve: (v: never) => void, reject: (err: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** What the deadlines see of a request. */
export interface Expiring {
  deadlineMs: number;
  readonly waiting: boolean;
  expire(): void;
}

/**
 * A request waiting for its reply, with its promise and its deadline. A
 * subclass says what waiting means (where it is registered) and what happens
 * when the deadline passes; it is also the PendingRequest a PeerLink keeps,
 * so settling it there settles it here.
 */
export abstract class TimedRequest<T> implements PendingRequest, Expiring {
  readonly promise: Promise<T>;
  /** On the deadlines' clock; set by RequestDeadlines.track(). */
  deadlineMs = 0;
  /** False once resolved or rejected. */
  waiting = true;
  private readonly res: (v: T) => void;
  private readonly rej: (err: Error) => void;

  constructor(private readonly deadlines: RequestDeadlines) {
    this.promise = new Promise<T>(capture);
    this.res = capturedResolve as (v: T) => void;
    this.rej = capturedReject as (err: Error) => void;
    capturedResolve = null;
    capturedReject = null;
  }

  resolve(msg: PeerMessage): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.deadlines.settled();
    this.res(msg as unknown as T);
  }

  reject(err: Error): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.deadlines.settled();
    this.rej(err);
  }

  /**
   * The deadline passed while the request was waiting: unregister it and
   * reject it (with TimeoutError, typically).
   */
  abstract expire(): void;
}

/** One timeout value's requests, oldest first; `head` skips the ones already dropped. */
class DeadlineQueue {
  items: (Expiring | undefined)[] = [];
  head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** Drop settled requests at the head; returns how many. */
  prune(): number {
    const items = this.items;
    let h = this.head;
    while (h < items.length && !(items[h] as Expiring).waiting) items[h++] = undefined;
    const dropped = h - this.head;
    this.head = h;
    this.shrink();
    return dropped;
  }

  /** Give back the slots before the head once they are most of the array. */
  shrink(): void {
    const h = this.head;
    if (h === this.items.length) {
      this.clear();
    } else if (h >= 1024 && h * 2 >= this.items.length) {
      this.items = this.items.slice(h);
      this.head = 0;
    }
  }

  /** Keep only the requests still waiting; returns how many were dropped. */
  compact(): number {
    const before = this.length;
    const kept: Expiring[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const r = this.items[i] as Expiring;
      if (r.waiting) kept.push(r);
    }
    this.items = kept;
    this.head = 0;
    return before - kept.length;
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }
}

export class RequestDeadlines {
  private readonly queues = new Map<number, DeadlineQueue>();
  /** Requests tracked and still waiting. */
  private waitingCount = 0;
  /** Entries in the queues, settled or not. */
  private queuedCount = 0;
  private timer: NodeJS.Timeout | null = null;
  private armedForMs = Infinity;
  private firing = false;

  constructor(private readonly nowMs: () => number = () => performance.now()) {}

  /** Requests waiting for their reply. */
  get size(): number {
    return this.waitingCount;
  }

  /** Entries held in the queues, settled ones not dropped yet included (bounded: see compaction). */
  get queued(): number {
    return this.queuedCount;
  }

  /** Start the clock of `r`: it expires timeoutMs from now unless it settles first. */
  track(r: Expiring, timeoutMs: number): void {
    assert(r.waiting, 'a request is tracked before it settles');
    const now = this.nowMs();
    r.deadlineMs = now + timeoutMs;
    let q = this.queues.get(timeoutMs);
    if (q === undefined) {
      q = new DeadlineQueue();
      this.queues.set(timeoutMs, q);
    }
    this.queuedCount -= q.prune();
    q.items.push(r);
    this.queuedCount++;
    if (++this.waitingCount === 1) this.timer?.ref();
    if (this.queuedCount > 2 * this.waitingCount + COMPACT_SLACK) this.compact();
    if (this.timer === null || r.deadlineMs < this.armedForMs) this.arm(r.deadlineMs, now);
  }

  /** A tracked request resolved or rejected (TimedRequest calls this). */
  settled(): void {
    this.waitingCount--;
    if (this.waitingCount === 0 && !this.firing) {
      // Nothing waits: forget the settled entries now, and let the process exit.
      for (const q of this.queues.values()) q.clear();
      this.queuedCount = 0;
      this.timer?.unref();
    }
  }

  /** Stop the timer for good (the network closed; its requests were rejected already). */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedForMs = Infinity;
    this.queues.clear();
    this.queuedCount = 0;
  }

  private arm(deadlineMs: number, nowMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedForMs = deadlineMs;
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(deadlineMs - nowMs)));
    if (this.waitingCount === 0) this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.armedForMs = Infinity;
    // Node may run a timer a little before its delay by a fresh clock (it
    // counts from the loop's cached time), so each deadline is checked
    // against now: one not yet due is waited for by the next arming.
    const now = this.nowMs();
    let next = Infinity;
    this.firing = true;
    try {
      for (const [timeoutMs, q] of this.queues) {
        const items = q.items;
        while (q.head < items.length) {
          const r = items[q.head] as Expiring;
          if (r.waiting && r.deadlineMs > now) break;
          items[q.head++] = undefined;
          this.queuedCount--;
          if (r.waiting) r.expire();
        }
        if (q.head === items.length) {
          // An empty queue is dropped, so timeouts that vary do not pile up queues.
          this.queues.delete(timeoutMs);
        } else {
          q.shrink();
          next = Math.min(next, (q.items[q.head] as Expiring).deadlineMs);
        }
      }
    } finally {
      this.firing = false;
    }
    if (this.waitingCount === 0) {
      for (const q of this.queues.values()) q.clear();
      this.queues.clear();
      this.queuedCount = 0;
      return;
    }
    if (next < Infinity) this.arm(next, now);
  };

  private compact(): void {
    for (const q of this.queues.values()) this.queuedCount -= q.compact();
  }
}
