/**
 * Branded identifiers. A NodeId is the stable name an operator gives a node
 * (`--id`); an ActorId names one causal lineage in a version vector (minted by
 * a node, see clock/); a PartitionId indexes the ring's Q equal partitions.
 */
export type NodeId = string & { readonly __brand: 'NodeId' };
export type ActorId = string & { readonly __brand: 'ActorId' };
export type PartitionId = number & { readonly __brand: 'PartitionId' };

export const asNodeId = (s: string): NodeId => s as NodeId;
export const asActorId = (s: string): ActorId => s as ActorId;
export const asPartitionId = (n: number): PartitionId => n as PartitionId;

/** A node's peer address, `host:port`. */
export type PeerAddress = string & { readonly __brand: 'PeerAddress' };
export const asPeerAddress = (s: string): PeerAddress => s as PeerAddress;
