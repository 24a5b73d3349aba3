/**
 * Hinted handoff (Dynamo 4.6): a node holding writes meant for an owner that
 * was unreachable offers them again until the owner acknowledges them, then
 * deletes them. Hints are durable (storage), so a restart of the holder loses
 * none. Hints for one owner and key within one batch (the oldest batchMax of
 * that owner) are merged into a single put; hints of one key in different
 * batches go out separately, oldest first.
 *
 * A hint whose session has expired by `nowMs` is dropped instead of sent
 * (DESIGN.md: expired sessions are never handed to another replica; the
 * owner would refuse it anyway, replica.ts).
 */
import type { NodeId } from '../core/ids';
import type { Network } from '../core/network-port';
import type { Storage } from '../core/storage-port';
import { mergeObjects, objectExpiresAtMs, type StoredObject } from '../crdt/stored-object';
import type { PeerMsg } from './peer-message';
import type { Replica } from './replica';

export interface HandoffResult {
  target: NodeId;
  delivered: number;
  failed: number;
  /** Hints dropped unsent because their session had expired. */
  expired: number;
}

export class HintedHandoff {
  private readonly busy = new Set<NodeId>();
  private deliveredTotal = 0;
  private expiredTotal = 0;

  constructor(
    private readonly replica: Replica,
    private readonly storage: Storage<StoredObject>,
    private readonly network: Network<PeerMsg>,
    private readonly opts: { batchMax: number; timeoutMs: number; nowMs?: () => number },
  ) {}

  delivered(): number {
    return this.deliveredTotal;
  }

  /** Hints dropped unsent since start because their session had expired. */
  expiredDropped(): number {
    return this.expiredTotal;
  }

  /** Offer one batch of hints to every target that has some. */
  async tick(): Promise<HandoffResult[]> {
    const targets = [...this.replica.hintTargetsPending().keys()];
    return Promise.all(targets.map((t) => this.deliverTo(t)));
  }

  /** Offer up to batchMax hints to `target`; concurrent calls for one target collapse. */
  async deliverTo(target: NodeId): Promise<HandoffResult> {
    const result: HandoffResult = { target, delivered: 0, failed: 0, expired: 0 };
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
      const nowMs = this.opts.nowMs?.();
      await Promise.all(
        [...byKey].map(async ([key, { obj, ids }]) => {
          const exp = objectExpiresAtMs(obj);
          if (nowMs !== undefined && exp !== null && exp <= nowMs) {
            acked.push(...ids);
            result.expired += ids.length;
            return;
          }
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
      this.expiredTotal += result.expired;
      return result;
    } finally {
      this.busy.delete(target);
    }
  }
}
