/**
 * The HTTP API of DESIGN.md (Interfaces: HTTP API) on node's own http server:
 * /kv, /carts, /admin/status, /admin/faults, /metrics. Every request is
 * validated at this boundary; errors leave as JSON with a stable code (see
 * http-router.ts).
 */
import type * as http from 'node:http';
import { BadRequestError, NotFoundError, TypeMismatchError } from '../core/errors';
import { readBody, readJson } from './http-body';
import { sendJson, type HttpRouter } from './http-router';
import { decodeContext, encodeContext } from '../clock/context-codec';
import { cartItems } from '../crdt/cart';
import type { StoredObject } from '../crdt/stored-object';
import type { ClientOp, Outcome, RequestOptions } from '../replication/client-op';
import { validateClientOp, validateRequestOptions } from '../replication/wire-validate';
import type { NodeConfig } from '../core/config';
import type { Coordinator } from '../replication/coordinator';
import type { Logger } from './logger';
import type { NodeMetrics } from './metrics';

/** What the HTTP API needs of a node (kept narrow so node/ has no import cycle). */
export interface HttpNode {
  readonly config: NodeConfig;
  readonly coordinator: Coordinator;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  readonly network: {
    faults(): unknown;
    setFaults(f: { delayMs?: Record<string, number>; cut?: string[] }): void;
    clearFaults(): void;
  };
  status(): unknown;
}

const CONTEXT_HEADER = 'x-ringstore-context';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, node: HttpNode) => Promise<void>;

/** Register the data and admin routes of DESIGN.md on the node's router. */
export function installDataApi(router: HttpRouter, node: HttpNode): void {
  const bind = (h: Handler) => (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => h(req, res, url, node);
  router.add('GET', '/kv/', bind(kvGet), 'kv');
  router.add('PUT', '/kv/', bind(kvPut), 'kv');
  router.add('DELETE', '/kv/', bind(kvDelete), 'kv');
  router.add('GET', '/carts/', bind(cartGet), 'carts');
  router.add('POST', '/carts/', bind(cartPost), 'carts');
  router.add('GET', '/admin/status', bind(adminStatus));
  router.add('GET', '/admin/faults', bind(faultsGet));
  router.add('POST', '/admin/faults', bind(faultsSet));
  router.add('DELETE', '/admin/faults', bind(faultsClear));
  router.add('GET', '/metrics', bind(metrics));
}

function pathKey(url: URL, prefix: string): string {
  const raw = url.pathname.slice(prefix.length);
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new BadRequestError('key is not valid percent-encoded UTF-8');
  }
  if (key.length === 0) throw new BadRequestError('key must not be empty');
  return key;
}

function requestOptions(url: URL, node: HttpNode): RequestOptions {
  const q: Record<string, string> = {};
  for (const name of ['r', 'w', 'consistency', 'strict']) {
    const v = url.searchParams.get(name);
    if (v !== null) q[name] = v;
  }
  return validateRequestOptions(q, node.config.n);
}

async function kvGet(_req: http.IncomingMessage, res: http.ServerResponse, url: URL, node: HttpNode): Promise<void> {
  const key = pathKey(url, '/kv/');
  const done = await node.coordinator.run(key, { op: 'get' }, requestOptions(url, node));
  markAnswered(res, done);
  const obj = done.obj;
  if (obj === null) throw new NotFoundError(`key ${JSON.stringify(key)} not found`);
  if (obj.kind !== 'opaque') throw new TypeMismatchError(key, obj.kind, 'opaque');
  const context = encodeContext(obj.dvv.vv);
  res.setHeader('X-Ringstore-Context', context);
  const live = obj.dvv.siblings.filter((s) => s.value !== null);
  if (live.length === 0) throw new NotFoundError(`key ${JSON.stringify(key)} was deleted`);
  if (live.length === 1) {
    const v = live[0]!.value!;
    res.writeHead(200, { 'Content-Type': v.ct, 'Content-Length': v.b.length });
    res.end(Buffer.from(v.b.buffer, v.b.byteOffset, v.b.length));
    return;
  }
  sendJson(res, 300, {
    siblings: live.map((s) => Buffer.from(s.value!.b).toString('base64')),
    contentTypes: live.map((s) => s.value!.ct),
    context,
  });
}

async function kvPut(req: http.IncomingMessage, res: http.ServerResponse, url: URL, node: HttpNode): Promise<void> {
  const key = pathKey(url, '/kv/');
  const opts = requestOptions(url, node);
  const context = decodeContext(headerValue(req, CONTEXT_HEADER) ?? '');
  const body = await readBody(req, node.config.limits.valueBytesMax);
  const ct = headerValue(req, 'content-type') ?? 'application/octet-stream';
  const done = await node.coordinator.run(key, { op: 'put', ct, body, context }, opts);
  writeContext(res, done.obj);
  res.writeHead(markAcked(res, done) ? 202 : 204).end();
}

