/**
 * One injection run: the open-model scheduler that hands generated messages to a sink at the
 * planned times, and the figures of the run (live snapshot, per-second samples, final report).
 *
 * Messages are due on a clock, not when the server answers: each tick sends every message due
 * by now (a batch, so high rates are exact). When the sink's window is full the scheduler falls
 * behind; the late sends are counted, and latencies are measured from the planned time, so
 * waiting is not hidden (no coordinated omission).
 */
import type { Histogram } from 'hdr-histogram-js';
import type { Schedule } from './schedule.js';
import type { MessageGenerator, MessageKind } from './generator.js';
import { simulatedEpoch, simulatedStart } from './clock.js';
import { summarise, type HistogramFactory, type LatencySummary } from './histogram.js';
import { sleep, totalLost, type LossReason, type Sink } from './sinks.js';

export interface InjectionPlan {
  /** The arrival schedule (or a worker's share of it), or 'max' to send flat-out. */
  schedule: Schedule | 'max';
  /** Flat-out: stop after this many messages / this long (either may be absent). */
  maxCount?: number;
  maxDurationMs?: number;
  /** Simulated epoch of the first message (reproducible runs); else from TIME_ROOT or the start. */
  simStart?: number;
  timeRoot?: number;
  /** A send later than this after its planned time missed its slot. */
  slackMs: number;
  /** Stop when sends stay later than the slack for a whole second. */
  abortOnMiss: boolean;
  /** Scheduler period. */
  tickMs: number;
  /** How long, after the last send, to wait for confirmations (and reconnection). */
  drainMs: number;
}

export interface Sample {
  /** Seconds since the start (end of this one-second interval). */
  second: number;
  target: number;
  published: number;
  confirmed: number;
  lost: number;
  errors: number;
  /** Latency percentiles of the acknowledgements received in this second (JetStream). */
  latency?: { p50: number; p99: number; max: number };
}

export interface Snapshot {
  elapsedSeconds: number;
  /** The schedule's rate now (Infinity flat-out). */
  targetRate: number;
  /** Publishes in the last second. */
  currentRate: number;
  /**
   * The run so far, as the summary will give it: its span (elapsed until the sends end, then the
   * run's span), the schedule's mean rate over it (Infinity flat-out) and the messages published
   * over it. Absent from snapshots not taken of a run.
   */
  run?: { seconds: number; targetRate: number; achievedRate: number };
  scheduled: number;
  published: number;
  confirmed: number;
  lost: number;
  errors: number;
  missedSlots: number;
  lagMs: number;
  /** Messages handed to the sink, by kind. */
  kinds: Record<MessageKind, number>;
  latency?: { p50: number; p99: number };
}

export interface InjectionReport {
  mode: 'core' | 'jetstream';
  /** The schedule's mean rate over the run's span (never above the peak). */
  targetRate: number | 'max';
  peakTargetRate?: number;
  /** Messages published over the run's span. */
  achievedRate: number;
  /**
   * The run's span: from the start to the end of the schedule (a duration, the stages, or the
   * instant a count's next message would have been due), or to the stop; later only when the
   * last sends of a count were late. Not the time from the first send to the last.
   */
  durationSeconds: number;
  /** After the last send: until everything was confirmed (or counted lost). */
  drainSeconds: number;
  scheduled: number;
  published: number;
  confirmed: number;
  lost: number;
  lostReasons: Record<LossReason, number>;
  errors: Record<string, number>;
  retried: number;
  duplicates: number;
  reconnects: number;
  kinds: Record<MessageKind, number>;
  missedSlots: number;
  maxLagMs: number;
  /** False when the target rate could not be held (see `rateHeld` in the README). */
  rateHeld: boolean;
  abortedOnMiss: boolean;
  stoppedEarly: boolean;
  simulatedStart: string;
  simulatedEnd: string;
  latencyMs?: LatencySummary;
}

