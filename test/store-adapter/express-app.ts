/**
 * Test harness: a real Express 5 app with express-session (resave: false,
 * saveUninitialized: false) on 127.0.0.1 in front of a given store, and a
 * tiny cookie-keeping "browser" to drive it. Routes load the session (the
 * middleware does that), optionally wait `delayMs` (so tests can overlap
 * requests of one user), change it, and answer JSON.
 */
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';

export interface TestApp {
  url: string;
  close(): Promise<void>;
}

type Sess = Record<string, unknown> & session.Session;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startApp(store: session.Store, cookie: session.CookieOptions = { maxAge: 60_000 }): Promise<TestApp> {
  const app = express();
  app.use(session({ store, secret: 'test secret', resave: false, saveUninitialized: false, cookie }));
  const delay = (req: express.Request): Promise<void> => sleep(Number(req.query.delayMs ?? 0));
  const sess = (req: express.Request): Sess => req.session as unknown as Sess;
  /** The session's fields as this request loaded them (tests check that two requests really overlapped). */
  const loaded = (req: express.Request): Record<string, unknown> => {
    const { cookie: _cookie, ...data } = sess(req);
    return JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
  };

  app.post('/login', (req, res) => {
    if (!req.session) {
      res.status(503).json({ error: 'no session store' });
      return;
    }
    sess(req).user = String(req.query.user);
    res.json({ ok: true });
  });
  app.post('/set', async (req, res) => {
    const before = loaded(req);
    await delay(req);
    sess(req)[String(req.query.field)] = String(req.query.value);
    res.json({ ok: true, loaded: before });
  });
  app.post('/del', async (req, res) => {
    const before = loaded(req);
    await delay(req);
    delete sess(req)[String(req.query.field)];
    res.json({ ok: true, loaded: before });
  });
  app.post('/incr', async (req, res) => {
    const s = sess(req);
    const field = String(req.query.field);
    s[field] = Number(s[field] ?? 0) + 1;
    res.json({ value: s[field] });
  });
  // Saves before answering (as DESIGN.md advises before a redirect), so a
  // store error reaches the error handler as a 500. (A session that is not
  // JSON-serialisable never reaches a store through express-session: its own
  // change detection, JSON.stringify, throws first.)
  app.post('/big', (req, res, next) => {
    sess(req).big = 'x'.repeat(Number(req.query.bytes));
    req.session.save((err) => (err ? next(err) : res.json({ ok: true })));
  });
  app.get('/noop', async (req, res) => {
    const before = req.session ? loaded(req) : null;
    await delay(req);
    res.json({ ok: true, loaded: before });
  });
  app.get('/me', (req, res) => {
    if (!req.session) {
      res.status(503).json({ error: 'no session store' });
      return;
    }
    const s = sess(req);
    if (s.user === undefined) {
      res.status(401).json({ error: 'not signed in' });
      return;
    }
    const { cookie: _cookie, ...data } = s;
    res.json({ id: req.sessionID, data });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) next(err);
      else res.json({ ok: true });
    });
  });
  app.use((err: Error & { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: err.message, code: err.code ?? null });
  });

  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** One user agent: keeps the session cookie between requests. */
export class Browser {
  cookie: string | null = null;

  constructor(private readonly base: string) {}

  async request(method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(this.base + path, { method, headers: this.cookie ? { Cookie: this.cookie } : {} });
    for (const c of res.headers.getSetCookie()) if (c.startsWith('connect.sid=')) this.cookie = c.split(';')[0]!;
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** The session id in the signed cookie (s:SID.signature). */
  get sid(): string | null {
    if (!this.cookie) return null;
    const v = decodeURIComponent(this.cookie.slice('connect.sid='.length));
    return v.startsWith('s:') ? v.slice(2, v.lastIndexOf('.')) : null;
  }
}
