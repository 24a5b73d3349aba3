export * from './ids';
export * from './errors';
export * from './assert';
export * from './clock';
export * from './prng';
export * from './config';
export * from './storage-port';
export * from './network-port';
