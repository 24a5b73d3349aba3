/**
 * What both transports offer beyond the core Network port: link events (the
 * trigger for hinted handoff, Dynamo 4.6) and shutdown. Node code that needs
 * these programs against this interface, so the simulator can hand it a
 * MemoryNetwork instead of a WsNetwork.
 */
import type { NodeId } from '../core/ids';
import type { Network, PeerMessage } from '../core/network-port';

export interface PeerNetwork<M extends PeerMessage> extends Network<M> {
  /** Called when the link to a peer comes up (or a fault that hid it is lifted). */
  onPeerUp(cb: (id: NodeId) => void): void;
  /** Called when a link that was up goes down (or a fault hides it). */
  onPeerDown(cb: (id: NodeId) => void): void;
  /** Close every link; pending requests reject with ClosedError. */
  close(): Promise<void>;
}
