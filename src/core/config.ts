/**
 * Every tunable of a node with its default, in one place (STYLE.md 8).
 * Units are the last word of each name. docs/operations.md lists them.
 */
export interface QuorumConfig {
  /** Replicas per key. */
  n: number;
  /** Replies a read waits for. */
  r: number;
  /** Durable acknowledgements a write waits for. */
  w: number;
}

/**
 * Durable copies (on distinct nodes, hints included) a write needs to be
 * accepted when W acknowledgements cannot be had: W is the target, this the
 * floor (DESIGN.md Never says no). Equal to W: a write short of W fails (503).
 */
export const DEFAULT_MIN_ACKS = 1;

export interface Limits {
  /** Largest key, in UTF-8 bytes. */
  keyBytesMax: number;
  /** Largest value (opaque body, cart or session state), in bytes. */
  valueBytesMax: number;
  /** Largest peer frame accepted from the wire (ws maxPayload). */
  frameBytesMax: number;
  /** Largest HTTP request body. */
  httpBodyBytesMax: number;
  /** Siblings of one opaque key above which a write is logged at warn (Riak's warning threshold, 25). */
  siblingsWarn: number;
  /** Siblings a write may leave on one opaque key; beyond it the write fails with RS_ERR_TOO_MANY_SIBLINGS, 409 (Riak's max_siblings, 100). */
  siblingsMax: number;
  /** Identified incoming peer links one peer may hold; a newer one closes the oldest (docs/security.md). */
  peerLinksPerPeerMax: number;
  /** Peer links from one IP address in their handshake at once; more are refused with HTTP 429. */
  peerHandshakesPerAddressMax: number;
  /** HTTP requests (and WebSocket upgrades) per second per client address, a token bucket; 0 turns the limit off. */
  httpRequestsPerSecondMax: number;
  /** Size of that bucket: requests an idle client may send at once (0: one second's worth). */
  httpRequestsBurstMax: number;
}

export interface NodeConfig extends QuorumConfig {
  /** Q: fixed number of equal ring partitions (Dynamo strategy 3). */
  partitions: number;
  /** Durable copies a write short of W still needs to be accepted, degraded (DEFAULT_MIN_ACKS). */
  minAcks: number;
  /** How long a coordinator waits for replicas before counting them as failed. */
  requestTimeoutMs: number;
  /** How often pending hints are offered to their owners. */
  hintRetryIntervalMs: number;
  /** Hints handed off per batch. */
  hintBatchMax: number;
  /** How often membership is exchanged with peers; also the expected heartbeat interval (docs/membership.md). */
  gossipIntervalMs: number;
  /** Random peers each node gossips with per round (plus unresolved seeds and, sometimes, one down member). */
  gossipFanout: number;
  /** phi at which a silent member becomes suspect (phi accrual; 8 as in Akka and Cassandra). */
  phiSuspect: number;
  /** Heartbeat silence beyond the usual that is not yet suspicious (added to the mean interval). */
  heartbeatPauseMs: number;
  /** How long a member stays suspect before it is marked down. */
  downAfterMs: number;
  /** How often the partition handoff service looks for work (docs/membership.md). */
  handoffIntervalMs: number;
  /** Keys one handoff batch sends (as 'put' messages) before waiting for their acknowledgements. */
  handoffBatchKeys: number;
  /** Partition streams (partition, target) a node runs at once. */
  handoffStreamsMax: number;
  /** Rows per group-commit transaction. */
  commitBatchMax: number;
  /** How often each replica sweeps expired sessions (docs/sessions-ttl.md). */
  sweepIntervalMs: number;
  /** Records a sweep removes per batch before it yields to the event loop. */
  sweepBatchMax: number;
  /** Requests one client WebSocket (/client) may have in flight; more are refused with RS_ERR_OVERLOADED. */
  clientInflightMax: number;
  /** Most keys one page of a client `scan` returns. */
  scanPageMax: number;
  /**
   * How often a node runs one anti-entropy exchange: one partition it
   * replicates, with one other replica of it (docs/anti-entropy.md). 0 turns
   * anti-entropy off. A node cycles through its (partition, peer) pairs, so a
   * divergence is found within pairs x this interval at worst.
   */
  antiEntropyIntervalMs: number;
  /** Children per inner node of the per-partition hash trees (a power of two). */
  antiEntropyTreeFanout: number;
  /** Levels below the root; fanout ** depth leaf segments per partition. */
  antiEntropyTreeDepth: number;
  /** Age after which a partition's tree is rebuilt from storage (catches changes that bypassed the replica). */
  antiEntropyTreeRebuildMs: number;
  /** Differing keys one exchange repairs at most; the rest wait for the next exchange of that partition. */
  antiEntropyKeysMax: number;
  /**
   * Grace between "every primary holds this delete's tombstone" and dropping
   * it (docs/operations.md, Tombstones; Riak's delete_mode, 3000 ms).
   * `--tombstone-grace-s` on the command line.
   */
  tombstoneGraceMs: number;
  /** How often each replica's tombstone reaper looks at the tombstones it holds (0: never reap). */
  tombstoneReapIntervalMs: number;
  /** Tombstones one reaper pass asks the other primaries about, at most. */
  tombstoneReapBatchMax: number;
  /**
   * How long a replica remembers the context of a tombstone it reaped and
   * refuses every copy that context dominates (a late hint, a handoff from an
   * old owner). Must exceed how long a hint can stay undelivered.
   */
  tombstoneReapedMemoryMs: number;
  /** Reaped contexts remembered at most (the oldest are forgotten first). */
  tombstoneReapedMemoryMax: number;
  limits: Limits;
}

export const DEFAULT_LIMITS: Limits = {
  keyBytesMax: 1024,
  valueBytesMax: 1024 * 1024,
  frameBytesMax: 64 * 1024 * 1024,
  httpBodyBytesMax: 2 * 1024 * 1024,
  siblingsWarn: 25,
  siblingsMax: 100,
  peerLinksPerPeerMax: 4,
  peerHandshakesPerAddressMax: 16,
  // Off by default: behind a proxy every client shares one address, and
  // benchmarks must not be throttled. docs/security.md suggests values.
  httpRequestsPerSecondMax: 0,
  httpRequestsBurstMax: 0,
};

export const DEFAULT_CONFIG: NodeConfig = {
  n: 3,
  r: 2,
  w: 2,
  partitions: 256,
  minAcks: DEFAULT_MIN_ACKS,
  requestTimeoutMs: 2000,
  hintRetryIntervalMs: 1000,
  hintBatchMax: 200,
  gossipIntervalMs: 1000,
  gossipFanout: 3,
  phiSuspect: 8,
  heartbeatPauseMs: 1000,
  downAfterMs: 3000,
  handoffIntervalMs: 1000,
  handoffBatchKeys: 256,
  handoffStreamsMax: 4,
  commitBatchMax: 2000,
  sweepIntervalMs: 1000,
  sweepBatchMax: 500,
  clientInflightMax: 4096,
  scanPageMax: 1000,
  antiEntropyIntervalMs: 1000,
  antiEntropyTreeFanout: 16,
  antiEntropyTreeDepth: 3,
  antiEntropyTreeRebuildMs: 60 * 60 * 1000,
  antiEntropyKeysMax: 10_000,
  tombstoneGraceMs: 3000,
  tombstoneReapIntervalMs: 1000,
  tombstoneReapBatchMax: 500,
  tombstoneReapedMemoryMs: 24 * 60 * 60 * 1000,
  tombstoneReapedMemoryMax: 100_000,
  limits: DEFAULT_LIMITS,
};
