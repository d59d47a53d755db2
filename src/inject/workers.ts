/**
 * `inject --workers N`: N threads (worker_threads), each publishing on a NATS connection of its
 * own the messages of a contiguous share of the cycle (worker 0: the temperature, the forecast
 * and the first points; the others: the following points). A meter belongs to one worker, and one
 * connection keeps its order, so every meter's readings arrive in order. Every worker runs the
 * scheduler on its share of the one schedule (ScheduleShare) from a common start, so together
 * they send the whole schedule's messages at its times; flat-out, each sends its share of the
 * count as fast as it can.
 *
 * Worker 0 runs in the main thread itself (a thread fewer: about 40 MB less memory, and one
 * scheduler fewer competing for the cores), over a MessageChannel, like the others. The main
 * thread also starts the workers, forwards a stop (SIGINT/SIGTERM), and adds up their snapshots
 * (live line, Graphite, Prometheus), per-second samples (HTML report) and reports (one summary). This module is that arithmetic and the pool; the worker's side is in
 * src/inject/run.ts (it needs the run's connection code).
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { RuntimeError, UsageError } from '../errors.js';
import { roundRate, type InjectionReport, type Sample, type Snapshot } from './injection.js';
import type { LossReason } from './sinks.js';
import type { Schedule } from './schedule.js';

/** What a worker is started with (workerData). The flags are resolved again in the worker. */
export interface InjectWorkerData {
  smartmeterInjectWorker: true;
  /** 0 … workers − 1. */
  index: number;
  /** The command's flags (strings and booleans only), as the main thread got them. */
  flags: Record<string, unknown>;
  /** The run's seed (each worker derives its voltages' draws from it and its index). */
  seed: number;
}

/** Worker → main thread. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'snapshot'; snapshot: Snapshot }
  | { type: 'done'; report: InjectionReport; samples: Sample[]; spanMs: number; sendEndMs: number; drainEndMs: number; snapshot: Snapshot }
  | { type: 'error'; name: string; message: string; exitCode: number };

/** Main thread → worker. startWallMs: the common start, epoch ms. */
export type MainMessage = { type: 'start'; startWallMs: number } | { type: 'stop' };

const WORKER_YOUNG_GENERATION_MB = 16;

/** One worker's end of the run. */
export interface WorkerResult {
  report: InjectionReport;
  samples: Sample[];
  spanMs: number;
  sendEndMs: number;
  drainEndMs: number;
}

/**
 * The cycle's positions (0 temperature, 1 forecast, 2 + i point i; `cycle` of them) cut into
 * `workers` contiguous shares of nearly equal size, the first at least 2 long (temperature and
 * forecast stay together). Needs cycle ≥ 2 · workers.
 */
export function positionShares(cycle: number, workers: number): { from: number; to: number }[] {
  if (!(workers >= 1 && cycle >= 2 * workers)) throw new RangeError(`${cycle} positions cannot be shared by ${workers} workers`);
  const shares: { from: number; to: number }[] = [];
  for (let k = 0; k < workers; k += 1) shares.push({ from: Math.floor((k * cycle) / workers), to: Math.floor(((k + 1) * cycle) / workers) });
  return shares;
}

