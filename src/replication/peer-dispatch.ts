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

export async function dispatchReplication(
  self: NodeId, msg: ReplicationMsg, replica: Replica, coordinator: Coordinator,
): Promise<PeerMsg> {
  switch (msg.type) {
    case 'put':
      if (msg.hintFor && msg.hintFor !== self) await replica.holdHint(msg.hintFor, msg.key, msg.obj);
      else await replica.apply(msg.key, msg.obj);
      return { type: 'put-ok' };
    case 'get':
      return { type: 'get-ok', obj: msg.own ? replica.own(msg.key) ?? null : replica.read(msg.key) };
    case 'coord': {
      const done = await coordinator.executeForwarded(msg.opId, msg.key, msg.op, msg.opts);
      return { type: 'coord-ok', obj: done.obj, got: done.got, wanted: done.wanted };
    }
  }
}