export class Injection {
  readonly samples: Sample[] = [];
  /** Messages sent by kind: temperature, forecast, voltage. */
  private readonly kindCounts = new Float64Array(3);
  private readonly generator: MessageGenerator;
  private readonly sink: Sink;
  private readonly plan: InjectionPlan;
  private readonly mode: 'core' | 'jetstream';
  private readonly total: Histogram | undefined;
  private interval: Histogram | undefined;
  private start = 0;
  private simStartEpoch = 0;
  private startFractionMs = 0;
  private sent = 0;
  private scheduled = 0;
  private missed = 0;
  private lagMs = 0;
  private maxLagMs = 0;
  private lateSince: number | undefined;
  /** The run's span, once the sends have ended (ms). */
  spanMs: number | undefined;
  /** When the sends ended and when the drain ended, in ms from the start (after run()). */
  sendEndMs: number | undefined;
  drainEndMs: number | undefined;
  private stopping = false;
  private aborted = false;
  private lastEpoch: number;
  private nextSampleAt = 1000;
  private previous = { published: 0, confirmed: 0, lost: 0, errors: 0, scheduled: 0 };
  private recent: { at: number; published: number }[] = [];

  constructor(generator: MessageGenerator, sink: Sink, plan: InjectionPlan, mode: 'core' | 'jetstream', histograms?: HistogramFactory) {
    this.generator = generator;
    this.sink = sink;
    this.plan = plan;
    this.mode = mode;
    this.lastEpoch = plan.simStart ?? 0;
    if (histograms) {
      this.total = histograms();
      this.interval = histograms();
    }
  }

  /** For the JetStream sink: one acknowledgement's latency, in microseconds. */
  recordLatency(microseconds: number): void {
    this.total?.recordValue(microseconds);
    this.interval?.recordValue(microseconds);
  }

  /** Ends the run gracefully: no more sends, then the drain. */
  stop(): void {
    this.stopping = true;
    this.sink.release();
  }

  /**
   * Runs to the end of the plan (or a stop) and the drain. `startWallMs` (epoch ms, Date.now()'s
   * clock): when the run started, the workers' common start, so that their shares keep one
   * schedule and one simulated clock; absent, now.
   */
  async run(startWallMs?: number): Promise<InjectionReport> {
    const wall = startWallMs ?? Date.now();
    // performance.now() counts from this thread's own origin: the common start in its terms.
    this.start = startWallMs === undefined ? performance.now() : startWallMs - performance.timeOrigin;
    this.simStartEpoch = this.plan.simStart ?? simulatedStart(wall / 1000, this.plan.timeRoot);
    this.startFractionMs = this.plan.simStart === undefined ? wall % 1000 : 0;
    this.lastEpoch = this.simStartEpoch;
    const { schedule } = this.plan;
    if (schedule === 'max') this.spanMs = await this.runFlatOut();
    else this.spanMs = await this.runScheduled(schedule);
    const sendEnd = this.elapsed();
    this.sendEndMs = sendEnd;
    // Confirmations during the drain still land in their own seconds of the report.
    const sampler = setInterval(() => this.closeSamples(this.elapsed(), false), 250);
    await this.sink.drain(performance.now() + this.plan.drainMs);
    clearInterval(sampler);
    const drainEnd = this.elapsed();
    this.drainEndMs = drainEnd;
    this.closeSamples(drainEnd, true);
    return this.report(this.spanMs, sendEnd, drainEnd);
  }

  snapshot(): Snapshot {
    const elapsed = this.elapsed();
    const counts = this.sink.counts;
    const now = performance.now();
    this.recent.push({ at: now, published: counts.published });
    while (this.recent.length > 1 && now - this.recent[0]!.at > 1000) this.recent.shift();
    const first = this.recent[0]!;
    const span = (now - first.at) / 1000;
    const last = this.samples[this.samples.length - 1];
    const spanMs = this.spanMs ?? elapsed;
    return {
      elapsedSeconds: elapsed / 1000,
      targetRate: this.plan.schedule === 'max' ? Number.POSITIVE_INFINITY : this.plan.schedule.rateAt(elapsed),
      currentRate: span > 0 ? (counts.published - first.published) / span : 0,
      scheduled: this.plan.schedule === 'max' ? this.sent : this.scheduled,
      published: counts.published,
      confirmed: counts.confirmed,
      lost: totalLost(counts),
      errors: errorCount(counts.errors),
      missedSlots: this.missed,
      lagMs: this.lagMs,
      kinds: this.kinds(),
      latency: last?.latency ? { p50: last.latency.p50, p99: last.latency.p99 } : undefined,
      run: {
        seconds: spanMs / 1000,
        targetRate: this.plan.schedule === 'max' ? Number.POSITIVE_INFINITY : roundRate(this.plan.schedule.meanRate(spanMs)),
        achievedRate: roundRate(counts.published / (Math.max(spanMs, 1) / 1000)),
      },
    };
  }

