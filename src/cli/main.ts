/**
 * The `ringstore` command (DESIGN.md Interfaces: CLI).
 */
import { Command, InvalidArgumentError } from 'commander';
import { runNode } from './node-command';
import { runDevCluster } from './dev-cluster-command';
import { runStatus } from './status-command';

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

function addrList(v: string): string[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const a of list) if (!/^[^:\s]+:\d{1,5}$/.test(a)) throw new InvalidArgumentError(`"${a}" is not HOST:PORT`);
  return list;
}

export function buildProgram(): Command {
  const program = new Command();
  program.name('ringstore').description('Dynamo-style, always-writable key-value and session store').showHelpAfterError();

  program
    .command('node')
    .description('start one node')
    .requiredOption('--id <id>', 'stable node id ([A-Za-z0-9_.-], at most 64 characters)')
    .option('--host <host>', 'address to listen on and advertise', '127.0.0.1')
    .requiredOption('--port <port>', 'port for /peer, /client and the HTTP API', intArg('port', 1, 65535))
    .requiredOption('--data <dir>', 'data directory (SQLite file, membership, hints)')
    .option('--seeds <list>', 'comma-separated HOST:PORT of other nodes', addrList, [])
    .option('--region <name>', 'region (datacenter) of this node', 'default')
    .option('--n <n>', 'replicas per key', intArg('n', 1, 16), 3)
    .option('--r <r>', 'read quorum', intArg('r', 1, 16), 2)
    .option('--w <w>', 'write quorum', intArg('w', 1, 16), 2)
    .option('--partitions <q>', 'ring partitions (must match across the cluster)', intArg('partitions', 1, 65536), 256)
    .option('--consistency <mode>', 'default consistency: global or local', 'global')
    .option('--log-level <level>', 'pino log level', process.env.RINGSTORE_LOG_LEVEL ?? 'info')
    .action(runNode);

  program
    .command('dev-cluster')
    .description('start a local cluster of child node processes')
    .option('--nodes <count>', 'number of nodes', intArg('nodes', 1, 32), 3)
    .option('--base-port <port>', 'port of the first node; the others follow', intArg('base-port', 1, 65500), 7000)
    .option('--data <dir>', 'data directory; each node gets DIR/nodeK', './data')
    .option('--regions <list>', 'comma-separated regions assigned round-robin', 'region-a,region-b,region-c')
    .option('--n <n>', 'replicas per key', intArg('n', 1, 16), 3)
    .option('--r <r>', 'read quorum', intArg('r', 1, 16), 2)
    .option('--w <w>', 'write quorum', intArg('w', 1, 16), 2)
    .action(runDevCluster);

  program
    .command('status')
    .description("show a node's view of the cluster")
    .requiredOption('--node <addr>', 'HOST:PORT of any node')
    .option('--json', 'print the /admin/status JSON')
    .action(runStatus);

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
