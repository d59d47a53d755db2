/**
 * The run of `smartmeter inject` (src/commands/inject.ts holds its command line): connect to NATS,
 * run the injection (in this thread, or in --workers threads, each with a connection and a share
 * of the meters), print the summary. Imported only when inject runs: it loads worker_threads, net,
 * crypto and the NATS client.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { InjectCommandOptions } from '../commands/inject.js';
import { exitCodeOf, RuntimeError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { maskUrlPasswords } from '../secrets.js';
import { natsConnectionOptions, withoutCredentials } from '../nats/connection.js';
import { MessageGenerator } from './generator.js';
import { GraphiteReporter } from '../metrics/graphite.js';
import { parseListenAddress, serveMetrics } from '../metrics/prometheus.js';
import { prometheusText } from '../metrics/samples.js';
import { injectSamples } from './metrics.js';
import { histogramFactory } from './histogram.js';
import { Injection, type InjectionReport, type Sample, type Snapshot } from './injection.js';
import { Random, randomSeed } from './random.js';
import { renderHtmlReport } from './report-html.js';
import { ScheduleShare, shareCount } from './schedule.js';
import { resolveInjectSettings, type InjectFlags, type InjectSettings } from './settings.js';
import { CoreSink, JetStreamSink, type Sink } from './sinks.js';
import { combineReports, combineSamples, combineSnapshots, positionShares, workerSeed, WorkerPool, type InjectWorkerData, type MainMessage, type WorkerMessage } from './workers.js';

/** Exit code when the target rate could not be held (the run itself went through). */
export const EXIT_RATE_NOT_HELD = 3;

export async function runInject(options: InjectCommandOptions): Promise<void> {
  // A worker thread of a run with --workers: the same module, started by WorkerPool.
  const worker = workerData as InjectWorkerData | undefined;
  if (!isMainThread && worker?.smartmeterInjectWorker === true && parentPort) return runWorker(worker, parentPort);

  // Every option is checked before anything connects.
  const settings = resolveInjectSettings(options, process.env);
  const log = (line: string) => process.stderr.write(`inject: ${line}\n`);
  const reportPath = options.report === undefined ? undefined : resolve(options.report);
  if (reportPath && !existsSync(dirname(reportPath))) throw new UsageError(`--report: the directory ${dirname(reportPath)} does not exist`);
  // SMARTMETER_GRAPHITE (how the stack's compose fragments point at Graphite) may be set empty: none.
  const graphiteAddress = options.graphite || undefined;
  const graphite = graphiteAddress === undefined ? undefined : new GraphiteReporter(graphiteAddress, options.graphitePrefix ?? `smartmeter.inject.slot${settings.slot}`, log);
  const metricsAddress = options.metricsPort === undefined ? undefined : parseListenAddress(options.metricsPort, '--metrics-port');
  const seed = settings.seed ?? randomSeed();

  // SIGINT / SIGTERM end the run gracefully, also one that arrives while the workers start.
  let stopRequested = false;
  let stopRunning = () => {
    stopRequested = true;
  };
  const stop = () => stopRunning();
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const signal of signals) process.once(signal, stop);

  // The run: in this thread, or in worker threads (then this one only adds up their figures).
  let running: {
    snapshot: () => Snapshot;
    stop: () => void;
    /** The run's report and per-second samples. */
    result: () => Promise<{ report: InjectionReport; samples: readonly Sample[] }>;
    close: () => Promise<void>;
  };
  try {
    if (settings.workers > 1) {
      const pool = new WorkerPool(cliEntry(), Array.from({ length: settings.workers }, (_, index) => ({ smartmeterInjectWorker: true as const, index, flags: plainFlags(options), seed })), runWorker);
      try {
        await pool.ready();
      } catch (error) {
        await pool.terminate();
        throw error;
      }
      running = {
        snapshot: () => combineSnapshots(pool.snapshots, settings.schedule),
        stop: () => pool.stop(),
        result: async () => {
          // Started a little ahead, so that every worker has the message before the start.
          pool.start(Date.now() + 20);
          const results = await pool.finished().finally(() => pool.terminate());
          return { report: combineReports(results, settings.schedule), samples: combineSamples(results.map((r) => r.samples)) };
        },
        close: () => pool.terminate(),
      };
    } else {
      const run = await openRun(settings, seed, log);
      running = {
        snapshot: () => run.injection.snapshot(),
        stop: () => run.injection.stop(),
        result: async () => ({ report: await run.injection.run(), samples: run.injection.samples }),
        close: () => run.nc.close().catch(() => undefined),
      };
    }
  } catch (error) {
    for (const signal of signals) process.off(signal, stop);
    throw error;
  }
  stopRunning = () => running.stop();
  if (stopRequested) running.stop();

  const metrics = metricsAddress
    ? await serveMetrics(metricsAddress, () => prometheusText('inject', { slot: String(settings.slot) }, injectSamples(running.snapshot()))).catch(async (error: unknown) => {
        for (const signal of signals) process.off(signal, stop);
        await running.close();
        throw error;
      })
    : undefined;
  const live = process.stderr.isTTY && !options.json && !options.quiet;
  const timer = setInterval(() => {
    const snapshot = running.snapshot();
    if (live) process.stderr.write(`\r${statusLine(snapshot)}\u001b[K`);
    graphite?.send(injectSamples(snapshot));
  }, live ? 250 : 1000);
  const startedAt = new Date();
  let report: InjectionReport;
  let samples: readonly Sample[];
  try {
    ({ report, samples } = await running.result());
    const last = running.snapshot();
    // The last live line gives the summary's figures: the run's span, target and achieved rates.
    if (live) process.stderr.write(`\r${statusLine(last)}\u001b[K`);
    graphite?.send(injectSamples(last));
  } finally {
    clearInterval(timer);
    for (const signal of signals) process.off(signal, stop);
    if (live) process.stderr.write('\n');
    await graphite?.close();
    await metrics?.close();
    await running.close();
  }
  if (reportPath) {
    writeFileAtomic(reportPath, renderHtmlReport(report, samples, {
      title: 'smartmeter inject',
      command: ['smartmeter', ...process.argv.slice(2)].map(maskSecretArgument).join(' '),
      startedAt,
      seed,
      topology: settings.topology,
    }));
  }
  const result = { ...report, seed, topology: settings.topology, slot: settings.slot, workers: settings.workers };
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : summary(result, settings));
  if (!report.rateHeld) {
    log(report.abortedOnMiss ? 'stopped: the target rate could not be held (--abort-on-miss)' : 'the target rate could not be held');
    process.exitCode = EXIT_RATE_NOT_HELD;
  }
}

