/**
 * Group-commit counters both storage engines report (DESIGN.md
 * "Durability"): the node exports them as metrics, and tests use them to
 * show that many writes share few transactions.
 */
export interface StorageStats {
  /** Transactions committed. */
  commits: number;
  /** Rows written or deleted by committed transactions, after coalescing. */
  rowsWritten: number;
  /** Rows queued or being committed, not yet durable. */
  pendingOps: number;
  /** Transactions that failed and were rolled back (their writers got StorageError). */
  failedCommits: number;
}
