/** `ringstore node`: one node in the foreground until SIGINT/SIGTERM. */
import { RingstoreNode } from '../node/ringstore-node';
import { createLogger } from '../node/logger';

export interface NodeCommandOptions {
  id: string; host: string; port: number; data: string; seeds: string[]; region: string;
  n: number; r: number; w: number; partitions: number; consistency: string; logLevel: string;
}

export async function runNode(o: NodeCommandOptions): Promise<void> {
  if (o.consistency !== 'global' && o.consistency !== 'local') throw new Error('--consistency must be global or local');
  const logger = createLogger({ nodeId: o.id, level: o.logLevel });
  const node = await RingstoreNode.start({
    id: o.id, host: o.host, port: o.port, dataDir: o.data, seeds: o.seeds, region: o.region,
    consistency: o.consistency, logger, processMetrics: true,
    config: { n: o.n, r: o.r, w: o.w, partitions: o.partitions },
  });
  process.stdout.write(`node ${node.id} listening on http://${node.addr} (region ${node.region})\n`);
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
