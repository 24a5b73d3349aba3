/** `ringstore node --sqlite-sync full|normal`: what the flag accepts and what it turns into. */
import { strict as assert } from 'node:assert';
import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/main';
import { parseSqliteSync } from '../../src/cli/node-command';

/**
 * Parses `ringstore node --id n1 ... ARGS` and returns the options the node
 * command would be run with, without running it; a usage error (which
 * commander would print before exiting) is thrown instead.
 */
async function nodeOptions(args: string[]): Promise<Record<string, unknown>> {
  const program = buildProgram();
  const node = program.commands.find((c) => c.name() === 'node')!;
  let seen: Record<string, unknown> | null = null;
  node.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  node.action((o: Record<string, unknown>) => { seen = o; });
  await program.parseAsync(['node', '--id', 'n1', '--port', '7000', '--data', '/nonexistent', ...args], { from: 'user' });
  assert.ok(seen, 'the node action ran');
  return seen;
}

describe('cli: ringstore node --sqlite-sync', () => {
  it('maps full and normal (any case) to the SQLite synchronous level', () => {
    assert.equal(parseSqliteSync('full'), 'FULL');
    assert.equal(parseSqliteSync('normal'), 'NORMAL');
    assert.equal(parseSqliteSync('Normal'), 'NORMAL');
  });

  it('refuses any other level, naming the ones it takes', () => {
    for (const bad of ['off', 'extra', '', '1', 'fsync']) {
      assert.throws(() => parseSqliteSync(bad), /--sqlite-sync must be full or normal/, bad);
    }
  });

  it('is a usage error on the command line, before a node starts', async () => {
    await assert.rejects(nodeOptions(['--sqlite-sync', 'off']), (err: unknown) =>
      err instanceof CommanderError && err.code === 'commander.invalidArgument' && /full or normal/.test(err.message));
  });

  it('defaults to full and hands the level given to the node command', async () => {
    assert.equal((await nodeOptions([])).sqliteSync, 'full');
    assert.equal((await nodeOptions(['--sqlite-sync', 'NORMAL'])).sqliteSync, 'normal');
  });
});
