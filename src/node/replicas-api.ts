/**
 * GET /admin/replicas/KEY: where a key lives and what each of its N primary
 * replicas holds of its own (not hints), by digest. For operators chasing a
 * divergence, and for tests that check "on every replica" without a read
 * that would repair what it looks at. `bytes` is objectByteSize of the
 * replica's own copy (its stored size, near its msgpack size).
 */
import { BadRequestError } from '../core/errors';
import { objectByteSize, objectDigest, type StoredObject } from '../crdt/stored-object';
import { partitionOf } from '../ring/partitioner';
import { preferenceList } from '../ring/preference-list';
import { validateKey } from '../replication/wire-validate';
import type { FeatureHost } from './feature-host';
import { sendJson } from './http-router';

interface ReplicaView {
  node: string;
  region: string | undefined;
  reachable: boolean;
  present: boolean;
  kind?: string;
  digest?: string;
  bytes?: number;
  siblings?: number;
}

export function installReplicasApi(host: FeatureHost): void {
  host.router.add('GET', '/admin/replicas/', async (_req, res, url) => {
    let key: string;
    try {
      key = decodeURIComponent(url.pathname.slice('/admin/replicas/'.length));
    } catch {
      throw new BadRequestError('key is not valid percent-encoded UTF-8');
    }
    validateKey(key, host.config.limits);
    const ring = host.currentRing();
    const partition = partitionOf(key, ring.q);
    const prefs = preferenceList(ring, partition, host.config.n);
    const members = host.members();
    const replicas = await Promise.all(prefs.map(async (node): Promise<ReplicaView> => {
      const region = members.get(node)?.region;
      try {
        const obj = node === host.id
          ? host.replica.own(key) ?? null
          : await host.network.request(node, { type: 'get', key, own: true }, host.config.requestTimeoutMs)
            .then((r) => (r.type === 'get-ok' ? r.obj : null));
        return { node, region, reachable: true, ...describe(obj) };
      } catch {
        return { node, region, reachable: false, present: false };
      }
    }));
    sendJson(res, 200, { key, partition, replicas });
  }, '/admin/replicas');
}

function describe(obj: StoredObject | null): Pick<ReplicaView, 'present' | 'kind' | 'digest' | 'bytes' | 'siblings'> {
  if (!obj) return { present: false };
  return {
    present: true,
    kind: obj.kind,
    digest: objectDigest(obj),
    bytes: objectByteSize(obj),
    ...(obj.kind === 'opaque' ? { siblings: obj.dvv.siblings.length } : {}),
  };
}
