/**
 * The shop's express-session store: ringstore's own (store-adapter/,
 * RingstoreSessionStore) over the same cluster as the carts. Each device's
 * session holds its user name, its region and its cart view; field-level
 * merge in the store keeps concurrent requests of one device from undoing each
 * other's fields even without the shop's device lock.
 */
import type session from 'express-session';
import type { Logger } from 'pino';
import { RingstoreSessionStore } from '../store-adapter';

export interface ShopSessionStore {
  store: session.Store;
  /** What the page footer says sessions are kept in. */
  label: string;
  close(): Promise<void>;
}

export interface SessionStoreOptions {
  nodes: readonly string[];
  /**
   * Region whose nodes the store prefers, with consistency `local` there, so
   * sign-in keeps working in that region while it is cut off. Default: none
   * (quorum across regions; the client fails over to a node that can reach one).
   */
  region?: string;
  logger?: Logger;
}

export function createSessionStore(opts: SessionStoreOptions): ShopSessionStore {
  const store = new RingstoreSessionStore({
    nodes: [...opts.nodes],
    prefix: 'shop-sess:',
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    ...(opts.logger ? { client: { logger: opts.logger } } : {}),
  });
  const where = opts.region !== undefined ? `${opts.region}, local quorum` : 'quorum across regions';
  return { store, label: `ringstore session store (${where})`, close: () => store.close() };
}
