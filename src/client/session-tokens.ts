/**
 * What a client last saw of each session it used, so that sending a turn's
 * requests to any replica (turn-affinity.ts) keeps the guarantees routing
 * each key to one node gave for free: a client's next save is stamped after
 * its last one (the stamp goes out as `opts.after`), and it reads its own
 * writes (a read answered with an older state is asked again of the node
 * that took the write). Bounded: the entries first used longest ago go first.
 */
export interface SessionToken<C> {
  /** The highest field stamp seen of the session. */
  stamp: number;
  /** The node that answered with it. */
  node: C;
  /** The client destroyed the session: a read that still shows it is stale. */
  destroyed: boolean;
}

export class SessionTokens<C> {
  private readonly tokens = new Map<string, SessionToken<C>>();

  constructor(private readonly max: number) {}

  get(key: string): SessionToken<C> | undefined {
    return this.tokens.get(key);
  }

  /**
   * A reply from `node` showed the session at `stamp` (destroyed: it
   * answered this client's destroy). An older answer changes nothing; only a
   * later write lifts a destroy.
   */
  note(key: string, stamp: number, node: C, destroyed = false): void {
    const known = this.tokens.get(key);
    if (known === undefined) {
      this.tokens.set(key, { stamp, node, destroyed });
      if (this.tokens.size > this.max) this.tokens.delete(this.tokens.keys().next().value as string);
      return;
    }
    if (!destroyed && (known.destroyed ? stamp <= known.stamp : stamp < known.stamp)) return;
    // In place: eviction goes by first use, which is enough for a bound.
    known.stamp = Math.max(stamp, known.stamp);
    known.node = node;
    known.destroyed = destroyed;
  }

  /**
   * Whether a read answered with (stamp, live) is older than what this client
   * last did to the session: it then asks the token's node again.
   */
  isStale(token: SessionToken<C>, stamp: number, live: boolean): boolean {
    return token.destroyed ? live : stamp < token.stamp;
  }
}
