/**
 * Answers the replication messages of the peer protocol. Shared by the real
 * node and the simulator so both run exactly the same replica code.
 */
import type { NodeId } from '../core/ids';
import type { Coordinator } from './coordinator';
import type { PeerMsg } from './peer-message';
import type { Replica } from './replica';

export type ReplicationMsg = Extract<PeerMsg, { type: 'put' | 'get' | 'coord' }>;

export function isReplicationMsg(msg: PeerMsg): msg is ReplicationMsg {
  return msg.type === 'put' || msg.type === 'get' || msg.type === 'coord';
}

/** The reply to every put: immutable, so one object serves them all. */
const PUT_OK: PeerMsg = Object.freeze({ type: 'put-ok' });

/**
 * A get is answered in the same turn; a put once its storage batch commits,
 * through that batch's shared promise (no async function, so no promise of
 * its own per message on the hot path).
 */
export function dispatchReplication(
  self: NodeId, msg: ReplicationMsg, replica: Replica, coordinator: Coordinator,
): PeerMsg | Promise<PeerMsg> {
  switch (msg.type) {
    case 'put': {
      if (msg.hintFor && msg.hintFor !== self) return replica.holdHint(msg.hintFor, msg.key, msg.obj).then(putOk);
      const { merged, durable } = replica.applyNow(msg.key, msg.obj);
      if (msg.echo) {
        const reply: PeerMsg = { type: 'put-ok', obj: merged };
        return durable === null ? reply : durable.then(() => reply);
      }
      return durable === null ? PUT_OK : durable.then(putOk);
    }
    case 'get':
      return { type: 'get-ok', obj: msg.own ? replica.own(msg.key) ?? null : replica.read(msg.key) };
    case 'coord':
      return coordinator.executeForwarded(msg.opId, msg.key, msg.op, msg.opts)
        .then((done) => ({ type: 'coord-ok', obj: done.obj, got: done.got, wanted: done.wanted }));
  }
}

function putOk(): PeerMsg {
  return PUT_OK;
}
