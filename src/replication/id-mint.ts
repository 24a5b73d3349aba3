/**
 * Mints causal actors and globally unique ids.
 *
 * A dot (actor, counter) must never be reused for a different value, or a
 * replica that saw the old dot would silently drop the new value (Riak's
 * kv679). A node therefore coordinates opaque writes and cart adds under an
 * actor that names its current *epoch*, and the epoch is bumped (durably, by
 * node/) on every start and every time the node deletes opaque or cart
 * records: within one epoch the node holds every dot it minted for a key, so
 * `local.vv[actor] + 1` (for a cart, cartNextCounter of its own copy) is
 * always fresh. A node that coordinates a key it does not replicate has no
 * such history and takes a one-off actor for that single write instead.
 */
import type { ActorId, NodeId } from '../core/ids';
import { asActorId } from '../core/ids';
import { assert } from '../core/assert';

export class IdMint {
  private seq = 0;

  constructor(readonly node: NodeId, private epoch: number) {
    assert(Number.isSafeInteger(epoch) && epoch >= 0, 'epoch must be a non-negative integer');
  }

  /** The actor this node uses for keys it replicates, in this epoch. */
  actor(): ActorId {
    return asActorId(`${this.node}~${this.epoch.toString(36)}`);
  }

  /** A fresh actor or id nobody has used or will use again. */
  unique(): string {
    this.seq += 1;
    return `${this.node}~${this.epoch.toString(36)}~${this.seq.toString(36)}`;
  }

  oneOffActor(): ActorId {
    return asActorId(this.unique());
  }

  currentEpoch(): number {
    return this.epoch;
  }

  /** Caller must have persisted `next` before calling. */
  advanceEpoch(next: number): void {
    assert(next > this.epoch, 'epochs only move forward');
    this.epoch = next;
    this.seq = 0;
  }
}