/** The seed of worker `index`'s voltage draws: the run's seed mixed with the index (splitmix32 step). */
export function workerSeed(seed: number, index: number): number {
  let z = (seed + Math.imul(index + 1, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function sumBy<T>(items: readonly T[], get: (item: T) => number): number {
  let n = 0;
  for (const item of items) n += get(item);
  return n;
}

/**
 * The run so far from the workers' latest snapshots (a worker without one yet counts zero): counts
 * added up, lag the largest, the run's span the longest, rates those of the whole schedule.
 */
export function combineSnapshots(snapshots: readonly (Snapshot | undefined)[], schedule: Schedule | 'max'): Snapshot {
  const s = snapshots.filter((x): x is Snapshot => x !== undefined);
  const elapsedSeconds = Math.max(0, ...s.map((x) => x.elapsedSeconds));
  const seconds = Math.max(0, ...s.map((x) => x.run?.seconds ?? x.elapsedSeconds));
  const published = sumBy(s, (x) => x.published);
  const latency = s.find((x) => x.latency)?.latency;
  return {
    elapsedSeconds,
    targetRate: schedule === 'max' ? Number.POSITIVE_INFINITY : schedule.rateAt(elapsedSeconds * 1000),
    currentRate: sumBy(s, (x) => x.currentRate),
    scheduled: sumBy(s, (x) => x.scheduled),
    published,
    confirmed: sumBy(s, (x) => x.confirmed),
    lost: sumBy(s, (x) => x.lost),
    errors: sumBy(s, (x) => x.errors),
    missedSlots: sumBy(s, (x) => x.missedSlots),
    lagMs: Math.max(0, ...s.map((x) => x.lagMs)),
    kinds: { temperature: sumBy(s, (x) => x.kinds.temperature), forecast: sumBy(s, (x) => x.kinds.forecast), voltage: sumBy(s, (x) => x.kinds.voltage) },
    latency,
    run: {
      seconds,
      targetRate: schedule === 'max' ? Number.POSITIVE_INFINITY : roundRate(schedule.meanRate(seconds * 1000)),
      achievedRate: roundRate(published / (Math.max(seconds * 1000, 1) / 1000)),
    },
  };
}

/** The per-second samples of the run: the workers' samples of the same second added up. */
export function combineSamples(perWorker: readonly (readonly Sample[])[]): Sample[] {
  const length = Math.max(0, ...perWorker.map((s) => s.length));
  const out: Sample[] = [];
  for (let i = 0; i < length; i += 1) {
    const present = perWorker.map((s) => s[i]).filter((x): x is Sample => x !== undefined);
    out.push({
      second: Math.max(...present.map((x) => x.second)),
      target: sumBy(present, (x) => x.target),
      published: sumBy(present, (x) => x.published),
      confirmed: sumBy(present, (x) => x.confirmed),
      lost: sumBy(present, (x) => x.lost),
      errors: sumBy(present, (x) => x.errors),
    });
  }
  return out;
}

/**
 * One report of the run from the workers' (all started at the same instant): counts added up; the
 * span the longest; the drain from the last end of sends to the last end of drain; target and
 * achieved rates over the span for the whole schedule; `rateHeld` by the same rule as one
 * thread's (at least 99 % of the scheduled messages published, at most 1 % of them late, no
 * --abort-on-miss stop).
 */
export function combineReports(results: readonly WorkerResult[], schedule: Schedule | 'max'): InjectionReport {
  if (results.length === 0) throw new RangeError('no worker reported');
  const reports = results.map((r) => r.report);
  const spanMs = Math.max(...results.map((r) => r.spanMs));
  const seconds = Math.max(spanMs, 1) / 1000;
  const published = sumBy(reports, (r) => r.published);
  const scheduled = sumBy(reports, (r) => r.scheduled);
  const missed = sumBy(reports, (r) => r.missedSlots);
  const aborted = reports.some((r) => r.abortedOnMiss);
  const lostReasons = { ...reports[0]!.lostReasons };
  const errors: Record<string, number> = {};
  for (const r of reports) {
    for (const reason of Object.keys(r.lostReasons) as LossReason[]) if (r !== reports[0]) lostReasons[reason] = (lostReasons[reason] ?? 0) + r.lostReasons[reason];
    for (const [key, n] of Object.entries(r.errors)) errors[key] = (errors[key] ?? 0) + n;
  }
  const held = schedule === 'max' || (published >= 0.99 * scheduled && missed <= 0.01 * Math.max(1, published) && !aborted);
  const sendEnd = Math.max(...results.map((r) => r.sendEndMs));
  const drainEnd = Math.max(...results.map((r) => r.drainEndMs));
  return {
    mode: reports[0]!.mode,
    targetRate: schedule === 'max' ? 'max' : roundRate(schedule.meanRate(spanMs)),
    peakTargetRate: schedule === 'max' ? undefined : schedule.peakRate(),
    achievedRate: roundRate(published / seconds),
    durationSeconds: round(seconds, 3),
    drainSeconds: round(Math.max(0, drainEnd - sendEnd) / 1000, 3),
    scheduled,
    published,
    confirmed: sumBy(reports, (r) => r.confirmed),
    lost: sumBy(reports, (r) => r.lost),
    lostReasons,
    errors,
    retried: sumBy(reports, (r) => r.retried),
    duplicates: sumBy(reports, (r) => r.duplicates),
    reconnects: sumBy(reports, (r) => r.reconnects),
    kinds: { temperature: sumBy(reports, (r) => r.kinds.temperature), forecast: sumBy(reports, (r) => r.kinds.forecast), voltage: sumBy(reports, (r) => r.kinds.voltage) },
    missedSlots: missed,
    maxLagMs: Math.max(...reports.map((r) => r.maxLagMs)),
    rateHeld: held,
    abortedOnMiss: aborted,
    stoppedEarly: reports.some((r) => r.stoppedEarly),
    simulatedStart: reports.map((r) => r.simulatedStart).sort()[0]!,
    simulatedEnd: reports.map((r) => r.simulatedEnd).sort().at(-1)!,
    latencyMs: undefined,
  };
}

/**
 * The main thread's side: starts the workers (each runs the inject command's module in worker
 * mode), waits until every one is connected, starts them together, keeps their latest snapshots,
 * forwards a stop, and collects their results. A worker's failure (it could not connect, or
 * failed mid-run) stops the others and rejects with that worker's error: a UsageError (exit 2)
 * or a RuntimeError (exit 1), its message prefixed by nothing, as one thread's would be.
 */
export class WorkerPool {
  /** The latest snapshot of each worker (undefined until its first). */
  readonly snapshots: (Snapshot | undefined)[];
  private readonly workers: Worker[] = [];
  /** The main thread's end of worker 0's channel. */
  private readonly local: MessagePort;
  private readonly results: (WorkerResult | undefined)[];
  private failure: Error | undefined;
  private readyCount = 0;
  private doneCount = 0;
  private onChange: () => void = () => undefined;

  /**
   * `entry`: the module URL whose `main(argv)` runs the CLI (dist/cli.cjs); each worker thread
   * imports it and runs `inject`, which sees its workerData and works as worker `index`.
   * `runLocal`: runs worker 0 in this thread, talking over the port it is given.
   */
  constructor(entry: string, data: readonly InjectWorkerData[], runLocal: (data: InjectWorkerData, port: MessagePort) => Promise<void>) {
    this.snapshots = data.map(() => undefined);
    this.results = data.map(() => undefined);
    const channel = new MessageChannel();
    this.local = channel.port1;
    this.local.on('message', (message: WorkerMessage) => this.receive(0, message));
    void runLocal(data[0]!, channel.port2);
    // A CommonJS bundle's exports may come only as the default export.
    const code = `import(${JSON.stringify(entry)}).then((cli) => (cli.main ?? cli.default.main)([process.execPath, 'smartmeter', 'inject']))`;
    data.slice(1).forEach((workerData) => {
      const index = workerData.index;
      // A young generation of 16 MB at most (V8's default is larger): a worker makes little
      // garbage, and each megabyte it may fill is a megabyte of resident memory.
      const worker = new Worker(code, { eval: true, workerData, stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
      worker.on('message', (message: WorkerMessage) => this.receive(index, message));
      worker.on('error', (error) => this.fail(new RuntimeError(`inject worker ${index} failed: ${error.message}`)));
      worker.on('exit', (code) => {
        if (this.results[index] === undefined && this.failure === undefined) this.fail(new RuntimeError(`inject worker ${index} ended (exit code ${code}) without its report`));
      });
      this.workers.push(worker);
    });
  }

  /** Resolves once every worker is connected and ready; rejects on the first failure. */
  ready(): Promise<void> {
    return this.until(() => this.readyCount === this.workers.length + 1);
  }

  /** Starts every worker's run at `startWallMs` (epoch ms). */
  start(startWallMs: number): void {
    this.post({ type: 'start', startWallMs });
  }

  /** Ends the run gracefully: every worker stops sending and drains. */
  stop(): void {
    this.post({ type: 'stop' });
  }

  /** Every worker's result, in worker order; rejects on the first failure. */
  async finished(): Promise<WorkerResult[]> {
    await this.until(() => this.doneCount === this.workers.length + 1);
    return this.results as WorkerResult[];
  }

  /** Stops every worker thread at once (after a failure, or once all have reported). */
  async terminate(): Promise<void> {
    this.local.close();
    await Promise.all(this.workers.map((w) => w.terminate().catch(() => undefined)));
  }

  private post(message: MainMessage): void {
    this.local.postMessage(message);
    for (const worker of this.workers) worker.postMessage(message);
  }

  private until(condition: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.failure) reject(this.failure);
        else if (condition()) resolve();
        else return;
        this.onChange = () => undefined;
      };
      this.onChange = check;
      check();
    });
  }

  private receive(index: number, message: WorkerMessage): void {
    switch (message.type) {
      case 'ready':
        this.readyCount += 1;
        break;
      case 'snapshot':
        this.snapshots[index] = message.snapshot;
        break;
      case 'done':
        this.snapshots[index] = message.snapshot;
        this.results[index] = { report: message.report, samples: message.samples, spanMs: message.spanMs, sendEndMs: message.sendEndMs, drainEndMs: message.drainEndMs };
        this.doneCount += 1;
        break;
      case 'error': {
        const known = message.name === 'UsageError' || message.name === 'RuntimeError';
        const error = message.name === 'UsageError' ? new UsageError(message.message) : new RuntimeError(known ? message.message : `inject worker ${index}: internal error: ${message.message}`);
        this.fail(error);
        break;
      }
    }
    this.onChange();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.stop();
    this.onChange();
  }
}
