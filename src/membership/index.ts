export * from './member-table';
export * from './heartbeat';
export * from './phi-accrual';
export * from './liveness';
export * from './gossip-targets';
export * from './gossiper';
