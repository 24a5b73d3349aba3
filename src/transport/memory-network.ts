/**
 * The Network's memory twin (STYLE.md 11; TigerBeetle's packet simulator):
 * a hub that nodes join, delivering messages through an injected scheduler
 * with an injected latency, so unit tests and the simulator run the same
 * protocol code as production on virtual time.
 *
 * Every message is packed with the wire codec when sent and unpacked on
 * delivery, so nodes never share objects and a message that could not cross
 * a real link (a class instance, a Map with object keys) fails here too.
 * Handlers are called exactly as WsNetwork calls them (handler-call.ts).
 *
 * Faults, and what a requester sees:
 *  - unknown, down, isolated or partitioned-away target when the request is
 *    made: UnreachableError at once (like WsNetwork with a link known down);
 *  - setDown(id, true): the node neither sends nor receives; requests pending
 *    to it and from it reject with UnreachableError at once (a crashed
 *    process resets its TCP links);
 *  - partition()/isolate() while a request is in flight: its messages are
 *    silently lost (a cut cable sends no reset), so it times out;
 *  - dropRate: each message is lost with that probability; duplicateRate:
 *    delivered twice (a duplicate reply is ignored).
 * Partitions and isolation are checked both when a message is sent and when
 * it would be delivered.
 */
import { assert } from '../core/assert';
import { ClosedError, TimeoutError, UnreachableError } from '../core/errors';
import type { NodeId } from '../core/ids';
import type { PeerHandler, PeerMessage } from '../core/network-port';
import { Prng, type Random } from '../core/prng';
import {
  decodeFrame,
  encodeEnvelope,
  frameOf,
  KIND_ERROR,
  KIND_ONE_WAY,
  KIND_REPLY,
  KIND_REQUEST,
  type Envelope,
} from './frame-codec';
import { callHandler } from './handler-call';
import { silentLogger, type Logger } from './logger';
import type { PeerNetwork } from './peer-network';
import { RemoteError } from './remote-error';

/**
 * Run `fn` after `delayMs` (virtual or real). It may return a cancel
 * function, which the hub calls when a timeout is no longer needed; a
 * scheduler that returns nothing just lets stale timeouts fire as no-ops.
 */
export type Scheduler = (delayMs: number, fn: () => void) => void | (() => void);

export interface MemoryHubOptions {
  /** Default: setImmediate for delay 0, setTimeout otherwise. */
  schedule?: Scheduler;
  /** One-way latency of each message. Default 0. */
  latencyMs?: (from: NodeId, to: NodeId) => number;
  /** Decides drops and duplicates. Default: Prng(1). */
  random?: Random;
  dropRate?: number;
  duplicateRate?: number;
  logger?: Logger;
}

export interface MemoryHubStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
}

const realScheduler: Scheduler = (delayMs, fn) => {
  if (delayMs <= 0) {
    const h = setImmediate(fn);
    return () => clearImmediate(h);
  }
  const t = setTimeout(fn, delayMs);
  return () => clearTimeout(t);
};

export class MemoryHub<M extends PeerMessage> {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;

