/**
 * The request coordinator (Dynamo 4.5 - 4.7): runs a client operation against
 * the N replicas of its key, waits for R or W of them, routes around
 * unreachable replicas with a sloppy quorum and hints (4.6), and repairs stale
 * replicas after reads (read repair, 5).
 *
 * W and R are targets, not gates (DESIGN.md Never says no): a write that
 * cannot get W acknowledgements is still accepted, degraded, once
 * `config.minAcks` durable copies exist on distinct nodes (the coordinator's
 * own commit and the hints it or a fallback holds count), and a read that
 * gets fewer than R answers returns what did answer. `strict` requests (and
 * minAcks = W) keep the gate. Peers known to be down are not waited for: the
 * transport rejects a request to a link in backoff at once.
 *
 * Opaque writes, cart adds and cart sets are coordinated by a replica of
 * the key, because the new dot must extend that replica's own causal history
 * (see id-mint.ts); a node that is not a replica forwards them, and
 * coordinates under a one-off actor only when no replica answers. Typed
 * values (cart, session) are CRDTs: replicas merge what they are sent.
 */
import { createHash } from 'node:crypto';
import type { NodeId } from '../core/ids';
import type { Network } from '../core/network-port';
import type { Clock } from '../core/clock';
import type { NodeConfig } from '../core/config';
import { QuorumError, RingstoreError, TooManySiblingsError, TypeMismatchError, ValueTooLargeError } from '../core/errors';
import { emptyDvv, dvvUpdate, type Dvv } from '../clock/dvv';
import type { VersionVector } from '../clock/version-vector';
import type { Hlc } from '../clock/hlc';
import { cartAddDelta, cartNextCounter, cartRemove, cartSet, emptyCart, mergeCarts, type CartState } from '../crdt/cart';
import { emptySession, sessionDestroy, sessionMaxStamp, sessionTouch, sessionWrite } from '../crdt/session';
import {
  mergeObjects, objectByteSize, sameObject, type OpaqueValue, type StoredObject,
} from '../crdt/stored-object';
import type { Ring } from '../ring/ring';
import { partitionOf } from '../ring/partitioner';
import type { ClientOp, Consistency, Outcome, RequestOptions } from './client-op';
import { needsReplicaCoordinator } from './client-op';
import type { IdMint } from './id-mint';
import type { PeerMsg } from './peer-message';
import { planQuorum, type QuorumPlan } from './quorum-plan';
import type { Replica } from './replica';
import { validateKey } from './wire-validate';

export interface CoordinatorDeps {
  self: NodeId;
  selfRegion: string;
  network: Network<PeerMsg>;
  replica: Replica;
  ring: () => Ring;
  regionOf: (id: NodeId) => string | undefined;
  config: NodeConfig;
  defaultConsistency: Consistency;
  clock: Clock;
  hlc: Hlc;
  ids: IdMint;
  /** Called with errors of work that continues after the client got its answer. */
  onBackgroundError?: (err: unknown, what: string) => void;
  /** Called with conditions worth a warning that fail nothing (many siblings on a key). */
  onWarning?: (what: string, fields: Record<string, unknown>) => void;
}

export interface CoordinatorStats {
  reads: number;
  writes: number;
  forwarded: number;
  readRepairs: number;
  hintsStored: number;
  /** Writes accepted with fewer than W acknowledgements. */
  degradedWrites: number;
  /** Reads answered with fewer than R answers. */
  degradedReads: number;
}

export type OpOutcome = Outcome<StoredObject | null>;

interface Reply {
  node: NodeId;
  obj: StoredObject | null;
}

export class Coordinator {
  readonly stats: CoordinatorStats = {
    reads: 0, writes: 0, forwarded: 0, readRepairs: 0, hintsStored: 0, degradedWrites: 0, degradedReads: 0,
  };

  private readonly forwardedOps = new Map<string, Promise<OpOutcome>>();
  /** Cart key -> highest counter minted by a write still in flight (mintCartDot). */
  private readonly cartMinting = new Map<string, number>();

  constructor(private readonly d: CoordinatorDeps) {}

