/**
 * The one logger (pino): structured JSON lines. Session contents and values
 * are never logged, only keys' sizes, ids and error codes.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(opts: { nodeId?: string; level?: string; destination?: string } = {}): Logger {
  const level = opts.level ?? process.env.RINGSTORE_LOG_LEVEL ?? 'info';
  const base = opts.nodeId ? { node: opts.nodeId } : {};
  const dest = opts.destination ? pino.destination({ dest: opts.destination, sync: false, mkdir: true }) : pino.destination(2);
  return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}
