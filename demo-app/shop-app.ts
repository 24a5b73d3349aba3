/**
 * The demo shop (DESIGN.md "Demo shop page"; issue 5 part 3): an Express 5 app
 * whose carts are ringstore cart CRDTs and whose sessions are in the ringstore
 * session store.
 *
 * Each browser is a "device" that picks the region whose node it talks to.
 * Two devices of one user share the cart (keyed by the user name) and keep
 * their own session (their own cookie). The partition control cuts the
 * device's region off from the others; both sides stay writable, and after
 * the heal the cart CRDT merges what both did: the union of the adds, minus
 * the adds each remove observed. Each device's cart view (cart-view.ts)
 * highlights what arrived by merge.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import type { Logger } from 'pino';
import { BadRequestError, RingstoreError } from '../src/core/errors';
import { createLogger } from '../src/node/logger';
import { productOf } from './catalogue';
import { HttpCartBackend, type CartBackend } from './cart-backend';
import { afterOwn, dismissMerged, observe, viewFrom, viewOf, type OwnOp } from './cart-view';
import { ClusterView, type PartitionState } from './cluster-view';
import { deviceLock } from './device-lock';
import { cartSection, errorPage, networkSection, shopPage, signInPage, type ShopModel } from './pages';
import { createSessionStore, type ShopSessionStore } from './session-store';

/**
 * What the shop keeps in a device's session. Not a global augmentation of
 * express-session's SessionData: that would leak into every file of the
 * compilation (the store adapter's own tests among them).
 */
interface ShopSessionFields {
  /** The name as typed (shown); the cart id is its lower-case form. */
  user: string;
  cartId: string;
  /** The region whose node this device talks to. */
  region: string;
  /** This device's cart view (cart-view.ts); absent until the first cart read after sign-in. */
  view: unknown;
  /** One error message for the next page. */
  flash: string;
}

type ShopSession = session.Session & Partial<ShopSessionFields>;

/** The request's session (read it again after regenerate(): that replaces the object). */
function sess(req: Request): ShopSession {
  return req.session as ShopSession;
}

export interface ShopOptions {
  /** HOST:PORT of the ringstore nodes. */
  nodes: string[];
  /** Signs the session cookie. */
  sessionSecret: string;
  /** Default: the ringstore session store over `nodes` (session-store.ts). */
  sessionStore?: ShopSessionStore;
  /** Region the default session store prefers (session-store.ts); default none. */
  sessionRegion?: string;
  /** Default: the nodes' HTTP cart API (cart-backend.ts). */
  carts?: CartBackend;
  logger?: Logger;
  /** Session cookie lifetime. Default 2 hours. */
  sessionMaxAgeMs?: number;
}

export interface Shop {
  app: express.Express;
  cluster: ClusterView;
  sessionStore: ShopSessionStore;
  /** Learn the nodes' regions, then listen; resolves with the bound server. */
  listen(port: number, host?: string): Promise<http.Server>;
  close(): Promise<void>;
}

export const SESSION_COOKIE = 'shop.sid';
const USER_RE = /^[A-Za-z0-9_.-]{1,40}$/;
const PUBLIC_DIR = path.resolve(__dirname, '../../demo-app/public');

