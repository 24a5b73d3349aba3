/**
 * The `ringstore` package (DESIGN.md Interfaces: Library):
 * `import { RingClient } from 'ringstore'`. The express-session store is
 * `ringstore/store-adapter`; the node itself runs from the CLI.
 */
export {
  RingClient,
  type RingClientOptions,
  type GetResult,
  type PutOptions,
  type DeleteOptions,
  type SessionRecord,
  type SessionChange,
  type CartItems,
} from './client/ring-client';
export type { RequestOptions, Consistency } from './replication/client-op';
export * from './core/errors';