/** A connected run, ready to start: the whole cycle in this thread, or one worker's share. */
interface OpenRun {
  nc: import('nats').NatsConnection;
  injection: Injection;
}

/**
 * Connects and builds the generator, the sink and the scheduler of a run. `part`: this worker's
 * index among `settings.workers` (its share of the cycle, of the schedule and of a count, and its
 * own voltage draws); absent, the whole run. Throws RuntimeError when the server cannot be
 * reached, UsageError for a JetStream stream that does not fit.
 */
async function openRun(settings: InjectSettings, seed: number, log: (line: string) => void, part?: { index: number }): Promise<OpenRun> {
  const nats = await import('nats');
  const servers = settings.nats.servers.map(withoutCredentials).join(',');
  const connectionOptions = await natsConnectionOptions(settings.nats); // reads the credential files: bad input, not a connection problem
  let nc: import('nats').NatsConnection;
  try {
    nc = await nats.connect({ ...connectionOptions, name: part ? `${connectionOptions.name ?? settings.nats.name}-${part.index}` : connectionOptions.name, timeout: settings.connectTimeoutMs, reconnectTimeWait: 250 });
  } catch (error) {
    throw new RuntimeError(`cannot connect to NATS at ${servers}: ${connectProblem(error)}`);
  }

  const { lines, transformers, usagePoints } = settings.topology;
  const cycle = lines * transformers * usagePoints + 2;
  const share = part ? positionShares(cycle, settings.workers)[part.index]! : undefined;
  const generator = new MessageGenerator({
    topology: settings.topology,
    slot: settings.slot,
    subjectPrefix: settings.subjectPrefix,
    randomness: settings.randomness,
    predictionLength: settings.predictionLength,
    random: new Random(seed),
    share,
    voltageRandom: part ? new Random(workerSeed(seed, part.index)) : undefined,
  });
  const shareOf = (count: number | undefined) => (count === undefined || !share ? count : shareCount(count, cycle, share.from, share.to));
  const plan = {
    schedule: settings.schedule === 'max' || !share ? settings.schedule : new ScheduleShare(settings.schedule, cycle, share.from, share.to),
    maxCount: shareOf(settings.maxCount),
    maxDurationMs: settings.maxDurationMs,
    simStart: settings.simStart,
    timeRoot: settings.timeRoot,
    slackMs: settings.slackMs,
    abortOnMiss: settings.abortOnMiss,
    tickMs: 5,
    drainMs: settings.drainMs,
  };

  let injection: Injection;
  let sink: Sink;
  try {
    if (settings.jetstream) {
      await ensureStream(nc, settings.jetstream, settings.subjectPrefix, generator);
      const histograms = await histogramFactory();
      const jsSink: JetStreamSink = new JetStreamSink(nc.jetstream(), {
        window: settings.jetstream.window,
        ackTimeoutMs: 2000, // a try lost in an outage is retried soon; the message id makes retries safe
        runId: `${seed.toString(36)}${Date.now().toString(36)}`,
        recordLatency: (us) => injection.recordLatency(us),
      });
      sink = jsSink;
      injection = new Injection(generator, sink, plan, 'jetstream', histograms);
    } else {
      sink = new CoreSink(nc, { generator, reconnectBufferBytes: 64 * 1024 * 1024, maxUnconfirmedPings: 16, pingEvery: 5000 });
      injection = new Injection(generator, sink, plan, 'core');
    }
  } catch (error) {
    await nc.close().catch(() => undefined);
    throw error;
  }
  void (async () => {
    for await (const status of nc.status()) {
      sink.onStatus(status.type, status.data);
      if (status.type === 'disconnect') log(`disconnected from ${withoutCredentials(String(status.data))}; buffering and reconnecting`);
      if (status.type === 'reconnect') log(`reconnected to ${withoutCredentials(String(status.data))}`);
    }
  })();
  return { nc, injection };
}