  /** Sends on the schedule until it ends or the run is stopped; returns the run's span (ms). */
  private async runScheduled(schedule: Schedule): Promise<number> {
    const { sink } = this;
    const endMs = schedule.endMs();
    /** When the last message went out, and whether it missed its slot. */
    let lastSend = { at: 0, late: false };
    while (!this.stopping) {
      const now = this.elapsed();
      const due = schedule.dueBy(now);
      this.scheduled = due;
      while (this.sent < due && sink.canSend()) {
        const planned = schedule.plannedMs(this.sent);
        const late = now - planned > this.plan.slackMs;
        if (late) this.missed += 1;
        this.emit(planned);
        lastSend = { at: now, late };
      }
      sink.tick();
      this.trackLag(now, this.sent < due ? now - schedule.plannedMs(this.sent) : 0);
      this.closeSamples(now, false);
      // The run lasts its schedule: once everything is sent it waits for the schedule's end (the
      // last of 2 messages at 0.5 msgs/s over 4 s goes at 2 s; the run still ends at 4 s). At the
      // end, sends still behind the schedule are not made up: they count as not published.
      if ((this.sent >= schedule.total && now >= endMs) || now >= schedule.durationMs) break;
      await sleep(endMs > now ? Math.min(this.plan.tickMs, endMs - now) : this.plan.tickMs);
    }
    if (this.stopping) return this.elapsed();
    // Ended as scheduled: the span is the schedule's, unless the last messages of a count went
    // out late (beyond the slack), when the run took that much longer.
    return Math.min(schedule.durationMs, Math.max(endMs, lastSend.late ? lastSend.at : 0));
  }

  /** Sends flat-out until the count, the duration or a stop; returns the run's span (ms). */
  private async runFlatOut(): Promise<number> {
    const { sink } = this;
    const maxCount = this.plan.maxCount ?? Number.POSITIVE_INFINITY;
    const maxDuration = this.plan.maxDurationMs ?? Number.POSITIVE_INFINITY;
    // Messages between two yields to the event loop (and two PINGs): 4000 measured 8-15 % faster
    // than 1000 on 2 cores (fewer PING round trips in the window), with no gain beyond.
    const batch = 4000;
    // A server that stops answering must not hold the run past its duration. The flag, not the
    // clock, ends the loop: a timer can fire a fraction of a millisecond before elapsed() reaches
    // the duration, and a release that finds no waiter would otherwise be lost.
    let timeUp = false;
    const deadline = Number.isFinite(maxDuration)
      ? setTimeout(() => {
          timeUp = true;
          sink.release();
        }, maxDuration)
      : undefined;
    while (!this.stopping && !timeUp) {
      const now = this.elapsed();
      if (this.sent >= maxCount || now >= maxDuration) break;
      const end = Math.min(maxCount, this.sent + batch);
      while (this.sent < end && sink.canSend()) this.emit(now);
      sink.tick();
      this.closeSamples(now, false);
      // Room in the window is the only pacing flat-out; the await also lets the socket drain.
      await sink.waitForRoom();
      await immediate();
    }
    clearTimeout(deadline);
    this.scheduled = this.sent;
    return Math.min(this.elapsed(), maxDuration);
  }

  private emit(plannedMs: number): void {
    const epoch = simulatedEpoch(this.simStartEpoch, plannedMs, this.startFractionMs);
    this.lastEpoch = epoch;
    const index = this.sink.send(this.generator, epoch, this.start + plannedMs, this.sent);
    const kind = index < 2 ? index : 2;
    this.kindCounts[kind] = this.kindCounts[kind]! + 1;
    this.sent += 1;
  }

