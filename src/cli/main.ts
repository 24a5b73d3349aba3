/**
 * The `ringstore` command (DESIGN.md Interfaces: CLI).
 */
import { Command, InvalidArgumentError } from 'commander';
import { parseSqliteSync, runNode } from './node-command';
import { runDevCluster } from './dev-cluster-command';
import { runStatus } from './status-command';
import { runLeave } from './leave-command';
import { runSessionsStats } from './sessions-command';
import { TOKEN_ENV, type AdminFlags } from './admin-http';

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

function numArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    return n;
  };
}

/** Checks --sqlite-sync at parse time (a usage error with the help hint); the node gets the word itself. */
function sqliteSyncArg(v: string): string {
  try {
    parseSqliteSync(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return v.toLowerCase();
}

/** How an operator command reaches a secured node (admin-http.ts; docs/security.md). */
function addAdminOptions(cmd: Command): void {
  cmd
    .option('--token <token>', `bearer token (admin scope for status and leave; default: $${TOKEN_ENV})`)
    .option('--tls-ca <file>', 'PEM of the CA that signed the node\'s certificate; talk https')
    .option('--https', 'talk https, trusting the system\'s CAs');
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
    .option('--min-acks <k>', 'durable copies a write short of W still needs to be accepted (202, degraded); equal to W: refuse it (503)', intArg('min-acks', 1, 16), 1)
    .option('--partitions <q>', 'ring partitions (must match across the cluster)', intArg('partitions', 1, 65536), 256)
    .option('--consistency <mode>', 'default consistency: global or local', 'global')
    .option('--anti-entropy-interval-ms <ms>', 'ms between anti-entropy exchanges (0: start none)', intArg('anti-entropy-interval-ms', 0, 86_400_000))
    .option('--secret-file <file>', 'cluster secret that peers authenticate with (default: env RINGSTORE_SECRET); the same on every node, 16+ bytes')
    .option('--tls-cert <file>', 'PEM certificate: serve https and wss, and dial peers over wss (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', "PEM CA bundle that peers' certificates are verified against (default: the system's roots)")
    .option('--tokens-file <file>', 'bearer tokens with read, write or admin scope (JSON or "scope token" lines); unset: no access control')
    .option('--http-rate-limit <rps>', 'HTTP requests per second per client address (0: no limit)', intArg('http-rate-limit', 0, 10_000_000), 0)
    .option('--http-rate-burst <n>', 'requests an idle client may send at once (default: one second of --http-rate-limit)', intArg('http-rate-burst', 0, 10_000_000), 0)
    .option('--gossip-interval-ms <ms>', 'ms between gossip rounds, the expected heartbeat interval (docs/membership.md)', intArg('gossip-interval-ms', 10, 60_000))
    .option('--gossip-fanout <k>', 'random peers gossiped with per round', intArg('gossip-fanout', 1, 64))
    .option('--phi-suspect <phi>', 'phi at which a silent member becomes suspect', numArg('phi-suspect', 0.5, 100))
    .option('--heartbeat-pause-ms <ms>', 'heartbeat silence tolerated beyond the usual before phi rises', intArg('heartbeat-pause-ms', 0, 600_000))
    .option('--down-after-ms <ms>', 'ms a member stays suspect before it is marked down', intArg('down-after-ms', 0, 3_600_000))
    .option('--handoff-interval-ms <ms>', 'ms between partition handoff checks', intArg('handoff-interval-ms', 10, 600_000))
    .option('--handoff-batch-keys <n>', 'keys per partition handoff batch', intArg('handoff-batch-keys', 1, 100_000))
    .option('--tombstone-grace-s <s>', 'seconds a delete\'s tombstone is kept after every replica holds it, then reaped (default 3; docs/operations.md)', numArg('tombstone-grace-s', 0, 86_400))
    .option('--sqlite-sync <mode>', 'full: fsync every commit (survives power loss); normal: fsync at checkpoints (survives a process crash, may lose the last commits on power loss); docs/operations.md', sqliteSyncArg, 'full')
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

  const status = program
    .command('status')
    .description("show a node's view of the cluster")
    .requiredOption('--node <addr>', 'HOST:PORT of any node')
    .option('--json', 'print the /admin/status JSON')
    .option('--watch', 'refresh every second until no partition is moving to or from the node')
    .action(runStatus);
  addAdminOptions(status);

  const leave = program
    .command('leave')
    .description('hand all of a node\'s partitions to the other nodes, so that it can be stopped (POST /admin/leave)')
    .requiredOption('--node <addr>', 'HOST:PORT of the node that leaves')
    .option('--no-wait', 'return at once instead of waiting until the handoff is done')
    .option('--timeout-s <s>', 'give up waiting after this many seconds', intArg('timeout-s', 1, 86_400), 3600)
    .action(runLeave);
  addAdminOptions(leave);

  const sessionsStats = program
    .command('sessions')
    .description('session store figures')
    .command('stats')
    .description('cluster-wide session TTL statistics (GET /admin/sessions/stats)')
    .requiredOption('--node <addr>', 'HOST:PORT of any node')
    .option('--json', 'print the /admin/sessions/stats JSON')
    .action((o: AdminFlags & { json?: boolean }) => runSessionsStats(o));
  addAdminOptions(sessionsStats);

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