  /**
   * A forwarded operation: the same `opId` delivered twice (a retried or
   * duplicated message) returns the first run's result instead of writing
   * twice. Remembers the last FORWARDED_OPS_MAX operations.
   */
  executeForwarded(opId: string | undefined, key: string, op: ClientOp, opts: RequestOptions): Promise<OpOutcome> {
    if (opId === undefined) return this.run(key, op, opts);
    const seen = this.forwardedOps.get(opId);
    if (seen) return seen;
    const run = this.run(key, op, opts, opId);
    this.forwardedOps.set(opId, run);
    if (this.forwardedOps.size > FORWARDED_OPS_MAX) this.forwardedOps.delete(this.forwardedOps.keys().next().value!);
    // A failed run may be retried for real.
    run.catch(() => this.forwardedOps.delete(opId));
    return run;
  }

  /** Run `op` on `key`; resolves with the key's value as this coordinator sees it afterwards. */
  async execute(key: string, op: ClientOp, opts: RequestOptions = {}): Promise<StoredObject | null> {
    return (await this.run(key, op, opts)).obj;
  }

  /** execute(), and how many acknowledgements or answers it got of those wanted. */
  async run(key: string, op: ClientOp, opts: RequestOptions = {}, opId?: string): Promise<OpOutcome> {
    validateKey(key, this.d.config.limits);
    const ring = this.d.ring();
    const partition = partitionOf(key, ring.q);
    if (op.op === 'get') return this.read(key, ring, partition, opts);
    this.stats.writes += 1;
    if (needsReplicaCoordinator(op)) {
      const primaries = this.plan(ring, partition, 'w', opts).primaries;
      if (!primaries.includes(this.d.self)) {
        const forwarded = await this.forward(key, op, opts, primaries, opId);
        if (forwarded !== null) return forwarded;
      }
    }
    return this.write(key, op, opts, ring, partition);
  }

  private plan(ring: Ring, partition: ReturnType<typeof partitionOf>, kind: 'r' | 'w', opts: RequestOptions): QuorumPlan {
    return planQuorum(
      ring, partition, this.d.config, kind, opts, this.d.defaultConsistency, this.d.selfRegion, this.d.regionOf,
    );
  }

  /**
   * Ask one primary to coordinate, one of this node's region first (a
   * `local` write must not cross regions). Primaries whose link is known to
   * be down are skipped: nothing was sent to them. Once a request has left,
   * a failure is ambiguous (the primary may have applied it), so it goes back
   * to the client rather than to another coordinator: a second coordinator
   * would store the same write under a second dot, and a value the client
   * later resolves could come back (found by the simulator, seed 249).
   * Null when no primary was reachable at all.
   */
  private async forward(
    key: string, op: ClientOp, opts: RequestOptions, primaries: NodeId[], clientOpId?: string,
  ): Promise<OpOutcome | null> {
    const local = primaries.filter((p) => this.d.regionOf(p) === this.d.selfRegion);
    const remote = primaries.filter((p) => this.d.regionOf(p) !== this.d.selfRegion);
    const target = [...local, ...remote].find((p) => this.d.network.isReachable(p));
    if (target === undefined) return null;
    // The client's id when it named one: a retry through another node is then run once at the primary too.
    const opId = clientOpId ?? this.d.ids.unique();
    const reply = await this.d.network.request(target, { type: 'coord', key, op, opts, opId }, this.d.config.requestTimeoutMs * 2);
    if (reply.type !== 'coord-ok') throw new RingstoreError('RS_ERR_INTERNAL', 500, `unexpected reply ${reply.type} to coord`);
    this.stats.forwarded += 1;
    const wanted = reply.wanted ?? 0;
    return { obj: reply.obj, got: reply.got ?? wanted, wanted };
  }

