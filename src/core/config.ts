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

export interface Limits {
  /** Largest key, in UTF-8 bytes. */
  keyBytesMax: number;
  /** Largest value (opaque body, cart or session state), in bytes. */
  valueBytesMax: number;
  /** Largest peer frame accepted from the wire (ws maxPayload). */
  frameBytesMax: number;
  /** Largest HTTP request body. */
  httpBodyBytesMax: number;
}

export interface NodeConfig extends QuorumConfig {
  /** Q: fixed number of equal ring partitions (Dynamo strategy 3). */
  partitions: number;
  /** How long a coordinator waits for replicas before counting them as failed. */
  requestTimeoutMs: number;
  /** How often pending hints are offered to their owners. */
  hintRetryIntervalMs: number;
  /** Hints handed off per batch. */
  hintBatchMax: number;
  /** How often membership is exchanged with peers. */
  gossipIntervalMs: number;
  /** Rows per group-commit transaction. */
  commitBatchMax: number;
  limits: Limits;
}

export const DEFAULT_LIMITS: Limits = {
  keyBytesMax: 1024,
  valueBytesMax: 1024 * 1024,
  frameBytesMax: 64 * 1024 * 1024,
  httpBodyBytesMax: 2 * 1024 * 1024,
};

export const DEFAULT_CONFIG: NodeConfig = {
  n: 3,
  r: 2,
  w: 2,
  partitions: 256,
  requestTimeoutMs: 2000,
  hintRetryIntervalMs: 1000,
  hintBatchMax: 200,
  gossipIntervalMs: 1000,
  commitBatchMax: 2000,
  limits: DEFAULT_LIMITS,
};