  readonly schedule: Scheduler;
  private readonly latencyMs: (from: NodeId, to: NodeId) => number;
  private readonly random: Random;
  readonly log: Logger;
  private readonly nodes = new Map<NodeId, MemoryNetwork<M>>();
  private readonly down = new Set<NodeId>();
  private readonly isolated = new Set<NodeId>();
  /** Partition group of each node; null when there is no partition. */
  private groupOf: Map<NodeId, number> | null = null;
  private readonly counters: MemoryHubStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };
  private nextRequestId = 1;

  constructor(opts: MemoryHubOptions = {}) {
    this.schedule = opts.schedule ?? realScheduler;
    this.latencyMs = opts.latencyMs ?? (() => 0);
    this.random = opts.random ?? new Prng(1);
    this.dropRate = opts.dropRate ?? 0;
    this.duplicateRate = opts.duplicateRate ?? 0;
    this.log = opts.logger ?? silentLogger;
  }

  /** Add a node; returns its endpoint. An id may join again after leave(). */
  join(id: NodeId, region?: string): MemoryNetwork<M> {
    assert(!this.nodes.has(id), `node ${id} has already joined the hub`);
    const node = new MemoryNetwork<M>(this, id, region ?? null);
    this.nodes.set(id, node);
    this.topologyChanged();
    return node;
  }

  /** Remove a node: the same as closing its endpoint. */
  leave(id: NodeId): void {
    void this.nodes.get(id)?.close();
  }

  /** @internal Called by MemoryNetwork.close(). */
  detach(node: MemoryNetwork<M>): void {
    const id = node.self;
    if (this.nodes.get(id) !== node) return;
    this.nodes.delete(id);
    node.failPending(new ClosedError('peer network'));
    this.failRequestsTo(id, `node ${id} left`);
    this.topologyChanged();
  }

  nodeIds(): NodeId[] {
    return [...this.nodes.keys()];
  }

  /**
   * Split the nodes into groups that cannot talk to each other. Nodes named
   * in no group form one more group together.
   */
  partition(groups: NodeId[][]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, i) => {
      for (const id of g) {
        assert(!groupOf.has(id), `node ${id} is in two partition groups`);
        groupOf.set(id, i);
      }
    });
    this.groupOf = groupOf;
    this.topologyChanged();
  }

  /** Cut one node off from every other (on top of any partition). */
  isolate(id: NodeId): void {
    this.isolated.add(id);
    this.topologyChanged();
  }

  /** End partitions and isolation (down nodes stay down). */
  heal(): void {
    this.groupOf = null;
    this.isolated.clear();
    this.topologyChanged();
  }

  /** Crash (true) or restart (false) a node; see the module comment. */
  setDown(id: NodeId, down: boolean): void {
    if (down === this.down.has(id)) return;
    if (down) {
      this.down.add(id);
      this.nodes.get(id)?.failPending(new UnreachableError(`node ${id} is down`));
      this.failRequestsTo(id, `node ${id} went down`);
    } else {
      this.down.delete(id);
    }
    this.topologyChanged();
  }

  isDown(id: NodeId): boolean {
    return this.down.has(id);
  }

  /** Whether a message from `from` to `to` would be delivered now (drops aside). */
  canTalk(from: NodeId, to: NodeId): boolean {
    if (!this.nodes.has(from) || !this.nodes.has(to)) return false;
    if (this.down.has(from) || this.down.has(to)) return false;
    if (from === to) return true;
    if (this.isolated.has(from) || this.isolated.has(to)) return false;
    if (this.groupOf !== null && (this.groupOf.get(from) ?? -1) !== (this.groupOf.get(to) ?? -1)) return false;
    return true;
  }

  stats(): MemoryHubStats {
    return { ...this.counters };
  }

  /** @internal A request id unique across the hub, so a rejoined node never sees a stale reply as its own. */
  newRequestId(): number {
    return this.nextRequestId++;
  }

  /** @internal Send an envelope; throws only if the message cannot be encoded. */
  transmit(from: NodeId, to: NodeId, env: Envelope): void {
    // Pack now: later changes to the sender's object must not travel.
    const part = encodeEnvelope(env);
    this.counters.sent++;
    const target = this.nodes.get(to);
    if (target === undefined || !this.canTalk(from, to)) {
      this.counters.dropped++;
      return;
    }
    if (this.dropRate > 0 && this.random.next() < this.dropRate) {
      this.counters.dropped++;
      return;
    }
    const copies = this.duplicateRate > 0 && this.random.next() < this.duplicateRate ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    const frame = frameOf([part]);
    for (let c = 0; c < copies; c++) {
      this.schedule(this.latencyMs(from, to), () => {
        // The target must still be the same incarnation and reachable.
        if (this.nodes.get(to) !== target || !this.canTalk(from, to)) {
          this.counters.dropped++;
          return;
        }
        this.counters.delivered++;
        target.receive(from, decodeFrame(frame)[0]);
      });
    }
  }

  private failRequestsTo(id: NodeId, why: string): void {
    for (const node of this.nodes.values()) node.failPendingTo(id, new UnreachableError(why));
  }

  private topologyChanged(): void {
    for (const node of this.nodes.values()) node.refreshPeerStates();
  }
}

interface MemoryPending {
  to: NodeId;
  resolve(msg: PeerMessage): void;
  reject(err: Error): void;
  cancelTimeout: (() => void) | null;
}

/** One node's endpoint on a MemoryHub. */
export class MemoryNetwork<M extends PeerMessage> implements PeerNetwork<M> {
  private handler: PeerHandler<M> | null = null;
  private readonly pending = new Map<number, MemoryPending>();
  private readonly upListeners: ((id: NodeId) => void)[] = [];
  private readonly downListeners: ((id: NodeId) => void)[] = [];
  /** Last announced reachability of each peer; filled when the first listener is added. */
  private peerUp: Map<NodeId, boolean> | null = null;
  private closed = false;

  constructor(
    private readonly hub: MemoryHub<M>,
    readonly self: NodeId,
    readonly region: string | null,
  ) {}