/**
 * A worker's run (see src/inject/workers.ts), in a thread of its own or, worker 0, in the main
 * thread over a MessageChannel: resolves the flags it was given, connects,
 * says it is ready, starts at the common start, sends a snapshot every 250 ms and its result at
 * the end; a stop from the main thread ends it gracefully. Failures go to the main thread as a
 * message (name, message, exit code), never as output of its own.
 */
async function runWorker(data: InjectWorkerData, port: MessagePort): Promise<void> {
  const post = (message: WorkerMessage) => port.postMessage(message);
  let run: OpenRun | undefined;
  let stopped = false;
  let go: (startWallMs: number) => void = () => undefined;
  const started = new Promise<number>((resolve) => (go = resolve));
  const onMessage = (message: MainMessage) => {
    if (message.type === 'start') go(message.startWallMs);
    if (message.type === 'stop') {
      stopped = true;
      run?.injection.stop();
      go(Date.now());
    }
  };
  // The main thread gone (a closed channel): stop as on a stop message.
  const onClose = () => onMessage({ type: 'stop' });
  port.on('message', onMessage);
  port.on('close', onClose);
  try {
    const settings = resolveInjectSettings(data.flags as InjectFlags, process.env);
    const log = (line: string) => process.stderr.write(`inject: worker ${data.index}: ${line}\n`);
    run = await openRun(settings, data.seed, log, { index: data.index });
    const { injection } = run;
    post({ type: 'ready' });
    const startWallMs = await started;
    if (stopped) injection.stop();
    const wait = startWallMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const timer = setInterval(() => post({ type: 'snapshot', snapshot: injection.snapshot() }), 250);
    const report = await injection.run(startWallMs).finally(() => clearInterval(timer));
    await run.nc.close().catch(() => undefined);
    post({ type: 'done', report, samples: injection.samples, spanMs: injection.spanMs ?? 0, sendEndMs: injection.sendEndMs ?? 0, drainEndMs: injection.drainEndMs ?? 0, snapshot: injection.snapshot() });
  } catch (error) {
    await run?.nc.close().catch(() => undefined);
    post({ type: 'error', name: (error as Error)?.name ?? 'Error', message: (error as Error)?.message ?? String(error), exitCode: exitCodeOf(error) });
  } finally {
    port.off('message', onMessage);
    port.off('close', onClose);
    port.unref();
  }
}

/**
 * The module whose main(argv) runs the CLI: in the bundle, dist/cli.cjs, which is this code too;
 * unbundled, build/cli.js above build/inject/run.js.
 */
function cliEntry(): string {
  const here = import.meta.url;
  return /\/build\/inject\/run\.js$/.test(here) ? new URL('../cli.js', here).href : here;
}

/** The command's flags as plain values (what a worker resolves again). */
function plainFlags(options: InjectCommandOptions): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (typeof value === 'string' || typeof value === 'boolean' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))) flags[key] = value;
  }
  return flags;
}

