/**
 * Where the shop keeps carts: the cluster's cart CRDT (DESIGN.md Data model:
 * cart), reached through the node of the device's region over the HTTP API
 * (`/carts/ID`, docs/http-api.md). Each device talks to its own region's node,
 * which is what lets two devices of one user diverge under a partition.
 *
 * Writes use consistency `local`: the region's own replica acknowledges, the
 * other regions get the write at once or as durable hints, so a region cut off
 * from the others still takes every add and remove (DESIGN.md Regions).
 * Reads try a strict global quorum first (`strict=1`), which merges replicas
 * and repairs stale ones; when the region is cut off that quorum fails at once
 * (503; without `strict` the node would answer degraded with whatever replied)
 * and the read falls back to the local replica, and says so.
 */
import { UnreachableError } from '../src/core/errors';
import type { ClusterView, NodeInfo } from './cluster-view';
import type { Items, OwnOp } from './cart-view';
import { fetchJson, NodeHttpError } from './node-http';

export interface CartRead {
  items: Items;
  /** `quorum`: R replicas across regions were merged; `local`: only this region's replica answered. */
  mode: 'quorum' | 'local';
  node: NodeInfo;
}

export interface CartBackend {
  read(cartId: string, region: string): Promise<CartRead>;
  /** Apply the device's own operation; resolves with the cart as the coordinator saw it afterwards. */
  apply(cartId: string, region: string, op: OwnOp): Promise<Items>;
}

export class HttpCartBackend implements CartBackend {
  constructor(private readonly cluster: ClusterView, private readonly timeoutMs = 5000) {}

  async read(cartId: string, region: string): Promise<CartRead> {
    const node = await this.node(region);
    const url = (query: string): string => `http://${node.addr}/carts/${encodeURIComponent(cartId)}?${query}`;
    try {
      const body = await fetchJson<{ items: Items }>(url('consistency=global&strict=1'), { timeoutMs: this.timeoutMs });
      return { items: body.items ?? {}, mode: 'quorum', node };
    } catch (err) {
      if (!(err instanceof NodeHttpError) || err.code !== 'RS_ERR_QUORUM') throw err;
    }
    const body = await fetchJson<{ items: Items }>(url('consistency=local'), { timeoutMs: this.timeoutMs });
    return { items: body.items ?? {}, mode: 'local', node };
  }

  async apply(cartId: string, region: string, op: OwnOp): Promise<Items> {
    const node = await this.node(region);
    const body = op.op === 'remove' ? { op: 'remove', item: op.sku } : { op: op.op, item: op.sku, qty: op.qty };
    const res = await fetchJson<{ items: Items }>(
      `http://${node.addr}/carts/${encodeURIComponent(cartId)}?consistency=local`,
      { method: 'POST', body, timeoutMs: this.timeoutMs },
    );
    return res.items ?? {};
  }

  private async node(region: string): Promise<NodeInfo> {
    let node = this.cluster.nodeFor(region);
    if (!node) {
      await this.cluster.refresh();
      node = this.cluster.nodeFor(region);
    }
    if (!node) throw new UnreachableError(`no reachable node in region ${region}`);
    return node;
  }
}
