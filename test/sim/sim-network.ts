/**
 * The simulator's network faults on top of MemoryHub (which already drops,
 * duplicates, delays by an injected latency, partitions symmetrically and
 * takes nodes down): one-way cuts, so a partition can be asymmetric (A hears
 * B but B does not hear A, the half-open links that gray failures are made
 * of), and per-link extra delay.
 *
 * MemoryHub itself is not changed: each node's endpoint is wrapped. A
 * message on a cut link is delivered by the hub and then discarded by the
 * receiver's wrapper, so the sender sees what a cut cable gives, a timeout;
 * a reply on a cut link is never sent. Cuts are checked when a message
 * arrives and when its reply leaves, so messages in flight when a cut starts
 * are lost too.
 *
 * The wrapper also writes every message to the trace and lets a mutation
 * (mutations.ts) answer a request without delivering it.
 */
import type { NodeId } from '../../src/core/ids';
import type { Network, PeerHandler } from '../../src/core/network-port';
import type { PeerMsg } from '../../src/replication/peer-message';
import type { MemoryNetwork } from '../../src/transport/memory-network';

/** Link state the fault schedule changes: one-way cuts and extra latency. */
export class LinkFaults {
  private readonly cuts = new Set<string>();
  private readonly delays = new Map<string, number>();

  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(linkKey(from, to));
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.size > 0 && this.cuts.has(linkKey(from, to));
  }

  setDelay(from: NodeId, to: NodeId, ms: number): void {
    if (ms <= 0) this.delays.delete(linkKey(from, to));
    else this.delays.set(linkKey(from, to), ms);
  }

  extraDelayMs(from: NodeId, to: NodeId): number {
    return this.delays.size === 0 ? 0 : (this.delays.get(linkKey(from, to)) ?? 0);
  }

  clearCuts(): void {
    this.cuts.clear();
  }

  clear(): void {
    this.cuts.clear();
    this.delays.clear();
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

/** A mutation's chance to answer a request itself: return a reply, or null to send it. */
export type RequestInterceptor = (from: NodeId, to: NodeId, msg: PeerMsg) => PeerMsg | null;

/** Never settles: a request or reply that a cut link swallowed. */
const LOST: Promise<never> = new Promise<never>(() => undefined);

export function describeMsg(msg: PeerMsg): string {
  switch (msg.type) {
    case 'put':
      return msg.hintFor ? `put ${msg.key} hint-for=${msg.hintFor}` : `put ${msg.key}`;
    case 'get':
      return `get ${msg.key}`;
    case 'coord':
      return `coord ${msg.key} ${msg.op.op}`;
    default:
      return msg.type;
  }
}

/** One node's endpoint as the protocol code sees it. */
export class SimEndpoint implements Network<PeerMsg> {
  readonly self: NodeId;

  constructor(
    private readonly inner: MemoryNetwork<PeerMsg>,
    private readonly links: LinkFaults,
    private readonly log: (text: string) => void,
    private readonly intercept: RequestInterceptor | null = null,
  ) {
    this.self = inner.self;
  }

  request(to: NodeId, msg: PeerMsg, timeoutMs: number): Promise<PeerMsg> {
    const what = describeMsg(msg);
    const fake = this.intercept?.(this.self, to, msg) ?? null;
    if (fake !== null) {
      this.log(`${this.self}>${to} ${what} answered-by-mutation`);
      return Promise.resolve(fake);
    }
    this.log(`${this.self}>${to} ${what}`);
    return this.inner.request(to, msg, timeoutMs).then(
      (reply) => {
        this.log(`${this.self}<${to} ${reply.type}`);
        return reply;
      },
      (err: unknown) => {
        this.log(`${this.self}<${to} ${what} failed ${(err as { code?: string }).code ?? 'error'}`);
        throw err;
      },
    );
  }

  send(to: NodeId, msg: PeerMsg): void {
    this.log(`${this.self}>${to} ${describeMsg(msg)} one-way`);
    this.inner.send(to, msg);
  }

  setHandler(handler: PeerHandler<PeerMsg>): void {
    this.inner.setHandler((from, msg) => this.handle(handler, from, msg));
  }

  isReachable(to: NodeId): boolean {
    return this.inner.isReachable(to) && !this.links.isCut(this.self, to);
  }

  onPeerUp(cb: (id: NodeId) => void): void {
    this.inner.onPeerUp(cb);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private handle(handler: PeerHandler<PeerMsg>, from: NodeId, msg: PeerMsg): Promise<PeerMsg | undefined> | PeerMsg | undefined {
    if (this.links.isCut(from, this.self)) {
      this.log(`${from}>${this.self} ${describeMsg(msg)} lost-on-cut`);
      return LOST;
    }
    const replyCut = (): boolean => {
      if (!this.links.isCut(this.self, from)) return false;
      this.log(`${this.self}>${from} reply to ${describeMsg(msg)} lost-on-cut`);
      return true;
    };
    let result: Promise<PeerMsg | undefined> | PeerMsg | undefined;
    try {
      result = handler(from, msg);
    } catch (err) {
      if (replyCut()) return LOST;
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(
        (reply) => (replyCut() ? LOST : reply),
        (err: unknown) => (replyCut() ? LOST : Promise.reject(err)),
      );
    }
    return replyCut() ? LOST : result;
  }
}