export function createShop(opts: ShopOptions): Shop {
  const logger = opts.logger ?? createLogger({ level: process.env.SHOP_LOG_LEVEL ?? 'info' }).child({ app: 'shop' });
  const cluster = new ClusterView(opts.nodes);
  const carts = opts.carts ?? new HttpCartBackend(cluster);
  const sessionStore = opts.sessionStore ?? createSessionStore({
    nodes: opts.nodes, region: opts.sessionRegion, logger: logger.child({ component: 'session-store' }),
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use('/static', express.static(PUBLIC_DIR, { maxAge: 0 }));
  app.get('/healthz', (_req, res) => { res.json({ ok: true, nodes: cluster.nodes() }); });
  app.use(express.urlencoded({ extended: false, limit: '8kb' }));
  app.use(deviceLock(SESSION_COOKIE));
  app.use(session({
    name: SESSION_COOKIE,
    secret: opts.sessionSecret,
    store: sessionStore.store,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: opts.sessionMaxAgeMs ?? 2 * 3600_000 },
  }));
  app.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  const regionOf = (req: Request): string => {
    const regions = cluster.regions();
    const r = sess(req).region;
    return r !== undefined && regions.includes(r) ? r : (regions[0] ?? 'default');
  };

  /** Read the cart through the device's node and fold it into the device's view. */
  const buildModel = async (req: Request): Promise<ShopModel> => {
    await cluster.ensureKnown();
    const region = regionOf(req);
    const user = sess(req).user!;
    const [read, partition] = await Promise.all([
      carts.read(sess(req).cartId!, region).then((r) => ({ ok: true as const, r }), (err: unknown) => ({ ok: false as const, err })),
      cluster.partition(),
    ]);
    let cart: ShopModel['cart'];
    if (!read.ok) {
      logger.warn({ err: describe(read.err), region }, 'cart read failed');
      cart = { error: describe(read.err) };
    } else {
      const { items, mode, node } = read.r;
      const view = sess(req).view === undefined ? viewOf(items) : observe(viewFrom(sess(req).view), items).view;
      if (JSON.stringify(view) !== JSON.stringify(sess(req).view)) sess(req).view = view;
      cart = { items, merged: view.merged, mode, node };
    }
    const flash = sess(req).flash;
    if (flash !== undefined) delete sess(req).flash;
    return {
      user, region, regions: cluster.regions(), nodes: cluster.nodes(), cart, partition, flash,
      storeLabel: sessionStore.label,
    };
  };

  const requireUser = (req: Request, res: Response, next: NextFunction): void => {
    if (sess(req).user && sess(req).cartId) next();
    else if (req.path === '/live' || req.path.startsWith('/api/')) res.status(401).json({ error: 'not signed in', code: 'SHOP_SIGNED_OUT' });
    else res.redirect(303, '/');
  };

  app.get('/', async (req, res) => {
    await cluster.ensureKnown();
    const asked = typeof req.query.region === 'string' ? req.query.region : undefined;
    if (asked !== undefined && cluster.regions().includes(asked) && sess(req).region !== asked) sess(req).region = asked;
    if (!sess(req).user) {
      res.type('html').send(signInPage({ regions: cluster.regions(), region: regionOf(req) }));
      return;
    }
    res.type('html').send(shopPage(await buildModel(req)));
  });

  app.post('/signin', async (req, res) => {
    await cluster.ensureKnown();
    const user = String(req.body?.user ?? '').trim();
    const asked = String(req.body?.region ?? '');
    const region = cluster.regions().includes(asked) ? asked : regionOf(req);
    if (!USER_RE.test(user)) {
      res.status(400).type('html').send(signInPage({
        regions: cluster.regions(), region, user, error: 'Use 1 to 40 letters, digits, dots, dashes or underscores.',
      }));
      return;
    }
    // A new session id at sign-in, so a cookie planted before it is worth nothing after.
    await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
    sess(req).user = user;
    sess(req).cartId = user.toLowerCase();
    sess(req).region = region;
    logger.info({ region }, 'device signed in');
    await saveThenRedirect(req, res, '/');
  });

  app.post('/signout', async (req, res) => {
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
    res.clearCookie(SESSION_COOKIE);
    res.redirect(303, '/');
  });

  app.post('/device', requireUser, async (req, res) => {
    const region = String(req.body?.region ?? '');
    if (!cluster.regions().includes(region)) throw new BadRequestError(`unknown region ${JSON.stringify(region)}`);
    sess(req).region = region;
    await saveThenRedirect(req, res, '/');
  });

  const cartAction = (kind: 'add' | 'decrement' | 'remove') => async (req: Request, res: Response): Promise<void> => {
    const sku = String(req.body?.sku ?? '');
    if (kind === 'add' && !productOf(sku)) throw new BadRequestError(`unknown product ${JSON.stringify(sku)}`);
    if (sku.length === 0 || sku.length > 256) throw new BadRequestError('sku must be 1 to 256 characters');
    const region = regionOf(req);
    const cartId = sess(req).cartId!;
    try {
      let view = viewFrom(sess(req).view);
      let op: OwnOp;
      if (kind === 'add') op = { op: 'add', sku, qty: 1 };
      else if (kind === 'remove') op = { op: 'remove', sku };
      else {
        // One fewer = set to what this device reads minus one; whatever the
        // read brings that the device had not shown yet is merged, not ours.
        const read = await carts.read(cartId, region);
        view = sess(req).view === undefined ? viewOf(read.items) : observe(view, read.items).view;
        const qty = read.items[sku] ?? 0;
        op = qty > 1 ? { op: 'set', sku, qty: qty - 1 } : { op: 'remove', sku };
      }
      await carts.apply(cartId, region, op);
      sess(req).view = afterOwn(view, op);
    } catch (err) {
      logger.warn({ err: describe(err), region, action: kind }, 'cart operation failed');
      sess(req).flash = `Could not ${kind === 'add' ? 'add to' : 'change'} the cart: ${describe(err)}`;
    }
    await saveThenRedirect(req, res, '/');
  };
  app.post('/cart/add', requireUser, cartAction('add'));
  app.post('/cart/decrement', requireUser, cartAction('decrement'));
  app.post('/cart/remove', requireUser, cartAction('remove'));

  app.post('/cart/dismiss', requireUser, async (req, res) => {
    sess(req).view = dismissMerged(viewFrom(sess(req).view));
    await saveThenRedirect(req, res, '/');
  });

  app.post('/partition', requireUser, async (req, res) => {
    const action = String(req.body?.action ?? '');
    await cluster.ensureKnown();
    try {
      if (action === 'cut') await cluster.cut(regionOf(req));
      else if (action === 'heal') await cluster.heal();
      else throw new BadRequestError('action must be cut or heal');
      logger.warn({ action, region: regionOf(req) }, 'partition control');
    } catch (err) {
      if (err instanceof BadRequestError) throw err;
      sess(req).flash = `Could not ${action} the link: ${describe(err)}`;
    }
    await saveThenRedirect(req, res, '/');
  });

  // What shop.js polls: the two live fragments of the page.
  app.get('/live', requireUser, async (req, res) => {
    const m = await buildModel(req);
    res.json({ cart: cartSection(m), network: networkSection(m), flash: m.flash ?? null });
  });

  app.get('/api/cart', requireUser, async (req, res) => {
    const m = await buildModel(req);
    const body: Record<string, unknown> = { user: m.user, region: m.region, partition: m.partition satisfies PartitionState };
    if ('error' in m.cart) res.status(503).json({ ...body, error: m.cart.error });
    else res.json({ ...body, items: m.cart.items, merged: m.cart.merged, mode: m.cart.mode, node: m.cart.node.id });
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).type('html').send(errorPage(404, 'No such page.'));
  });

  // Express 5 routes rejected promises here.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof RingstoreError ? err.status : 500;
    if (status >= 500) logger.error({ err, path: req.path }, 'request failed');
    else logger.info({ code: (err as RingstoreError).code, path: req.path }, 'bad request');
    if (res.headersSent) return;
    const message = status >= 500 && !(err instanceof RingstoreError) ? 'internal error' : describe(err);
    if (req.path === '/live' || req.path.startsWith('/api/')) res.status(status).json({ error: message });
    else res.status(status).type('html').send(errorPage(status, message));
  });

  let server: http.Server | null = null;
  return {
    app,
    cluster,
    sessionStore,
    async listen(port, host = '127.0.0.1') {
      await cluster.refresh();
      const s = http.createServer(app);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      server = s;
      return s;
    },
    async close() {
      if (server) {
        const s = server;
        server = null;
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
      await sessionStore.close();
    },
  };
}

/** express-session saves at the end of the response, after the redirect has reached the browser; save first. */
function saveThenRedirect(req: Request, res: Response, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.save((err) => {
      if (err) reject(err);
      else {
        res.redirect(303, to);
        resolve();
      }
    });
  });
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
