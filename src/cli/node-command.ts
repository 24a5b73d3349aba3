/** `ringstore node`: one node in the foreground until SIGINT/SIGTERM. */
import { RingstoreNode } from '../node/ringstore-node';
import { createLogger } from '../node/logger';
import { DEFAULT_LIMITS } from '../core/config';
import { TokenTable } from '../node/auth';
import { loadClusterSecret, SECRET_ENV } from '../node/cluster-secret';
import { loadTlsFiles } from '../node/tls-files';

export interface NodeCommandOptions {
  id: string; host: string; port: number; data: string; seeds: string[]; region: string;
  n: number; r: number; w: number; minAcks?: number; partitions: number; consistency: string; logLevel: string;
  antiEntropyIntervalMs?: number;
  gossipIntervalMs?: number; gossipFanout?: number; phiSuspect?: number; heartbeatPauseMs?: number; downAfterMs?: number;
  handoffIntervalMs?: number; handoffBatchKeys?: number;
  /** Seconds between "every primary holds the tombstone" and its reaping (docs/operations.md, Tombstones). */
  tombstoneGraceS?: number;
  secretFile?: string; tlsCert?: string; tlsKey?: string; tlsCa?: string; tokensFile?: string;
  httpRateLimit?: number; httpRateBurst?: number;
  /** `full` or `normal` (docs/operations.md, Durability); default full. */
  sqliteSync?: string;
}

/** The values of `--sqlite-sync`, and the SQLite `PRAGMA synchronous` level each one sets. */
const SQLITE_SYNC_LEVELS = { full: 'FULL', normal: 'NORMAL' } as const;
export type SqliteSyncLevel = (typeof SQLITE_SYNC_LEVELS)[keyof typeof SQLITE_SYNC_LEVELS];

/**
 * `--sqlite-sync full|normal` to the PRAGMA level SqliteStorage takes. Throws
 * on anything else: a typo must not quietly leave a node less durable (or
 * slower) than its operator asked for.
 */
export function parseSqliteSync(value: string): SqliteSyncLevel {
  const level = (SQLITE_SYNC_LEVELS as Record<string, SqliteSyncLevel>)[value.toLowerCase()];
  if (level === undefined) throw new Error(`--sqlite-sync must be full or normal, not ${JSON.stringify(value)}`);
  return level;
}

export async function runNode(o: NodeCommandOptions): Promise<void> {
  if (o.consistency !== 'global' && o.consistency !== 'local') throw new Error('--consistency must be global or local');
  if (o.minAcks !== undefined && o.minAcks > o.w) throw new Error(`--min-acks (${o.minAcks}) must be at most --w (${o.w})`);
  const sqliteSynchronous = parseSqliteSync(o.sqliteSync ?? 'full');
  const logger = createLogger({ nodeId: o.id, level: o.logLevel });
  // Security (docs/security.md): each is optional, and off unless given.
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
  if (o.tlsCa !== undefined && o.tlsCert === undefined) throw new Error('--tls-ca needs --tls-cert and --tls-key');
  const secret = loadClusterSecret({ file: o.secretFile, envValue: process.env[SECRET_ENV], logger });
  const tls = o.tlsCert !== undefined && o.tlsKey !== undefined ? loadTlsFiles({ cert: o.tlsCert, key: o.tlsKey, ca: o.tlsCa }) : undefined;
  const tokens = o.tokensFile !== undefined ? TokenTable.load(o.tokensFile) : undefined;
  if (secret === undefined) logger.warn('no cluster secret (--secret-file or RINGSTORE_SECRET): any host that reaches this port can join the cluster');
  if (tokens === undefined) logger.info('no --tokens-file: the HTTP and client APIs are open to anyone who reaches this port');
  const node = await RingstoreNode.start({
    id: o.id, host: o.host, port: o.port, dataDir: o.data, seeds: o.seeds, region: o.region,
    consistency: o.consistency, logger, processMetrics: true, secret, tls, tokens, sqliteSynchronous,
    config: {
      n: o.n, r: o.r, w: o.w, partitions: o.partitions,
      limits: { ...DEFAULT_LIMITS, httpRequestsPerSecondMax: o.httpRateLimit ?? 0, httpRequestsBurstMax: o.httpRateBurst ?? 0 },
      ...(o.antiEntropyIntervalMs !== undefined ? { antiEntropyIntervalMs: o.antiEntropyIntervalMs } : {}),
      ...definedOnly({
        gossipIntervalMs: o.gossipIntervalMs, gossipFanout: o.gossipFanout, phiSuspect: o.phiSuspect,
        heartbeatPauseMs: o.heartbeatPauseMs, downAfterMs: o.downAfterMs, minAcks: o.minAcks,
        handoffIntervalMs: o.handoffIntervalMs, handoffBatchKeys: o.handoffBatchKeys,
        tombstoneGraceMs: o.tombstoneGraceS === undefined ? undefined : Math.round(o.tombstoneGraceS * 1000),
      }),
    },
  });
  process.stdout.write(`node ${node.id} listening on ${tls ? 'https' : 'http'}://${node.addr} (region ${node.region})\n`);
  const stop = (signal: string): void => {
    logger.info({ signal }, 'stopping');
    node.close().then(() => process.exit(0), (err) => {
      logger.error({ err }, 'error while stopping');
      process.exit(1);
    });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

/** The options the user gave (membership and handoff tunables default in core/config.ts). */
function definedOnly<T extends Record<string, number | undefined>>(o: T): Partial<Record<keyof T, number>> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<Record<keyof T, number>>;
}
