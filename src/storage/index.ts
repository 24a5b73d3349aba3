/** Storage engines behind the Storage port (DESIGN.md layer 5). */
export { MemoryStorage, type MemoryStorageOptions } from './memory-storage';
export { SqliteStorage, type SqliteStorageOptions } from './sqlite-storage';
export type { StorageStats } from './storage-stats';
export { ExpiryIndex } from './expiry-index';
