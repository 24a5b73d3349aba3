/**
 * Which of a key's replicas the client sends a request to. Any replica of a
 * key coordinates it equally well (each applies the write locally and asks
 * the others), so within one event-loop turn the client sends every request
 * it can to one node, the turn's node, and the next turn to the next one:
 * a turn's requests then leave in one frame and their replies come back in
 * one, where routing each key to its owner spread them over every node,
 * one frame to and from each per turn (docs/benchmarks.md, "Fourth pass").
 * A key the turn's node does not replicate goes to its first usable replica,
 * as before. Over many turns every node takes the same share.
 */
export class TurnAffinity<C> {
  private current: C | null = null;
  private rotation = 0;
  private clearScheduled = false;

  /** The replica, among `eligible` (a key's usable replicas, best first; not empty), for this turn. */
  choose(eligible: readonly C[]): C {
    const current = this.current;
    if (current !== null) return eligible.includes(current) ? current : eligible[0]!;
    const chosen = eligible[this.rotation++ % eligible.length]!;
    this.current = chosen;
    if (!this.clearScheduled) {
      this.clearScheduled = true;
      setImmediate(this.endTurn);
    }
    return chosen;
  }

  private readonly endTurn = (): void => {
    this.current = null;
    this.clearScheduled = false;
  };
}
