/**
 * The node's `sqliteSynchronous` option (`--sqlite-sync`) reaches the SQLite
 * connection the node commits on, and /admin/status says which one it is.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Database } from 'sqlite3';
import { BadRequestError } from '../../src/core/errors';
import { createLogger } from '../../src/node/logger';
import { RingstoreNode, type NodeOptions } from '../../src/node/ringstore-node';
import { all } from '../../src/storage/sqlite-async';
import { freePorts } from '../cluster/process-cluster';

describe('node: SQLite synchronous level (--sqlite-sync)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ringstore-sqlite-sync-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  async function startNode(id: string, level: NodeOptions['sqliteSynchronous']): Promise<RingstoreNode> {
    const [port] = await freePorts(1);
    return RingstoreNode.start({
      id, host: '127.0.0.1', port: port!, dataDir: path.join(root, id), logger: createLogger({ level: 'silent' }),
      config: { n: 1, r: 1, w: 1 }, ...(level !== undefined ? { sqliteSynchronous: level } : {}),
    });
  }

  /** PRAGMA synchronous on the node's own connection (the level is per connection, not stored in the file): 2 FULL, 1 NORMAL. */
  async function pragmaOf(node: RingstoreNode): Promise<number> {
    const db = (node.storage as unknown as { db: Database }).db;
    const rows = await all<{ synchronous: number }>(db, 'PRAGMA synchronous');
    return rows[0]!.synchronous;
  }

  for (const [level, code] of [[undefined, 2], ['FULL', 2], ['NORMAL', 1]] as const) {
    it(`opens its database with synchronous=${level ?? 'FULL (default)'} and reports it`, async () => {
      const node = await startNode(`n-${level ?? 'default'}`, level);
      try {
        assert.equal(await pragmaOf(node), code);
        const status = (await (await fetch(`http://${node.addr}/admin/status`)).json()) as { durability: { sqliteSynchronous: string } };
        assert.equal(status.durability.sqliteSynchronous, level ?? 'FULL');
      } finally {
        await node.close();
      }
    });
  }

  it('refuses a level it does not know, before opening anything', async () => {
    await assert.rejects(startNode('n-bad', 'OFF' as NodeOptions['sqliteSynchronous']), BadRequestError);
    assert.equal(fs.existsSync(path.join(root, 'n-bad')), false);
  });
});
