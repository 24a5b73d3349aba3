/**
 * A small router for the node's HTTP server: exact paths and path prefixes,
 * per method, JSON errors with stable codes, and request metrics. Features
 * register their routes here (see ringstore-node.ts) instead of editing a
 * central switch.
 */
import type * as http from 'node:http';
import { BadRequestError, NotFoundError, RingstoreError } from '../core/errors';
import type { Logger } from './logger';
import type { NodeMetrics } from './metrics';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<void> | void;

interface Route {
  method: string;
  /** Exact path, or a prefix when it ends with '/'. */
  path: string;
  label: string;
  handler: RouteHandler;
}

export class HttpRouter {
  private readonly routes: Route[] = [];

  constructor(private readonly metrics: NodeMetrics, private readonly logger: Logger) {}

  /** `path` ending in '/' matches every path under it. `label` names the route in metrics. */
  add(method: string, path: string, handler: RouteHandler, label = path): void {
    this.routes.push({ method, path, label, handler });
  }

  listener(): http.RequestListener {
    return (req, res) => {
      const started = process.hrtime.bigint();
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        // A request target such as '//' is not a URL: answer, never throw
        // out of the listener (that would end the process).
        sendError(res, new BadRequestError('request target is not a valid URL'), this.logger);
        return;
      }
      const matching = this.routes.filter((r) => matches(r.path, url.pathname));
      const route = matching.find((r) => r.method === (req.method ?? 'GET'));
      const label = route?.label ?? matching[0]?.label ?? 'other';
      res.on('finish', () => {
        this.metrics.httpRequests.inc({ route: label, status: String(res.statusCode) });
        this.metrics.httpSeconds.observe({ route: label }, Number(process.hrtime.bigint() - started) / 1e9);
      });
      const run = async (): Promise<void> => {
        if (!route) {
          if (matching.length === 0) throw new NotFoundError(`no route ${req.method} ${url.pathname}`);
          res.setHeader('Allow', [...new Set(matching.map((r) => r.method))].join(', '));
          throw new RingstoreError('RS_ERR_METHOD', 405, `method ${req.method} not allowed on ${url.pathname}`);
        }
        await route.handler(req, res, url);
      };
      run().catch((err) => sendError(res, err, this.logger));
    };
  }
}

function matches(routePath: string, pathname: string): boolean {
  return routePath.endsWith('/') ? pathname.startsWith(routePath) && pathname.length > routePath.length : pathname === routePath;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: http.ServerResponse, err: unknown, logger: Logger): void {
  const e = err instanceof RingstoreError ? err : null;
  if (!e) logger.error({ err }, 'unexpected error in HTTP handler');
  else if (e.status >= 500) logger.warn({ code: e.code, err: e.message }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = e ? e.status : 500;
  const body = e ? e.toJSON() : { error: 'internal error', code: 'RS_ERR_INTERNAL' };
  sendJson(res, status, body);
}