async function ensureStream(nc: import('nats').NatsConnection, js: NonNullable<InjectSettings['jetstream']>, prefix: string, generator: MessageGenerator): Promise<void> {
  const jsm = await nc.jetstreamManager().catch((error: Error) => {
    throw new RuntimeError(`JetStream is not available on this server: ${error.message}`);
  });
  const exists = await jsm.streams.info(js.stream).then(
    () => true,
    (error: { code?: string; api_error?: { err_code?: number }; message?: string }) => {
      if (error.api_error?.err_code === 10059 || error.code === '404') return false; // stream not found
      throw new RuntimeError(`cannot look up JetStream stream "${js.stream}": ${error.message ?? String(error)}`);
    },
  );
  if (!exists) {
    if (!js.create) throw new UsageError(`JetStream stream "${js.stream}" does not exist (add --create-stream to create it for ${prefix}.>)`);
    await jsm.streams.add({ name: js.stream, subjects: [`${prefix}.>`] }).catch((error: Error) => {
      throw new RuntimeError(`cannot create JetStream stream "${js.stream}" for ${prefix}.>: ${error.message}`);
    });
  }
  for (const subject of [generator.subjectAt(0), generator.subjectAt(1), generator.subjectAt(2)]) {
    const owner = await jsm.streams.find(subject).catch(() => undefined);
    if (owner !== js.stream) throw new UsageError(`JetStream stream "${js.stream}" does not take the subject ${subject}${owner ? ` (stream "${owner}" does)` : ''}`);
  }
}

function connectProblem(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  if (code === 'AUTHORIZATION_VIOLATION' || /authoriz/i.test(message)) return 'authorization failed (check the user, password, token or credentials)';
  if (code === 'CONNECTION_REFUSED' || /ECONNREFUSED/.test(message)) return 'connection refused';
  if (code === 'SERVER_OPT_NA' || message === 'tls') return 'the server does not offer TLS (check the URL and the --tls options)';
  if (code === 'TIMEOUT' || /timeout/i.test(message)) return 'no answer within the connect timeout';
  return message;
}


/** The command line in the report, without the value of --password / --token. */
function maskSecretArgument(arg: string, index: number, all: string[]): string {
  if (index > 0 && /^--(password|token)$/.test(all[index - 1]!)) return '***';
  return maskUrlPasswords(arg.replace(/^(--(?:password|token)=).*/, '$1***'));
}

/**
 * The live line: the run so far with the summary's figures (its span, the schedule's mean rate
 * over it, the messages published over it), so its last state is the summary.
 */
function statusLine(s: Snapshot): string {
  const run = s.run ?? { seconds: s.elapsedSeconds, targetRate: s.targetRate, achievedRate: s.currentRate };
  const target = Number.isFinite(run.targetRate) ? `${run.targetRate}` : 'max';
  const latency = s.latency ? `  p50 ${s.latency.p50} ms  p99 ${s.latency.p99} ms` : '';
  const late = s.missedSlots ? `  late ${s.missedSlots}` : '';
  return `${run.seconds.toFixed(1)} s  target ${target}/s  achieved ${run.achievedRate}/s  sent ${s.published}  lost ${s.lost}  errors ${s.errors}${late}${latency}`;
}

function summary(r: InjectionReport & { seed: number; workers: number }, settings: InjectSettings): string {
  const lost = Object.entries(r.lostReasons).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  const errors = Object.entries(r.errors).map(([k, n]) => `${k} ${n}`).join(', ');
  const { lines, transformers, usagePoints } = settings.topology;
  const rows = [
    `mode           ${r.mode}`,
    `target rate    ${r.targetRate === 'max' ? 'max (flat-out)' : `${r.targetRate} msgs/s${r.peakTargetRate !== undefined && r.peakTargetRate !== r.targetRate ? ` (mean of the schedule over the run; peak ${r.peakTargetRate})` : ''}`}`,
    `achieved rate  ${r.achievedRate} msgs/s over ${r.durationSeconds} s`,
    `scheduled      ${r.scheduled}`,
    `published      ${r.published} (temperature ${r.kinds.temperature}, forecast ${r.kinds.forecast}, voltage ${r.kinds.voltage})`,
    `confirmed      ${r.confirmed}${r.mode === 'core' ? ' (flushed to the server)' : ' (acknowledged by the stream)'}`,
    `lost           ${r.lost}${lost ? ` (${lost})` : ''}`,
    `errors         ${errors || 0}${r.retried ? ` (${r.retried} retried)` : ''}`,
    `missed slots   ${r.missedSlots} (max lag ${r.maxLagMs} ms)${r.rateHeld ? '' : ' — rate NOT held'}`,
  ];
  if (r.latencyMs) rows.push(`latency        p50 ${r.latencyMs.p50} ms, p90 ${r.latencyMs.p90} ms, p99 ${r.latencyMs.p99} ms, p99.9 ${r.latencyMs.p999} ms, max ${r.latencyMs.max} ms`);
  rows.push(
    `reconnects     ${r.reconnects}`,
    `simulated      ${r.simulatedStart} → ${r.simulatedEnd}`,
    `topology       ${lines} × ${transformers} × ${usagePoints} (slot ${settings.slot})`,
    `workers        ${r.workers}${r.workers > 1 ? ' (a thread and a NATS connection each, each with its share of the meters)' : ''}`,
    `seed           ${r.seed}`,
    '',
  );
  return rows.join('\n');
}
