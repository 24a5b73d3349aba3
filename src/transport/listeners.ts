/**
 * The callbacks registered for one network event (onPeerUp, onPeerDown,
 * onHello). One that throws is logged and does not keep the others from
 * running, nor the network from finishing what it was doing.
 */
import type { NodeId } from '../core/ids';
import type { Logger } from './logger';

export class Listeners<T> {
  private readonly cbs: ((value: T) => void)[] = [];

  /** `what` names the event in the log line of a listener that threw. */
  constructor(private readonly log: Logger, private readonly what: string) {}

  add(cb: (value: T) => void): void {
    this.cbs.push(cb);
  }

  /** Call every listener with `value`, about `peer`. */
  emit(value: T, peer: NodeId): void {
    for (const cb of this.cbs) {
      try {
        cb(value);
      } catch (err) {
        this.log.error({ peer, err: (err as Error).message }, `${this.what} listener threw`);
      }
    }
  }
}
