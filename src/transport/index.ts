/** Peer links (DESIGN.md layer 7): the ws transport, its memory twin, and the wire format. */
export * from './frame-codec';
export * from './logger';
export * from './remote-error';
export * from './peer-network';
export * from './peer-auth';
export * from './ws-network';
export * from './memory-network';
export { backoffDelayMs } from './backoff';