  request(to: NodeId, msg: M, timeoutMs: number): Promise<M> {
    assert(Number.isFinite(timeoutMs) && timeoutMs > 0, `request timeout must be positive, got ${timeoutMs}`);
    if (this.closed) return Promise.reject(new ClosedError('peer network'));
    if (!this.hub.canTalk(this.self, to)) return Promise.reject(new UnreachableError(this.whyUnreachable(to)));
    const id = this.hub.newRequestId();
    return new Promise<M>((resolve, reject) => {
      const p: MemoryPending = { to, resolve: resolve as (m: PeerMessage) => void, reject, cancelTimeout: null };
      this.pending.set(id, p);
      const cancel = this.hub.schedule(timeoutMs, () => {
        if (this.pending.get(id) !== p) return;
        this.pending.delete(id);
        reject(new TimeoutError(`${msg.type} request to ${to} got no reply within ${timeoutMs} ms`));
      });
      if (typeof cancel === 'function') p.cancelTimeout = cancel;
      try {
        this.hub.transmit(this.self, to, [KIND_REQUEST, id, msg]);
      } catch (err) {
        this.settle(id, null, err as Error);
      }
    });
  }

  send(to: NodeId, msg: M): void {
    if (this.closed) return;
    try {
      this.hub.transmit(this.self, to, [KIND_ONE_WAY, 0, msg]);
    } catch (err) {
      this.hub.log.error({ peer: to, type: msg.type, err: (err as Error).message }, 'one-way message not sent');
    }
  }

  setHandler(handler: PeerHandler<M>): void {
    this.handler = handler;
  }

  isReachable(to: NodeId): boolean {
    return !this.closed && this.hub.canTalk(this.self, to);
  }

  onPeerUp(cb: (id: NodeId) => void): void {
    this.startTracking();
    this.upListeners.push(cb);
  }

  onPeerDown(cb: (id: NodeId) => void): void {
    this.startTracking();
    this.downListeners.push(cb);
  }

  /** Leave the hub; pending requests reject with ClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.detach(this);
  }

  /** @internal Deliver one envelope from `from` (called by the hub's scheduler). */
  receive(from: NodeId, env: Envelope): void {
    if (this.closed) return;
    switch (env[0]) {
      case KIND_REQUEST: {
        const id = env[1];
        callHandler(this.handler, from, env[2] as M, this.hub.log, (a) => {
          if (this.closed) return;
          // A reply that cannot be encoded is the handler's bug: answer with that instead.
          try {
            this.hub.transmit(this.self, from, a.ok ? [KIND_REPLY, id, a.msg] : [KIND_ERROR, id, a.error]);
          } catch (err) {
            this.hub.log.error({ peer: from, err: (err as Error).message }, 'reply could not be encoded');
            this.hub.transmit(this.self, from, [KIND_ERROR, id, { code: 'RS_ERR_INTERNAL', message: 'reply could not be encoded', status: 500 }]);
          }
        });
        break;
      }
      case KIND_ONE_WAY:
        callHandler(this.handler, from, env[2] as M, this.hub.log);
        break;
      case KIND_REPLY:
        this.settle(env[1], env[2]);
        break;
      case KIND_ERROR:
        this.settle(env[1], null, new RemoteError(from, env[2]));
        break;
    }
  }

  /** @internal */
  failPending(err: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, null, err);
  }

  /** @internal */
  failPendingTo(to: NodeId, err: Error): void {
    for (const [id, p] of [...this.pending]) if (p.to === to) this.settle(id, null, err);
  }

  /** @internal Announce reachability changes to the listeners (through the scheduler, never re-entrantly). */
  refreshPeerStates(): void {
    if (this.peerUp === null || this.closed) return;
    const changes: [NodeId, boolean][] = [];
    const present = new Set(this.hub.nodeIds());
    for (const id of present) {
      if (id === this.self) continue;
      const up = this.hub.canTalk(this.self, id);
      if ((this.peerUp.get(id) ?? false) !== up) changes.push([id, up]);
      this.peerUp.set(id, up);
    }
    for (const [id, was] of this.peerUp) {
      if (was && !present.has(id)) {
        changes.push([id, false]);
        this.peerUp.set(id, false);
      }
    }
    if (changes.length === 0) return;
    this.hub.schedule(0, () => {
      if (this.closed) return;
      for (const [id, up] of changes) {
        for (const cb of up ? this.upListeners : this.downListeners) cb(id);
      }
    });
  }

  private startTracking(): void {
    if (this.peerUp !== null) return;
    this.peerUp = new Map();
    for (const id of this.hub.nodeIds()) {
      if (id !== this.self) this.peerUp.set(id, this.hub.canTalk(this.self, id));
    }
  }

  private settle(id: number, reply: PeerMessage | null, err?: Error): void {
    const p = this.pending.get(id);
    if (p === undefined) return; // timed out, or a duplicate reply
    this.pending.delete(id);
    p.cancelTimeout?.();
    if (err !== undefined) p.reject(err);
    else p.resolve(reply as PeerMessage);
  }

  private whyUnreachable(to: NodeId): string {
    if (this.hub.isDown(this.self)) return `node ${this.self} is down`;
    if (!this.hub.nodeIds().includes(to)) return `unknown peer ${to}`;
    if (this.hub.isDown(to)) return `node ${to} is down`;
    return `node ${to} is partitioned away from ${this.self}`;
  }
}
