/**
 * When each message is due, in an open model: the rate follows the stages (linear from one
 * target to the next, as k6's ramping-arrival-rate does), independent of how fast the server
 * answers. Message i (from 0) is due once the cumulative count exceeds i, and is planned at the
 * instant it reaches i; a stage at rate 0 plans nothing.
 */
import { UsageError } from '../errors.js';
import { parseDuration } from '../parsers.js';

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

/** What the scheduler reads of a schedule: an ArrivalSchedule, or a worker's share of one. */
export interface Schedule {
  /** Messages in the whole schedule (Infinity without an end). */
  readonly total: number;
  readonly durationMs: number;
  rateAt(ms: number): number;
  dueBy(ms: number): number;
  plannedMs(i: number): number;
  endMs(): number;
  meanRate(untilMs?: number): number;
  peakRate(): number;
}

export class ArrivalSchedule implements Schedule {
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

/** How many of the first `count` messages of a sequence of `cycle`-long cycles are at positions [from, to) (Infinity stays Infinity). */
export function shareCount(count: number, cycle: number, from: number, to: number): number {
  if (!Number.isFinite(count)) return count;
  const cycles = Math.floor(count / cycle);
  return cycles * (to - from) + Math.min(to - from, Math.max(0, count - cycles * cycle - from));
}

/**
 * A worker's share of a schedule: the messages at positions [from, to) of every cycle of
 * `cycle` messages (a cycle: a temperature, a forecast, a voltage per point), each at the time
 * the whole schedule plans it. Message j of the share is message
 * ⌊j / (to − from)⌋ · cycle + from + j mod (to − from) of the whole. The shares of a partition of
 * the cycle send, together, exactly the whole schedule's messages at its times. The span (endMs,
 * durationMs) is the whole's; rates are the whole's scaled by the share of the cycle.
 */
export class ScheduleShare implements Schedule {
  readonly total: number;
  readonly durationMs: number;
  private readonly whole: Schedule;
  private readonly cycle: number;
  private readonly from: number;
  private readonly size: number;

  constructor(whole: Schedule, cycle: number, from: number, to: number) {
    if (!(Number.isInteger(cycle) && Number.isInteger(from) && Number.isInteger(to) && from >= 0 && to > from && to <= cycle)) {
      throw new RangeError(`share ${from}–${to} is not within a cycle of ${cycle}`);
    }
    this.whole = whole;
    this.cycle = cycle;
    this.from = from;
    this.size = to - from;
    this.total = this.ownCount(whole.total);
    this.durationMs = whole.durationMs;
  }

  /** How many of the whole's first `count` messages are the share's (Infinity stays Infinity). */
  ownCount(count: number): number {
    return shareCount(count, this.cycle, this.from, this.from + this.size);
  }

  /** The index in the whole of the share's message `j`. */
  wholeIndex(j: number): number {
    const cycles = Math.floor(j / this.size);
    return cycles * this.cycle + this.from + (j - cycles * this.size);
  }

  rateAt(ms: number): number {
    return (this.whole.rateAt(ms) * this.size) / this.cycle;
  }

  dueBy(ms: number): number {
    return this.ownCount(this.whole.dueBy(ms));
  }

  plannedMs(j: number): number {
    return this.whole.plannedMs(this.wholeIndex(j));
  }

  endMs(): number {
    return this.whole.endMs();
  }

  meanRate(untilMs?: number): number {
    return (this.whole.meanRate(untilMs) * this.size) / this.cycle;
  }

  peakRate(): number {
    return (this.whole.peakRate() * this.size) / this.cycle;
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
