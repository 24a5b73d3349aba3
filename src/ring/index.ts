/** Ring layer (DESIGN.md layer 3): partitions, ownership, preference lists, transfer plans. Pure. */
export * from './partitioner';
export * from './ring';
export * from './preference-list';
export * from './transfer-plan';
export * from './placement';
