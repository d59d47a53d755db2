/** `smartmeter inject`: parse, connect to NATS, run the injection, print the summary. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { maskUrlPasswords } from '../secrets.js';
import { natsConnectionOptions, withoutCredentials } from '../nats/connection.js';
import { MessageGenerator } from '../inject/generator.js';
import { GraphiteReporter } from '../metrics/graphite.js';
import { parseListenAddress, serveMetrics } from '../metrics/prometheus.js';
import { prometheusText } from '../metrics/samples.js';
import { injectSamples } from '../inject/metrics.js';
import { histogramFactory } from '../inject/histogram.js';
import { Injection, type InjectionReport, type Snapshot } from '../inject/injection.js';
import { Random, randomSeed } from '../inject/random.js';
import { renderHtmlReport } from '../inject/report-html.js';
import { resolveInjectSettings, type InjectFlags, type InjectSettings } from '../inject/settings.js';
import { CoreSink, JetStreamSink, type Sink } from '../inject/sinks.js';

export interface InjectCommandOptions extends InjectFlags {
  json?: boolean;
  report?: string;
  graphite?: string;
  graphitePrefix?: string;
  metricsPort?: string;
}

/** Exit code when the target rate could not be held (the run itself went through). */
export const EXIT_RATE_NOT_HELD = 3;

export async function runInject(options: InjectCommandOptions): Promise<void> {
  // Every option is checked before anything connects.
  const settings = resolveInjectSettings(options, process.env);
  const log = (line: string) => process.stderr.write(`inject: ${line}\n`);
  const reportPath = options.report === undefined ? undefined : resolve(options.report);
  if (reportPath && !existsSync(dirname(reportPath))) throw new UsageError(`--report: the directory ${dirname(reportPath)} does not exist`);
  // SMARTMETER_GRAPHITE: how the stack's compose fragments (inject_metrics) point at Graphite.
  const graphiteAddress = options.graphite ?? (process.env.SMARTMETER_GRAPHITE || undefined);
  const graphite = graphiteAddress === undefined ? undefined : new GraphiteReporter(graphiteAddress, options.graphitePrefix ?? `smartmeter.inject.slot${settings.slot}`, log);
  const metricsAddress = options.metricsPort === undefined ? undefined : parseListenAddress(options.metricsPort, '--metrics-port');

  const nats = await import('nats');
  const servers = settings.nats.servers.map(withoutCredentials).join(',');
  const connectionOptions = await natsConnectionOptions(settings.nats); // reads the credential files: bad input, not a connection problem
  let nc: import('nats').NatsConnection;
  try {
    nc = await nats.connect({ ...connectionOptions, timeout: settings.connectTimeoutMs, reconnectTimeWait: 250 });
  } catch (error) {
    throw new RuntimeError(`cannot connect to NATS at ${servers}: ${connectProblem(error)}`);
  }

  const seed = settings.seed ?? randomSeed();
  const generator = new MessageGenerator({
    topology: settings.topology,
    slot: settings.slot,
    subjectPrefix: settings.subjectPrefix,
    randomness: settings.randomness,
    predictionLength: settings.predictionLength,
    random: new Random(seed),
  });
  const plan = {
    schedule: settings.schedule,
    maxCount: settings.maxCount,
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

  const metrics = metricsAddress
    ? await serveMetrics(metricsAddress, () => prometheusText('inject', { slot: String(settings.slot) }, injectSamples(injection.snapshot()))).catch(async (error: unknown) => {
        await nc.close().catch(() => undefined);
        throw error;
      })
    : undefined;
  const stop = () => injection.stop();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stop);
  const live = process.stderr.isTTY && !options.json;
  const timer = setInterval(() => {
    const snapshot = injection.snapshot();
    if (live) process.stderr.write(`\r${statusLine(snapshot)}\u001b[K`);
    graphite?.send(injectSamples(snapshot));
  }, live ? 250 : 1000);
  const startedAt = new Date();
  let report: InjectionReport;
  try {
    report = await injection.run();
    const last = injection.snapshot();
    // The last live line gives the summary's figures: the run's span, target and achieved rates.
    if (live) process.stderr.write(`\r${statusLine(last)}\u001b[K`);
    graphite?.send(injectSamples(last));
  } finally {
    clearInterval(timer);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, stop);
    if (live) process.stderr.write('\n');
    await graphite?.close();
    await metrics?.close();
    await nc.close().catch(() => undefined);
  }
  if (reportPath) {
    writeFileAtomic(reportPath, renderHtmlReport(report, injection.samples, {
      title: 'smartmeter inject',
      command: ['smartmeter', ...process.argv.slice(2)].map(maskSecretArgument).join(' '),
      startedAt,
      seed,
      topology: settings.topology,
    }));
  }
  const result = { ...report, seed, topology: settings.topology, slot: settings.slot };
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : summary(result, settings));
  if (!report.rateHeld) {
    log(report.abortedOnMiss ? 'stopped: the target rate could not be held (--abort-on-miss)' : 'the target rate could not be held');
    process.exitCode = EXIT_RATE_NOT_HELD;
  }
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

function summary(r: InjectionReport & { seed: number }, settings: InjectSettings): string {
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
    `seed           ${r.seed}`,
    '',
  );
  return rows.join('\n');
}
