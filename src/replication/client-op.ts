/**
 * What a client asks a coordinator to do, as plain data: the HTTP API and the
 * client WebSocket API parse requests into a ClientOp, and a node that is not
 * a replica of the key forwards the same ClientOp to one that is.
 */
import type { VersionVector } from '../clock/version-vector';

export type Consistency = 'global' | 'local';

export interface RequestOptions {
  r?: number;
  w?: number;
  consistency?: Consistency;
  /** Refuse (503) instead of degrading: a write needs W acknowledgements and a read R answers. */
  strict?: boolean;
  /**
   * Session writes: the highest stamp the caller has seen of this session
   * (the `stamp` of its last reply), which the coordinator's clock observes
   * before it stamps the write, so a client's next save wins over its last
   * whichever replica coordinates it.
   */
  after?: number;
}

/**
 * What a coordinator did: the key's value as it sees it afterwards, and how
 * many of the wanted acknowledgements (writes) or answers (reads) it got.
 * `got < wanted` is a degraded result (DESIGN.md Never says no).
 */
export interface Outcome<T> {
  readonly obj: T;
  readonly got: number;
  readonly wanted: number;
}

export type ClientOp =
  | { readonly op: 'get' }
  | { readonly op: 'put'; readonly ct: string; readonly body: Uint8Array; readonly context: VersionVector }
  | { readonly op: 'delete'; readonly context: VersionVector | null }
  | { readonly op: 'cart'; readonly action: 'add' | 'remove' | 'set'; readonly item: string; readonly qty: number }
  | {
      readonly op: 'session-write';
      readonly set: Readonly<Record<string, unknown>>;
      readonly del: readonly string[];
      readonly expiresAtMs: number;
    }
  | { readonly op: 'session-touch'; readonly expiresAtMs: number }
  | { readonly op: 'session-destroy' };

export type ClientOpName = ClientOp['op'];

/**
 * Writes that mint a dot need a replica's own causal history (see
 * coordinator.ts): opaque writes, and cart adds and sets (a remove mints none).
 */
export function needsReplicaCoordinator(op: ClientOp): boolean {
  return op.op === 'put' || op.op === 'delete' || (op.op === 'cart' && op.action !== 'remove');
}
