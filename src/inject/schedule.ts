/**
 * When each message is due, in an open model: the rate follows the stages (linear from one
 * target to the next, as k6's ramping-arrival-rate does), independent of how fast the server
 * answers. Message i (from 0) is due once the cumulative count exceeds i, and is planned at the
 * instant it reaches i; a stage at rate 0 plans nothing.
 */
import { UsageError } from '../errors.js';
import { parseDuration } from '../options.js';

export interface Stage {
  durationMs: number;
  /** Rate (msgs/s) reached at the end of the stage. */
  rate: number;
}

interface Segment {
  startMs: number;
  durationMs: number;
  fromRate: number;
  toRate: number;
  /** Cumulative (fractional) count at the start of the segment. */
  startCount: number;
}

export class ArrivalSchedule {
  private readonly segments: Segment[] = [];
  /** Messages in the whole schedule (Infinity without an end). */
  readonly total: number;
  readonly durationMs: number;

  /** `stages` start from `startRate`; an open-ended constant rate is one stage of Infinity ms. */
  constructor(stages: readonly Stage[], startRate: number, maxCount = Number.POSITIVE_INFINITY) {
    let at = 0;
    let count = 0;
    let rate = startRate;
    for (const stage of stages) {
      this.segments.push({ startMs: at, durationMs: stage.durationMs, fromRate: rate, toRate: stage.rate, startCount: count });
      count += ((rate + stage.rate) / 2) * (stage.durationMs / 1000);
      at += stage.durationMs;
      rate = stage.rate;
    }
    this.durationMs = at;
    const scheduled = Number.isFinite(count) ? Math.ceil(count - 1e-9) : Number.POSITIVE_INFINITY;
    this.total = Math.min(scheduled, maxCount);
  }

  static constant(rate: number, durationMs = Number.POSITIVE_INFINITY, maxCount?: number): ArrivalSchedule {
    return new ArrivalSchedule([{ durationMs, rate }], rate, maxCount);
  }

  /** Target rate at `ms` after the start. */
  rateAt(ms: number): number {
    const s = this.segmentAt(ms);
    if (!s) return 0;
    if (!Number.isFinite(s.durationMs)) return s.fromRate;
    return s.fromRate + ((s.toRate - s.fromRate) * (ms - s.startMs)) / s.durationMs;
  }

  /** Fractional messages scheduled in [0, ms]. */
  cumulative(ms: number): number {
    const s = this.segmentAt(ms);
    if (!s) return this.segments.length ? this.endCount(this.segments[this.segments.length - 1]!) : 0;
    const tau = (ms - s.startMs) / 1000;
    if (!Number.isFinite(s.durationMs) || s.fromRate === s.toRate) return s.startCount + s.fromRate * tau;
    return s.startCount + s.fromRate * tau + ((s.toRate - s.fromRate) * tau * tau) / (2 * (s.durationMs / 1000));
  }

  /** How many messages are due by `ms` (messages 0 … n−1). */
  dueBy(ms: number): number {
    if (ms <= 0) return 0;
    return Math.min(this.total, Math.max(0, Math.ceil(this.cumulative(ms) - 1e-9)));
  }

  /** When message `i` is due, in ms from the start. */
  plannedMs(i: number): number {
    for (const s of this.segments) {
      const end = this.endCount(s);
      if (i >= end - 1e-9 && Number.isFinite(s.durationMs)) continue;
      const n = i - s.startCount;
      const T = s.durationMs / 1000;
      if (!Number.isFinite(s.durationMs) || s.fromRate === s.toRate) return s.startMs + (s.fromRate > 0 ? (n / s.fromRate) * 1000 : 0);
      const a = (s.toRate - s.fromRate) / (2 * T);
      const tau = (-s.fromRate + Math.sqrt(Math.max(0, s.fromRate * s.fromRate + 4 * a * n))) / (2 * a);
      return s.startMs + Math.min(T, Math.max(0, tau)) * 1000;
    }
    return this.durationMs;
  }

  /**
   * When the schedule ends, in ms from the start: the end of its stages, or earlier when a count
   * cuts it short, at the instant the message after the last would have been due (so n messages
   * at a constant rate r span n / r seconds); Infinity when it has no end.
   */
  endMs(): number {
    if (!Number.isFinite(this.total)) return this.durationMs;
    return Math.min(this.durationMs, this.plannedMs(this.total));
  }

  /**
   * The schedule's mean rate (msgs/s) over [0, `untilMs`], cut at its end: the messages it plans
   * in that span (the area under the rate, fractional) over the span. Never above the peak.
   */
  meanRate(untilMs = Number.POSITIVE_INFINITY): number {
    const end = Math.min(untilMs, this.endMs());
    if (!(end > 0) || !Number.isFinite(end)) return this.rateAt(0);
    return Math.min(this.cumulative(end), this.total) / (end / 1000);
  }

  /** The highest rate any stage reaches. */
  peakRate(): number {
    return Math.max(0, ...this.segments.flatMap((s) => [s.fromRate, s.toRate]));
  }

  private endCount(s: Segment): number {
    if (!Number.isFinite(s.durationMs)) return Number.POSITIVE_INFINITY;
    return s.startCount + ((s.fromRate + s.toRate) / 2) * (s.durationMs / 1000);
  }

  private segmentAt(ms: number): Segment | undefined {
    for (const s of this.segments) if (ms < s.startMs + s.durationMs) return s;
    return undefined;
  }
}

/** `30s:1000,2m:20000,30s:0` → stages; the durations are read by `parseDuration`. */
export function parseStages(text: string): Stage[] {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new UsageError(`--stages: no stage in "${text}" (e.g. 30s:1000,2m:20000,30s:0)`);
  return parts.map((part) => {
    const [duration, rate, extra] = part.split(':');
    const value = Number(rate);
    if (duration === undefined || rate === undefined || extra !== undefined || rate.trim() === '' || !Number.isFinite(value) || value < 0) {
      throw new UsageError(`--stages: cannot read the stage "${part}" (expected <duration>:<rate>, e.g. 2m:20000)`);
    }
    return { durationMs: parseDuration(duration, `--stages "${part}"`), rate: value };
  });
}