  private async write(
    key: string, op: ClientOp, opts: RequestOptions, ring: Ring, partition: ReturnType<typeof partitionOf>,
  ): Promise<OpOutcome> {
    const plan = this.plan(ring, partition, 'w', opts);
    // What a remove, a set or a context-free delete observes: whatever
    // answers, never a reason to refuse the write (unless strict).
    // Observing nothing (no replica answered) observes the empty value: the
    // write then removes nothing it did not see, and is still taken.
    const observe = async (): Promise<StoredObject | null> => {
      try {
        return (await this.read(key, ring, partition, opts)).obj;
      } catch (err) {
        if (opts.strict || !(err instanceof QuorumError)) throw err;
        return null;
      }
    };
    const isPrimary = plan.primaries.includes(this.d.self);
    const now = this.d.clock.nowMs();
    let next: StoredObject;
    switch (op.op) {
      case 'put':
      case 'delete': {
        let context: VersionVector;
        if (op.op === 'delete' && op.context === null) {
          const seen = await observe();
          context = seen && seen.kind === 'opaque' ? seen.dvv.vv : {};
        } else context = (op as { context: VersionVector }).context;
        const value: OpaqueValue = op.op === 'put' ? { ct: op.ct, b: op.body } : null;
        const local = isPrimary ? this.d.replica.own(key) : undefined;
        if (local && local.kind !== 'opaque') throw new TypeMismatchError(key, local.kind, 'opaque');
        const base: Dvv<OpaqueValue> = local && local.kind === 'opaque' ? local.dvv : emptyDvv<OpaqueValue>();
        const actor = isPrimary ? this.d.ids.actor() : this.d.ids.oneOffActor();
        next = { kind: 'opaque', dvv: dvvUpdate(base, context, value, actor) };
        this.checkSiblings(key, next.dvv.siblings.length);
        break;
      }
      case 'cart': {
        // An add is a delta that needs no read (cart.ts); remove and set
        // observe what answers, then write the full state.
        const seen = op.action === 'add' ? this.d.replica.read(key) : await observe();
        if (seen && seen.kind !== 'cart') throw new TypeMismatchError(key, seen.kind, 'cart');
        const cur = seen ? seen.c : emptyCart();
        if (op.action === 'remove') {
          next = { kind: 'cart', c: cartRemove(cur, op.item) };
          break;
        }
        // Minted after the last await, so the local apply in replicate() takes the dot into memory at once.
        const [actor, counter] = this.mintCartDot(key, isPrimary, cur);
        const c = op.action === 'add' ? cartAddDelta(op.item, op.qty, actor, counter) : cartSet(cur, op.item, op.qty, actor, counter);
        next = { kind: 'cart', c };
        const known = op.action === 'add' ? mergeCarts(cur, c) : c;
        const size = objectByteSize({ kind: 'cart', c: known });
        if (size > this.d.config.limits.valueBytesMax) throw new ValueTooLargeError(size, this.d.config.limits.valueBytesMax);
        this.cartMinting.set(key, Math.max(counter, this.cartMinting.get(key) ?? 0));
        try {
          // An add read only this node's copy, which may not hold a remove
          // already acknowledged elsewhere: the replicas that acknowledge
          // echo theirs, and W + W > N makes them meet that remove's.
          const done = await this.replicate(key, next, plan, opts, op.action === 'add');
          const view = done.obj ? mergeObjects({ kind: 'cart', c: known }, done.obj) : { kind: 'cart' as const, c: known };
          return { obj: view, got: done.got, wanted: done.wanted };
        } finally {
          if (this.cartMinting.get(key) === counter) this.cartMinting.delete(key);
        }
      }
      case 'session-write':
      case 'session-touch':
      case 'session-destroy': {
        const local = this.d.replica.own(key);
        if (local && local.kind !== 'session') throw new TypeMismatchError(key, local.kind, 'session');
        // Stamp after everything this replica has seen of the session, so a
        // write that follows another one wins even if our clock lags theirs.
        if (local && local.kind === 'session') this.observeStamp(sessionMaxStamp(local.s));
        // And after what the client saw: its last write may have been
        // coordinated by a replica whose copy has not reached ours yet.
        if (opts.after !== undefined) this.observeStamp(opts.after);
        // A session write ships only its delta: replicas merge per field.
        const empty = emptySession();
        const s =
          op.op === 'session-write'
            ? sessionWrite(empty, { set: op.set, del: op.del, expiresAtMs: op.expiresAtMs }, this.d.hlc.now(), this.d.self, now)
            : op.op === 'session-touch'
              ? sessionTouch(empty, op.expiresAtMs, now)
              : sessionDestroy(empty, now);
        next = { kind: 'session', s };
        break;
      }
      default:
        throw new RingstoreError('RS_ERR_BAD_REQUEST', 400, `operation ${(op as ClientOp).op} is not a write`);
    }
    const size = objectByteSize(next);
    if (size > this.d.config.limits.valueBytesMax) throw new ValueTooLargeError(size, this.d.config.limits.valueBytesMax);
    const done = await this.replicate(key, next, plan, opts);
    return { obj: done.obj ?? next, got: done.got, wanted: done.wanted };
  }

