/**
 * `ringstore/store-adapter`: the express-session Store backed by ringstore
 * (DESIGN.md Interfaces: Library; docs/session-store.md).
 *
 *   import session from 'express-session';
 *   import { RingstoreSessionStore } from 'ringstore/store-adapter';
 *   app.use(session({ store: new RingstoreSessionStore({ nodes: ['127.0.0.1:7000'] }), secret, resave: false, saveUninitialized: false }));
 */
export { RingstoreSessionStore, type RingstoreSessionStoreOptions } from './ringstore-session-store';
export { RingClient, type RingClientOptions } from '../src/client/ring-client';
