/**
 * A dot: one event, named by the actor that minted it and that actor's
 * counter (Preguiça et al., "Dotted Version Vectors", 2010). Each actor's
 * dots are minted by one node in sequence, so a dot names exactly one write.
 */
import type { ActorId } from '../core/ids';

export type Dot = readonly [actor: ActorId, counter: number];

/**
 * Total order on dots: by actor (UTF-16 code unit order), then counter. Only
 * used to keep sibling lists in one canonical order, never as causality.
 */
export function compareDots(a: Dot, b: Dot): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] - b[1];
}

export function dotsEqual(a: Dot, b: Dot): boolean {
  return a[0] === b[0] && a[1] === b[1];
}
