/**
 * The phi accrual failure detector (Hayashibara, Défago, Yared, Katayama,
 * "The phi accrual failure detector", SRDS 2004), in the form Akka uses:
 * inter-arrival times of a member's heartbeats are kept in a bounded window,
 * modelled as a normal distribution, and
 *
 *     phi(t) = -log10(P(the next heartbeat arrives later than t))
 *
 * where t is the time since the last heartbeat. phi = 8 means the silence
 * would be this long once in 10^8 heartbeats if the member were alive. Unlike
 * a fixed timeout, the threshold adapts to how regularly heartbeats really
 * arrive (gossip relays them with jitter).
 *
 * Two knobs from Akka keep it sane: an acceptable pause added to the mean
 * (GC, a busy event loop, a slow relay), and a floor on the standard
 * deviation so perfectly regular heartbeats do not make a few ms of lateness
 * look fatal. Samples are clamped to `sampleMaxMs` so one long gap cannot
 * inflate the window without bound; that is what bounds detection time
 * (see suspectBoundMs).
 *
 * Pure: the caller passes every time in; nothing here reads a clock.
 */
import { assert } from '../core/assert';

export interface PhiConfig {
  /** Inter-arrival samples kept (Akka's max-sample-size). */
  windowSize: number;
  /** The expected heartbeat interval, used before any sample exists. */
  firstIntervalMs: number;
  /** Floor of the standard deviation. */
  minStdDevMs: number;
  /** Heartbeat pause that is not yet suspicious (Akka's acceptable-heartbeat-pause). */
  pauseMs: number;
  /** Samples longer than this count as this long. */
  sampleMaxMs: number;
}

/** A bounded window of heartbeat inter-arrival times with running mean and variance. */
export class ArrivalWindow {
  private readonly samples: number[] = [];
  private nextSlot = 0;
  private sum = 0;
  private sumSquares = 0;

  constructor(private readonly cfg: PhiConfig) {
    assert(cfg.windowSize >= 2, 'phi window needs at least 2 samples');
    assert(cfg.firstIntervalMs > 0 && cfg.sampleMaxMs >= cfg.firstIntervalMs, 'phi intervals must be positive and sampleMaxMs >= firstIntervalMs');
    // Akka's bootstrap: two samples around the expected interval, so the
    // first real heartbeats are judged against a sensible guess.
    const sd = cfg.firstIntervalMs / 4;
    this.add(cfg.firstIntervalMs - sd);
    this.add(cfg.firstIntervalMs + sd);
  }

  add(intervalMs: number): void {
    const x = Math.min(Math.max(intervalMs, 0), this.cfg.sampleMaxMs);
    if (this.samples.length < this.cfg.windowSize) {
      this.samples.push(x);
    } else {
      const old = this.samples[this.nextSlot]!;
      this.sum -= old;
      this.sumSquares -= old * old;
      this.samples[this.nextSlot] = x;
      this.nextSlot = (this.nextSlot + 1) % this.cfg.windowSize;
    }
    this.sum += x;
    this.sumSquares += x * x;
  }

  size(): number {
    return this.samples.length;
  }

  meanMs(): number {
    return this.sum / this.samples.length;
  }

  stdDevMs(): number {
    const mean = this.meanMs();
    const variance = Math.max(0, this.sumSquares / this.samples.length - mean * mean);
    return Math.sqrt(variance);
  }

  /** phi after `silentMs` without a heartbeat. */
  phi(silentMs: number): number {
    return phiOf(silentMs, this.meanMs() + this.cfg.pauseMs, Math.max(this.stdDevMs(), this.cfg.minStdDevMs));
  }

  /** How long a silence this window tolerates before phi reaches `threshold`. */
  silenceBeforeMs(threshold: number): number {
    return this.meanMs() + this.cfg.pauseMs + deviationsFor(threshold) * Math.max(this.stdDevMs(), this.cfg.minStdDevMs);
  }
}

/**
 * phi for a normal distribution, with the logistic approximation of its
 * cumulative distribution that Akka uses (Bowling et al. 2009), which stays
 * finite and monotone far into the tail where 1 - CDF underflows.
 */
export function phiOf(silentMs: number, meanMs: number, stdDevMs: number): number {
  assert(stdDevMs > 0, 'phi needs a positive standard deviation');
  const y = (silentMs - meanMs) / stdDevMs;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  return silentMs > meanMs ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}

/** The number of standard deviations past the mean at which phi reaches `threshold`. */
export function deviationsFor(threshold: number): number {
  assert(threshold > 0 && Number.isFinite(threshold), 'phi threshold must be a positive number');
  let lo = -10;
  let hi = 40;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (phiOf(mid, 0, 1) < threshold) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The longest silence after which phi is sure to have reached `threshold`,
 * whatever the window holds: with every sample clamped to sampleMaxMs the
 * mean is at most sampleMaxMs and the deviation at most sampleMaxMs / 2.
 */
export function suspectBoundMs(cfg: PhiConfig, threshold: number): number {
  const sd = Math.max(cfg.sampleMaxMs / 2, cfg.minStdDevMs);
  return cfg.sampleMaxMs + cfg.pauseMs + deviationsFor(threshold) * sd;
}
