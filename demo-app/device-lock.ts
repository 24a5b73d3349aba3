/**
 * One request at a time per device (per session cookie), within this shop
 * process.
 *
 * express-session loads the session when a request starts and saves it when
 * the response ends. The page polls the cart while the user clicks, and both
 * kinds of request update the device's cart view (cart-view.ts): a poll that
 * loaded the view before a click's save would save it back over the click and
 * then count the device's own add as "arrived by merge". Queuing the requests
 * of one cookie removes that race without touching the session store, whose
 * own job is the harder case of requests served by different processes.
 */
import type { NextFunction, Request, Response } from 'express';

export function deviceLock(cookieName: string): (req: Request, res: Response, next: NextFunction) => void {
  const tails = new Map<string, Promise<void>>();
  return (req, res, next) => {
    const key = cookieValue(req.headers.cookie, cookieName);
    if (key === null) {
      next();
      return;
    }
    const prev = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    const tail = prev.then(() => mine);
    tails.set(key, tail);
    // 'close' follows 'finish' and also fires when the client goes away, so
    // the lock is released exactly once either way.
    res.once('close', () => {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    });
    prev.then(() => next(), next);
  };
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
