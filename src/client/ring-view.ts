/**
 * The client's copy of the cluster's ring and member table, from a node's
 * `ring` reply (src/node/client-api.ts), and the routing decision built on
 * it: which nodes to send a key's request to, in order. This is Dynamo's
 * client-driven coordination (DeCandia et al. 2007, 4.5 and 6.4): the client
 * computes the key's preference list itself and sends the request straight
 * to a replica, which coordinates without the extra forwarding hop.
 * Pure: no sockets, no time.
 */
import { BadFrameError } from '../core/errors';
import { asNodeId, type NodeId } from '../core/ids';
import { partitionOf, PARTITIONS_MAX } from '../ring/partitioner';
import { preferenceOrder } from '../ring/preference-list';
import type { Ring, RingMember } from '../ring/ring';
import type { MemberState, RingInfo } from '../transport/client-protocol';

export interface RingView {
  readonly ring: Ring;
  readonly n: number;
  readonly members: ReadonlyMap<string, { addr: string; region: string; state: MemberState }>;
  readonly limits: RingInfo['limits'];
}

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

function bad(what: string): never {
  throw new BadFrameError(`malformed ring reply: ${what}`);
}

/** Validate a `ring-ok` reply (it comes from the network) and build the view. */
export function ringViewOf(x: unknown): RingView {
  if (!isObj(x)) bad('not an object');
  const r = x.ring;
  if (!isObj(r)) bad('no ring');
  const q = r.q;
  if (!Number.isSafeInteger(q) || (q as number) < 1 || (q as number) > PARTITIONS_MAX) bad('q');
  if (!Array.isArray(r.members) || r.members.length === 0) bad('ring members');
  const ringMembers: RingMember[] = r.members.map((m: unknown) => {
    if (!isObj(m) || typeof m.id !== 'string' || m.id.length === 0 || typeof m.region !== 'string' || !Number.isFinite(m.joinedAtMs)) {
      bad('ring member');
    }
    return Object.freeze({ id: asNodeId(m.id), region: m.region, joinedAtMs: m.joinedAtMs as number });
  });
  const ids = new Set<string>(ringMembers.map((m) => m.id));
  if (ids.size !== ringMembers.length) bad('duplicate ring member');
  if (!Array.isArray(r.owners) || r.owners.length !== q) bad('owners');
  for (const o of r.owners as unknown[]) if (typeof o !== 'string' || !ids.has(o)) bad('owner is not a member');
  if (typeof r.version !== 'string') bad('version');
  const quorum = x.quorum;
  if (!isObj(quorum) || !Number.isSafeInteger(quorum.n) || (quorum.n as number) < 1) bad('quorum');
  const limits = x.limits;
  if (!isObj(limits) || !['keyBytesMax', 'valueBytesMax', 'frameBytesMax'].every((k) => Number.isSafeInteger(limits[k]))) bad('limits');
  if (!Array.isArray(x.members)) bad('members');
  const members = new Map<string, { addr: string; region: string; state: MemberState }>();
  for (const m of x.members as unknown[]) {
    if (!isObj(m) || typeof m.id !== 'string' || typeof m.addr !== 'string' || typeof m.region !== 'string') bad('member');
    const state = m.state === 'alive' || m.state === 'suspect' || m.state === 'down' || m.state === 'leaving' ? m.state : 'down';
    members.set(m.id, { addr: m.addr, region: m.region, state });
  }
  const ring: Ring = Object.freeze({
    q: q as number,
    owners: Object.freeze((r.owners as string[]).map(asNodeId)),
    members: Object.freeze(ringMembers),
    version: r.version,
  });
  return { ring, n: quorum.n as number, members, limits: limits as RingInfo['limits'] };
}

/**
 * The nodes to try for `key`, best first: the key's N replicas (owner first;
 * those in `region` ahead of the others when a region is given, so a
 * `local` request is coordinated in its own region), then the rest of the
 * ring in preference order (the nodes a sloppy quorum would use).
 *
 * The order depends only on the key's partition, so it is computed once per
 * partition and region for each view (routeOf). Routing was a tenth of the
 * client's CPU when every request rebuilt it (docs/benchmarks.md).
 */
export function routeKey(view: RingView, key: string, region: string | null): NodeId[] {
  return routeOf(view, key, region).slice();
}

/** routeKey's order itself, shared: for the client's own routing, which only reads it. */
export function routeOf(view: RingView, key: string, region: string | null): readonly NodeId[] {
  const p = partitionOf(key, view.ring.q);
  const routes = routesOf(view, region);
  let order = routes[p];
  if (order === undefined) {
    order = Object.freeze(computeRoute(view, p, region));
    routes[p] = order;
  }
  return order;
}

/** Per view: region ('' for none) -> partition -> route. A view is immutable, so its routes never go stale. */
const routeCache = new WeakMap<RingView, Map<string, Array<readonly NodeId[] | undefined>>>();

function routesOf(view: RingView, region: string | null): Array<readonly NodeId[] | undefined> {
  let byRegion = routeCache.get(view);
  if (byRegion === undefined) {
    byRegion = new Map();
    routeCache.set(view, byRegion);
  }
  const name = region === null ? '' : `r:${region}`;
  let routes = byRegion.get(name);
  if (routes === undefined) {
    routes = new Array<readonly NodeId[] | undefined>(view.ring.q);
    byRegion.set(name, routes);
  }
  return routes;
}

function computeRoute(view: RingView, p: ReturnType<typeof partitionOf>, region: string | null): NodeId[] {
  const order = preferenceOrder(view.ring, p, view.n);
  const n = Math.min(view.n, order.length);
  let primaries = order.slice(0, n);
  if (region !== null) {
    const regionOf = (id: NodeId): string | undefined => view.members.get(id)?.region;
    primaries = [...primaries.filter((id) => regionOf(id) === region), ...primaries.filter((id) => regionOf(id) !== region)];
  }
  return primaries.concat(order.slice(n));
}
