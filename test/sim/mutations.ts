/**
 * Deliberately injected bugs (mutation testing of the simulator, the
 * acceptance test of issue 4): each one breaks a promise the replication
 * protocol makes, from outside src/ (a wrapped port, a patched instance, a
 * changed restart), so the simulator must report violations for it within
 * the default seed count while the unmutated code reports none.
 */
import type { NodeConfig } from '../../src/core/config';
import type { NodeId } from '../../src/core/ids';
import type { Random } from '../../src/core/prng';
import type { Hint, RecordMeta, Storage } from '../../src/core/storage-port';
import type { StoredObject } from '../../src/crdt/stored-object';
import type { Coordinator } from '../../src/replication/coordinator';
import type { PeerMsg } from '../../src/replication/peer-message';
import type { MemoryStorage } from '../../src/storage/memory-storage';
import type { RequestInterceptor } from './sim-network';

export const MUTATION_NAMES = [
  'none',
  'ack-before-commit',
  'drop-hints-on-restart',
  'ack-without-deliver',
  'no-read-repair',
  'reuse-epoch',
  'read-before-write',
  'reap-unconfirmed',
] as const;

export type MutationName = (typeof MUTATION_NAMES)[number];

export const MUTATION_DESCRIPTIONS: Record<MutationName, string> = {
  none: 'the protocol as written',
  'ack-before-commit': 'storage put() resolves before its group commit, so a replica acknowledges writes a crash then loses',
  'drop-hints-on-restart': 'a restarted node forgets the hints it held for unreachable owners',
  'ack-without-deliver': 'half of all put requests are answered put-ok by the sender\'s network without being delivered',
  'no-read-repair': 'coordinators never write merged versions back to stale replicas',
  'reuse-epoch': 'a restarted node keeps its id epoch, so it can mint a dot it minted before the crash (Riak kv679)',
  'read-before-write': 'a cart or session write first reads the key at R, strictly, and fails when R replicas do not answer (the refusal of issue 13)',
  'reap-unconfirmed': 'tombstones are reaped a grace after the delete without asking the other replicas (tomb-check answered "covered" unsent), and reaped contexts are not remembered',
};

export function isMutationName(s: string): s is MutationName {
  return (MUTATION_NAMES as readonly string[]).includes(s);
}

/** How one mutation changes a simulated node; the identity for 'none'. */
export interface Mutation {
  readonly name: MutationName;
  /** The storage port the node's replica and handoff use. */
  wrapStorage(storage: MemoryStorage<StoredObject>, onSwallowed: (err: unknown) => void): Storage<StoredObject>;
  /** Runs on the recovered storage before a restarted node is built. */
  onRestart(storage: MemoryStorage<StoredObject>): Promise<void>;
  /** The id epoch a restarting node takes, given the one it persisted. */
  nextEpoch(persisted: number): number;
  /** A network interceptor for one node, or null. */
  interceptor(random: Random): RequestInterceptor | null;
  patchCoordinator(coordinator: Coordinator): void;
  /** The node configuration the run uses. */
  config(config: NodeConfig): NodeConfig;
}

export function mutation(name: MutationName): Mutation {
  return {
    name,
    wrapStorage: (storage, onSwallowed) => (name === 'ack-before-commit' ? new EarlyAckStorage(storage, onSwallowed) : storage),
    onRestart: async (storage) => {
      if (name !== 'drop-hints-on-restart') return;
      await storage.removeHints(storage.hints().map((h) => h.id));
    },
    nextEpoch: (persisted) => (name === 'reuse-epoch' && persisted > 0 ? persisted : persisted + 1),
    interceptor: (random) => {
      if (name === 'reap-unconfirmed') {
        return (_from: NodeId, _to: NodeId, msg: PeerMsg) =>
          (msg.type === 'tomb-check' ? { type: 'tomb-check-ok', covered: msg.keys.map(() => true) } : null);
      }
      if (name !== 'ack-without-deliver') return null;
      return (_from: NodeId, _to: NodeId, msg: PeerMsg) => (msg.type === 'put' && random.next() < 0.5 ? { type: 'put-ok' } : null);
    },
    // A memory window below zero forgets every reaped context at once (replica.ts reapedContext).
    config: (config) => (name === 'reap-unconfirmed' ? { ...config, tombstoneReapedMemoryMs: -1 } : config),
    patchCoordinator: (coordinator) => {
      if (name === 'read-before-write') {
        const run = coordinator.run.bind(coordinator);
        coordinator.run = async (key, op, opts = {}, opId) => {
          if (op.op === 'cart' || op.op.startsWith('session-')) await run(key, { op: 'get' }, { ...opts, strict: true });
          return run(key, op, opts, opId);
        };
        return;
      }
      if (name !== 'no-read-repair') return;
      // Coordinator.repair is private; replacing it on the instance is the
      // least invasive way to switch read repair off without editing src/.
      (coordinator as unknown as { repair: () => void }).repair = () => undefined;
    },
  };
}

/** A storage port whose put() resolves at once instead of at its commit. */
class EarlyAckStorage implements Storage<StoredObject> {
  constructor(
    private readonly inner: MemoryStorage<StoredObject>,
    private readonly onSwallowed: (err: unknown) => void,
  ) {}

  get(key: string): StoredObject | undefined { return this.inner.get(key); }
  metaOf(key: string): RecordMeta | undefined { return this.inner.metaOf(key); }
  put(key: string, value: StoredObject, meta: RecordMeta): Promise<void> {
    // The bug: the commit's outcome is ignored (counted, since a crash makes it fail).
    this.inner.put(key, value, meta).catch(this.onSwallowed);
    return Promise.resolve();
  }
  remove(key: string): Promise<void> { return this.inner.remove(key); }
  size(): number { return this.inner.size(); }
  keys(): IterableIterator<string> { return this.inner.keys(); }
  keysInPartition(partition: Parameters<Storage<StoredObject>['keysInPartition']>[0]): Iterable<string> {
    return this.inner.keysInPartition(partition);
  }
  addHint(target: NodeId, key: string, value: StoredObject, partition: Parameters<Storage<StoredObject>['addHint']>[3]): Promise<number> {
    return this.inner.addHint(target, key, value, partition);
  }
  hints(target?: NodeId, limit?: number): Hint<StoredObject>[] { return this.inner.hints(target, limit); }
  hintCount(): number { return this.inner.hintCount(); }
  removeHints(ids: readonly number[]): Promise<void> { return this.inner.removeHints(ids); }
  getMeta(name: string): string | undefined { return this.inner.getMeta(name); }
  setMeta(name: string, value: string): Promise<void> { return this.inner.setMeta(name, value); }
  close(): Promise<void> { return this.inner.close(); }
}
