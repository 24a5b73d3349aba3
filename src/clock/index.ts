export * from './dot';
export * from './version-vector';
export * from './dvv';
export * from './context-codec';
export * from './hlc';
