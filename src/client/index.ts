/** Client layer (DESIGN.md layer 9): the TypeScript client of the client WebSocket API. */
export * from './ring-client';
export { ringViewOf, routeKey, type RingView } from './ring-view';
export { wasNotSent, type ConnectionState } from './node-connection';