async function kvDelete(req: http.IncomingMessage, res: http.ServerResponse, url: URL, node: HttpNode): Promise<void> {
  const key = pathKey(url, '/kv/');
  const opts = requestOptions(url, node);
  const header = headerValue(req, CONTEXT_HEADER);
  const context = header === undefined ? null : decodeContext(header);
  const done = await node.coordinator.run(key, { op: 'delete', context }, opts);
  writeContext(res, done.obj);
  res.writeHead(markAcked(res, done) ? 202 : 204).end();
}

function cartKey(url: URL): string {
  return `cart/${pathKey(url, '/carts/')}`;
}

async function cartGet(_req: http.IncomingMessage, res: http.ServerResponse, url: URL, node: HttpNode): Promise<void> {
  const key = cartKey(url);
  const done = await node.coordinator.run(key, { op: 'get' }, requestOptions(url, node));
  markAnswered(res, done);
  const obj = done.obj;
  if (obj && obj.kind !== 'cart') throw new TypeMismatchError(key, obj.kind, 'cart');
  sendJson(res, 200, { items: obj ? cartItems(obj.c) : {} });
}

async function cartPost(req: http.IncomingMessage, res: http.ServerResponse, url: URL, node: HttpNode): Promise<void> {
  const key = cartKey(url);
  const opts = requestOptions(url, node);
  const body = await readJson(req, 64 * 1024);
  const op = parseCartOp(body);
  const done = await node.coordinator.run(key, op, opts);
  const obj = done.obj;
  if (obj && obj.kind !== 'cart') throw new TypeMismatchError(key, obj.kind, 'cart');
  const items = obj ? cartItems(obj.c) : {};
  if (markAcked(res, done)) sendJson(res, 202, { items, acked: done.got, wanted: done.wanted });
  else sendJson(res, 200, { items });
}

function parseCartOp(body: unknown): ClientOp {
  const b = body as Record<string, unknown>;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new BadRequestError('cart operation must be a JSON object');
  if (b.op === 'set' && b.qty === undefined) throw new BadRequestError('set needs qty');
  // add defaults to one; remove takes no quantity. The bounds are validateClientOp's.
  const qty = b.qty === undefined ? (b.op === 'add' ? 1 : 0) : b.qty;
  return validateClientOp({ op: 'cart', action: b.op, item: b.item, qty });
}

async function adminStatus(_req: http.IncomingMessage, res: http.ServerResponse, _url: URL, node: HttpNode): Promise<void> {
  sendJson(res, 200, node.status());
}

async function faultsGet(_req: http.IncomingMessage, res: http.ServerResponse, _url: URL, node: HttpNode): Promise<void> {
  sendJson(res, 200, node.network.faults());
}

async function faultsSet(req: http.IncomingMessage, res: http.ServerResponse, _url: URL, node: HttpNode): Promise<void> {
  const body = (await readJson(req, 16 * 1024)) as Record<string, unknown>;
  const faults: { delayMs?: Record<string, number>; cut?: string[] } = {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequestError('faults must be a JSON object');
  if (body.delayMs !== undefined) {
    const d = body.delayMs as Record<string, unknown>;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new BadRequestError('delayMs must map region to ms');
    for (const v of Object.values(d)) {
      if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > 60_000) {
        throw new BadRequestError('each delay must be an integer from 0 to 60000 ms');
      }
    }
    faults.delayMs = d as Record<string, number>;
  }
  if (body.cut !== undefined) {
    if (!Array.isArray(body.cut) || !body.cut.every((r) => typeof r === 'string')) {
      throw new BadRequestError('cut must be an array of region names');
    }
    faults.cut = body.cut as string[];
  }
  node.network.setFaults(faults);
  node.logger.warn({ faults }, 'faults injected');
  sendJson(res, 200, node.network.faults());
}

async function faultsClear(_req: http.IncomingMessage, res: http.ServerResponse, _url: URL, node: HttpNode): Promise<void> {
  node.network.clearFaults();
  node.logger.info('faults cleared');
  sendJson(res, 200, node.network.faults());
}

async function metrics(_req: http.IncomingMessage, res: http.ServerResponse, _url: URL, node: HttpNode): Promise<void> {
  const text = await node.metrics.registry.metrics();
  res.writeHead(200, { 'Content-Type': node.metrics.registry.contentType });
  res.end(text);
}

/** A degraded write (fewer than W acknowledgements): sets X-Ringstore-Acked, returns true (answer 202). */
function markAcked(res: http.ServerResponse, done: Outcome<unknown>): boolean {
  if (done.got >= done.wanted) return false;
  res.setHeader('X-Ringstore-Acked', `${done.got}/${done.wanted}`);
  return true;
}

/** A degraded read (fewer than R answers): says so in X-Ringstore-Answered; the status stays. */
function markAnswered(res: http.ServerResponse, done: Outcome<unknown>): void {
  if (done.got < done.wanted) res.setHeader('X-Ringstore-Answered', `${done.got}/${done.wanted}`);
}

function writeContext(res: http.ServerResponse, obj: StoredObject | null): void {
  if (obj && obj.kind === 'opaque') res.setHeader('X-Ringstore-Context', encodeContext(obj.dvv.vv));
}

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