  /** The durable copies a write must reach before it is accepted at all. */
  private floorOf(plan: QuorumPlan, opts: RequestOptions): number {
    return opts.strict ? plan.needed : Math.min(this.d.config.minAcks, plan.needed);
  }

  /**
   * Send `obj` to the N primaries; each unreachable one is replaced by the next
   * fallback holding a hint for it (sloppy quorum), or, when the ring has no
   * spare node, by a hint this coordinator keeps. Resolves after `needed`
   * durable acknowledgements with this node's merged copy (if it is a
   * replica), merged with each acknowledging replica's copy when `echo`; or,
   * once every copy has answered or failed, degraded, if at least the
   * floor's worth of distinct nodes hold it durably.
   */
  private replicate(key: string, obj: StoredObject, plan: QuorumPlan, opts: RequestOptions, echo = false): Promise<OpOutcome> {
    const { self } = this.d;
    const fallbacks = [...plan.fallbacks];
    const floor = this.floorOf(plan, opts);
    // Distinct nodes, so a hint this node keeps beside its own copy is not a second disk.
    const durable = new Set<NodeId>();
    const counted = new Set<NodeId>();
    let outstanding = 0;
    let settled = false;
    let localCopy: StoredObject | null = null;
    // One message object for every primary: the transport packs it once (frame-codec.ts).
    const putMsg: PeerMsg = echo ? { type: 'put', key, obj, echo: true } : { type: 'put', key, obj };
    const see = (copy: StoredObject): void => {
      localCopy = localCopy === null ? copy : mergeObjects(localCopy, copy);
    };
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        if (settled) return;
        if (counted.size >= plan.needed) {
          settled = true;
          resolve({ obj: localCopy, got: counted.size, wanted: plan.needed });
        } else if (outstanding === 0) {
          settled = true;
          if (durable.size >= floor && durable.size > 0) {
            this.stats.degradedWrites += 1;
            resolve({ obj: localCopy, got: counted.size, wanted: plan.needed });
          } else reject(new QuorumError('write', floor, durable.size));
        }
      };
      const onAck = (node: NodeId): void => {
        outstanding -= 1;
        durable.add(node);
        if (plan.counts(node)) counted.add(node);
        settle();
      };
      const onFail = (primary: NodeId): void => {
        outstanding -= 1;
        standIn(primary);
        settle();
      };
      const standIn = (primary: NodeId): void => {
        const fb = fallbacks.shift();
        if (fb !== undefined) {
          send(fb, primary);
          return;
        }
        // No spare node: keep the hint here so the owner still gets the write.
        if (primary !== self) send(self, primary);
      };
      const send = (node: NodeId, hintFor?: NodeId): void => {
        outstanding += 1;
        if (node === self) {
          const done = hintFor
            ? this.d.replica.holdHint(hintFor, key, obj).then(() => { this.stats.hintsStored += 1; })
            : this.d.replica.apply(key, obj).then(see);
          done.then(() => onAck(node), (err) => {
            this.background(err, hintFor ? 'hint' : 'local write');
            // A failed local hint has no stand-in left: count it failed.
            if (hintFor) {
              outstanding -= 1;
              settle();
            } else onFail(node);
          });
          return;
        }
        const msg: PeerMsg = hintFor ? { type: 'put', key, obj, hintFor } : putMsg;
        this.d.network.request(node, msg, this.d.config.requestTimeoutMs).then(
          (reply) => {
            // Echoes after the answer went out change nothing: not merged.
            if (echo && !settled && !hintFor && reply.type === 'put-ok' && reply.obj) see(reply.obj);
            onAck(node);
          },
          () => onFail(hintFor ?? node),
        );
      };
      for (const p of plan.primaries) send(p);
      settle();
    });
  }

  /**
   * Read from `needed` replicas that count (this node first when it is one,
   * then the preference order), not all N: R + W > N already makes the
   * asked set meet every accepted write's, and each extra copy asked costs
   * two peer messages. A replica that fails is replaced by the next primary
   * not asked, then by the next fallback (which may hold a hint). Every
   * READ_REPAIR_EVERY-th read asks all primaries, so read repair still
   * reaches the replicas a quorum read skips (anti-entropy is the other
   * path). Once `needed` replies are in the read answers; once every asked
   * node has replied or failed, stale primaries among them are repaired.
   * Short of `needed`, a non-strict read returns what did answer (this
   * node's own copy and hints included), and fails only when nothing did.
   */
  private read(
    key: string, ring: Ring, partition: ReturnType<typeof partitionOf>, opts: RequestOptions,
  ): Promise<OpOutcome> {
    this.stats.reads += 1;
    const plan = this.plan(ring, partition, 'r', opts);
    const { asked, spare } = this.readTargets(plan, this.stats.reads % READ_REPAIR_EVERY === 0);
    const replies: Reply[] = [];
    let counted = 0;
    let outstanding = asked.length;
    let answered = false;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!answered && counted >= plan.needed) {
          answered = true;
          resolve({ obj: mergeReplies(replies), got: counted, wanted: plan.needed });
        }
        if (outstanding > 0) return;
        if (!answered) {
          answered = true;
          this.answerShort(key, replies, plan, opts, counted, resolve, reject);
        }
        this.repair(key, replies, plan.primaries);
      };
      const onReply = (node: NodeId, obj: StoredObject | null): void => {
        replies.push({ node, obj });
        if (plan.counts(node)) counted += 1;
        outstanding -= 1;
        check();
      };
      const onFail = (): void => {
        const next = spare.shift();
        outstanding -= 1;
        if (next !== undefined) {
          outstanding += 1;
          ask(next);
        } else check();
      };
      const ask = (node: NodeId): void => {
        if (node === this.d.self) {
          onReply(node, this.d.replica.read(key));
          return;
        }
        this.d.network.request(node, { type: 'get', key }, this.d.config.requestTimeoutMs).then(
          (reply) => onReply(node, reply.type === 'get-ok' ? reply.obj : null),
          onFail,
        );
      };
      for (const node of asked) ask(node);
    });
  }

  /**
   * Who a read asks first, and who stands in, in order, for one that fails.
   * Asked: `plan.needed` primaries that count, this node first, then those
   * whose link is up, in preference order; all primaries when `everyone`.
   */
  private readTargets(plan: QuorumPlan, everyone: boolean): { asked: NodeId[]; spare: NodeId[] } {
    if (everyone) return { asked: plan.primaries, spare: [...plan.fallbacks] };
    const { self, network } = this.d;
    const asked: NodeId[] = [];
    const rest: NodeId[] = [];
    if (plan.primaries.includes(self) && plan.counts(self)) asked.push(self);
    for (const p of plan.primaries) if (p !== self && plan.counts(p) && network.isReachable(p)) pushUpTo(asked, rest, p, plan.needed);
    for (const p of plan.primaries) {
      if (asked.includes(p) || rest.includes(p)) continue;
      if (plan.counts(p)) pushUpTo(asked, rest, p, plan.needed);
      else rest.push(p);
    }
    for (const f of plan.fallbacks) rest.push(f);
    return { asked, spare: rest };
  }

  /** A read short of R: what answered (at least one copy), or 503 when strict or nothing answered. */
  private answerShort(
    key: string, replies: Reply[], plan: QuorumPlan, opts: RequestOptions, counted: number,
    resolve: (o: OpOutcome) => void, reject: (err: Error) => void,
  ): void {
    if (!opts.strict && !replies.some((r) => r.node === this.d.self)) {
      // Not asked as a replica: the hints this node holds for the key still count.
      const held = this.d.replica.read(key);
      if (held !== null) replies.push({ node: this.d.self, obj: held });
    }
    if (opts.strict || replies.length === 0) {
      reject(new QuorumError('read', plan.needed, counted));
      return;
    }
    this.stats.degradedReads += 1;
    resolve({ obj: mergeReplies(replies), got: Math.max(counted, 1), wanted: plan.needed });
  }

  /** Read repair (Dynamo 5): write the merged version back to stale primaries. */
  private repair(key: string, replies: Reply[], primaries: NodeId[]): void {
    const merged = mergeReplies(replies);
    if (merged === null) return;
    for (const r of replies) {
      if (!primaries.includes(r.node)) continue;
      // A structural comparison, not digests: hashing every reply of every
      // read cost about a tenth of a node's CPU (docs/benchmarks.md).
      if (r.obj !== null && sameObject(r.obj, merged)) continue;
      this.stats.readRepairs += 1;
      const done =
        r.node === this.d.self
          ? this.d.replica.apply(key, merged)
          : this.d.network.request(r.node, { type: 'put', key, obj: merged }, this.d.config.requestTimeoutMs);
      done.catch((err) => this.background(err, 'read repair'));
    }
  }

  /**
   * A fresh dot for a cart add or set. A replica of the key mints under its
   * epoch actor one past what its copy (with held hints) and `seen` cover and past any
   * add of the key still in flight here, so two concurrent adds never share
   * a dot (id-mint.ts); any other node takes a one-off actor.
   */
  private mintCartDot(key: string, isPrimary: boolean, seen: CartState): [string, number] {
    if (!isPrimary) return [this.d.ids.oneOffActor(), 1];
    const actor = this.d.ids.actor();
    const own = this.d.replica.read(key);
    const known = own && own.kind === 'cart' ? cartNextCounter(own.c, actor) : 1;
    return [actor, Math.max(known, cartNextCounter(seen, actor), (this.cartMinting.get(key) ?? 0) + 1)];
  }

  private observeStamp(stamp: number): void {
    try {
      this.d.hlc.observe(stamp);
    } catch (err) {
      // A stamp implausibly far ahead (a peer with a broken clock): keep our
      // own clock rather than be dragged forward, and say so.
      this.background(err, 'session stamp ignored');
    }
  }

  /**
   * Riak's sibling limits (docs/security.md): past siblingsWarn a write is
   * reported, past siblingsMax it is refused. Blind writes (no context) are
   * what pile siblings up; a write with a read's context covers them and
   * always passes. Replicas do not check: siblings from concurrent
   * coordinators still merge, so the cap bounds what one write adds.
   */
  private checkSiblings(key: string, siblings: number): void {
    const { siblingsWarn, siblingsMax } = this.d.config.limits;
    if (siblings > siblingsMax) throw new TooManySiblingsError(siblings, siblingsMax);
    if (siblings > siblingsWarn) {
      // A digest, not the key: keys may be session ids (logs never hold those).
      const keyDigest = createHash('sha256').update(key).digest('hex').slice(0, 16);
      this.d.onWarning?.('many siblings on one key: clients write without the context of their reads', {
        keyDigest, siblings, warnAt: siblingsWarn, max: siblingsMax,
      });
    }
  }

  private background(err: unknown, what: string): void {
    this.d.onBackgroundError?.(err, what);
  }
}

const FORWARDED_OPS_MAX = 10_000;
/** One read in this many asks every primary, not only R of them (read repair's sample). */
const READ_REPAIR_EVERY = 8;

/** Appends `node` to `to` while it holds fewer than `max`, else to `overflow`. */
function pushUpTo(to: NodeId[], overflow: NodeId[], node: NodeId, max: number): void {
  if (to.length < max) to.push(node);
  else overflow.push(node);
}

function mergeReplies(replies: readonly Reply[]): StoredObject | null {
  let merged: StoredObject | null = null;
  for (const r of replies) if (r.obj) merged = merged ? mergeObjects(merged, r.obj) : r.obj;
  return merged;
}