  private trackLag(now: number, lagMs: number): void {
    this.lagMs = Math.max(0, lagMs);
    if (this.lagMs > this.maxLagMs) this.maxLagMs = this.lagMs;
    if (this.lagMs > this.plan.slackMs) {
      this.lateSince ??= now;
      if (this.plan.abortOnMiss && now - this.lateSince >= 1000) {
        this.aborted = true;
        this.stopping = true;
      }
    } else {
      this.lateSince = undefined;
    }
  }

  /** Closes the one-second samples whose end has passed (all of them, partial last one included, at the end). */
  private closeSamples(now: number, final: boolean): void {
    while (now >= this.nextSampleAt || (final && now > this.nextSampleAt - 1000)) {
      const counts = this.sink.counts;
      const lost = totalLost(counts);
      const errors = errorCount(counts.errors);
      const scheduled = this.plan.schedule === 'max' ? this.sent : this.scheduled;
      const sample: Sample = {
        second: Math.round(Math.min(now, this.nextSampleAt) / 100) / 10,
        target: scheduled - this.previous.scheduled,
        published: counts.published - this.previous.published,
        confirmed: counts.confirmed - this.previous.confirmed,
        lost: lost - this.previous.lost,
        errors: errors - this.previous.errors,
      };
      if (this.interval && this.interval.totalCount > 0) {
        const s = summarise(this.interval);
        sample.latency = { p50: s.p50, p99: s.p99, max: s.max };
        this.interval.reset();
      }
      this.samples.push(sample);
      this.previous = { published: counts.published, confirmed: counts.confirmed, lost, errors, scheduled };
      this.nextSampleAt += 1000;
      if (final) break;
    }
  }

  private report(spanMs: number, sendEndMs: number, drainEndMs: number): InjectionReport {
    const counts = this.sink.counts;
    const seconds = Math.max(spanMs, 1) / 1000;
    const schedule = this.plan.schedule;
    const published = counts.published;
    const scheduled = schedule === 'max' ? this.sent : this.scheduled;
    const held =
      schedule === 'max' || (published >= 0.99 * scheduled && this.missed <= 0.01 * Math.max(1, published) && !this.aborted);
    return {
      mode: this.mode,
      targetRate: schedule === 'max' ? 'max' : roundRate(schedule.meanRate(spanMs)),
      peakTargetRate: schedule === 'max' ? undefined : schedule.peakRate(),
      achievedRate: roundRate(published / seconds),
      durationSeconds: round(seconds, 3),
      drainSeconds: round((drainEndMs - sendEndMs) / 1000, 3),
      scheduled,
      published,
      confirmed: counts.confirmed,
      lost: totalLost(counts),
      lostReasons: { ...counts.lost },
      errors: { ...counts.errors },
      retried: counts.retried,
      duplicates: counts.duplicates,
      reconnects: counts.reconnects,
      kinds: this.kinds(),
      missedSlots: this.missed,
      maxLagMs: round(this.maxLagMs, 1),
      rateHeld: held,
      abortedOnMiss: this.aborted,
      stoppedEarly: this.stopping && !this.aborted && (schedule === 'max' ? false : this.sent < schedule.total),
      simulatedStart: new Date(this.simStartEpoch * 1000).toISOString(),
      simulatedEnd: new Date(this.lastEpoch * 1000).toISOString(),
      latencyMs: this.total ? summarise(this.total) : undefined,
    };
  }

  private kinds(): Record<MessageKind, number> {
    return { temperature: this.kindCounts[0]!, forecast: this.kindCounts[1]!, voltage: this.kindCounts[2]! };
  }

  private elapsed(): number {
    return performance.now() - this.start;
  }
}

function errorCount(errors: Record<string, number>): number {
  let n = 0;
  for (const key in errors) n += errors[key]!;
  return n;
}

/** A rate as the summary gives it: one decimal, three below 10 msgs/s (0.667, not 0.7). */
export function roundRate(n: number): number {
  return round(n, Math.abs(n) < 10 ? 3 : 1);
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function immediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
