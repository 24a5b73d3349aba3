export * from './canonical';
export * from './session';
export * from './cart';
export * from './stored-object';
