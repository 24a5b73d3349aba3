/**
 * Hinted handoff (Dynamo 4.6): a node holding writes meant for an owner that
 * was unreachable offers them again until the owner acknowledges them, then
 * deletes them. Hints are durable (storage), so a restart of the holder loses
 * none. Hints for one owner and key within one batch (the oldest batchMax of
 * that owner) are merged into a single put; hints of one key in different
 * batches go out separately, oldest first.
 *
 * A hint of a session is sent even when its own expiry has passed: a hint
 * holds what one write shipped (a session write ships only its delta), not
 * the session, and a touch or write that reached the owner meanwhile may
 * have extended the session's expiry (a max register), so the hinted fields
 * still belong to a live session there. Only the owner can tell: it merges
 * and refuses the copy if the merged session has expired by its clock
 * (replica.ts), acknowledging it all the same, which is how DESIGN.md's
 * "expired sessions are never handed to another replica" holds. Dropping
 * such a hint unsent lost an acknowledged degraded write (sim seed 36).
 */
import type { NodeId } from '../core/ids';
import type { Network } from '../core/network-port';
import type { Storage } from '../core/storage-port';
import { mergeObjects, type StoredObject } from '../crdt/stored-object';
import type { PeerMsg } from './peer-message';
import type { Replica } from './replica';

export interface HandoffResult {
  target: NodeId;
  delivered: number;
  failed: number;
}

export class HintedHandoff {
  private readonly busy = new Set<NodeId>();
  private deliveredTotal = 0;

  constructor(
    private readonly replica: Replica,
    private readonly storage: Storage<StoredObject>,
    private readonly network: Network<PeerMsg>,
    private readonly opts: { batchMax: number; timeoutMs: number },
  ) {}

  delivered(): number {
    return this.deliveredTotal;
  }

  /** Offer one batch of hints to every target that has some. */
  async tick(): Promise<HandoffResult[]> {
    const targets = [...this.replica.hintTargetsPending().keys()];
    return Promise.all(targets.map((t) => this.deliverTo(t)));
  }

  /** Offer up to batchMax hints to `target`; concurrent calls for one target collapse. */
  async deliverTo(target: NodeId): Promise<HandoffResult> {
    const result: HandoffResult = { target, delivered: 0, failed: 0 };
    if (this.busy.has(target)) return result;
    this.busy.add(target);
    try {
      const batch = this.storage.hints(target, this.opts.batchMax);
      const byKey = new Map<string, { obj: StoredObject; ids: number[] }>();
      for (const h of batch) {
        const cur = byKey.get(h.key);
        if (cur) {
          cur.obj = mergeObjects(cur.obj, h.value);
          cur.ids.push(h.id);
        } else byKey.set(h.key, { obj: h.value, ids: [h.id] });
      }
      const acked: number[] = [];
      await Promise.all(
        [...byKey].map(async ([key, { obj, ids }]) => {
          try {
            await this.network.request(target, { type: 'put', key, obj }, this.opts.timeoutMs);
            acked.push(...ids);
            result.delivered += ids.length;
          } catch {
            // The owner is still unreachable: the hint stays for the next tick.
            result.failed += ids.length;
          }
        }),
      );
      await this.replica.dropHints(acked);
      this.deliveredTotal += result.delivered;
      return result;
    } finally {
      this.busy.delete(target);
    }
  }
}
