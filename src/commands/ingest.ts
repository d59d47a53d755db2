/** `smartmeter ingest`: parse, connect to NATS and Cassandra, run the bridge, print. */
import { RuntimeError, UsageError } from '../errors.js';
import { nonNegativeInteger, parseDuration, positiveInteger, readSecretFile } from '../parsers.js';
import { connectionFromFlags, connectWithRetry, waitForTables } from '../cassandra/connection.js';
import { resolveKeyspace } from '../cassandra/keyspace.js';
import { Ingest, type IngestStats } from '../ingest/ingest.js';
import { natsConnectionOptions, natsSettingsFromEnv, natsTlsSettings, withoutCredentials } from '../nats/connection.js';
import { GraphiteReporter } from '../metrics/graphite.js';
import { parseListenAddress, serveMetrics } from '../metrics/prometheus.js';
import { prometheusText } from '../metrics/samples.js';
import { ingestSamples, RateMeter } from '../ingest/metrics.js';

export interface IngestCommandOptions {
  server: string[];
  user?: string;
  password?: string;
  passwordFile?: string;
  creds?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  subject?: string;
  subjectPrefix: string;
  queue: string;
  jetstream?: string | boolean;
  /** With jetstream: create the stream (subjects <subject-prefix>.>) when it is missing. */
  createStream?: boolean;
  durable: string;
  contactPoints: string;
  port: string;
  localDc?: string;
  keyspace: string;
  consistency: string;
  timeoutMs?: string;
  concurrency: string;
  batchSize: string;
  retries: string;
  count?: string;
  duration?: string;
  wait: string;
  json?: boolean;
  graphite?: string;
  graphitePrefix?: string;
  metricsPort?: string;
}

export async function runIngest(options: IngestCommandOptions): Promise<void> {
  // Every option is checked before anything connects.
  // Folded as CQL folds it, as cassandra init does: Mixed_Case is mixed_case, "Quoted" is Quoted.
  const keyspace = resolveKeyspace(options.keyspace);
  const concurrency = positiveInteger(options.concurrency, '--concurrency');
  const batchSize = positiveInteger(options.batchSize, '--batch-size');
  positiveInteger(options.port, '--port'); // bad input fails before any connection
  const waitMs = positiveInteger(options.wait, '--wait') * 1000;
  const count = options.count === undefined ? undefined : positiveInteger(options.count, '--count');
  const durationMs = options.duration === undefined ? undefined : parseDuration(options.duration, '--duration');
  const retries = nonNegativeInteger(options.retries, '--retries');
  const readTimeoutMs = options.timeoutMs ? positiveInteger(options.timeoutMs, '--timeout-ms') : undefined;
  const env = natsSettingsFromEnv(process.env, !(options.user || options.password || options.passwordFile || options.creds));
  const settings = {
    servers: options.server.length ? options.server : (env.servers ?? ['nats://127.0.0.1:4222']),
    user: options.user ?? env.user,
    password: options.passwordFile ? readSecretFile(options.passwordFile, 'NATS password') : (options.password ?? env.password),
    credsFile: options.creds,
    tls: natsTlsSettings(options),
    name: `smartmeter-ingest${process.env.TASK_SLOT ? `-${process.env.TASK_SLOT}` : ''}`,
  };
  const driver = (await import('cassandra-driver')).default;
  const consistency = consistencyLevel(driver.types.consistencies as unknown as Record<string, number>, options.consistency);
  const log = (line: string) => process.stderr.write(`ingest: ${line}\n`);
  const slot = process.env.TASK_SLOT ?? '1';
  // SMARTMETER_GRAPHITE: how the stack's compose fragments (inject_metrics) point at Graphite.
  const graphiteAddress = options.graphite ?? (process.env.SMARTMETER_GRAPHITE || undefined);
  const graphite = graphiteAddress === undefined ? undefined : new GraphiteReporter(graphiteAddress, options.graphitePrefix ?? `smartmeter.ingest.slot${slot}`, log);
  const metricsAddress = options.metricsPort === undefined ? undefined : parseListenAddress(options.metricsPort, '--metrics-port');

  const { connect } = await import('nats');
  let nats;
  const natsOptions = await natsConnectionOptions(settings);
  // A NATS that went away is tried again about as long as at start (--wait, in attempts 0.5 s
  // apart): then the client closes the connection and ingest ends with exit 1 naming the cause (a
  // stack restarts it), instead of reconnecting for ever while it reads nothing.
  const reconnectWaitMs = natsOptions.reconnectTimeWait ?? 2000;
  natsOptions.maxReconnectAttempts = Math.max(1, Math.round(waitMs / reconnectWaitMs));
  // A stack starts ingest beside NATS: a refused connection is retried for --wait, anything else
  // (bad credentials, TLS) fails at once.
  const natsDeadline = Date.now() + waitMs;
  for (let attempt = 1; nats === undefined; attempt++) {
    try {
      nats = await connect(natsOptions);
    } catch (error) {
      const message = `cannot connect to NATS at ${settings.servers.map(withoutCredentials).join(',')}: ${(error as Error).message}`;
      if ((error as { code?: string }).code !== 'CONNECTION_REFUSED' || Date.now() >= natsDeadline) throw new RuntimeError(message);
      if (attempt === 1) log(`waiting for NATS: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  // Said when it happens: the line naming the cause comes only once reconnecting has given up.
  void (async () => {
    for await (const status of nats.status()) {
      if (status.type === 'disconnect') {
        log(`lost the NATS connection (${withoutCredentials(String(status.data))}); reconnecting: ${natsOptions.maxReconnectAttempts} attempts ${reconnectWaitMs / 1000} s apart (--wait ${waitMs / 1000})`);
      } else if (status.type === 'reconnect') {
        log(`reconnected to NATS (${withoutCredentials(String(status.data))})`);
      }
    }
  })();
  let cassandra;
  try {
    cassandra = await connectWithRetry(
      { ...connectionFromFlags({ contactPoints: options.contactPoints, port: options.port, localDc: options.localDc, username: process.env.CASSANDRA_USERNAME }), readTimeoutMs },
      waitMs,
      (attempt, reason) => attempt === 1 && log(`waiting for Cassandra: ${reason}`),
    );
    // A stack starts ingest before anyone ran `cassandra init`: wait for the tables rather than die.
    await waitForTables(cassandra, keyspace.name, ['raw_data', 'raw_data_count'], waitMs, (missing) =>
      log(`waiting for ${missing.map((t) => `${keyspace.name}.${t}`).join(', ')} (run smartmeter cassandra init)`));
  } catch (error) {
    await cassandra?.shutdown().catch(() => undefined);
    await nats.close().catch(() => undefined);
    throw error;
  }

  const stream = options.jetstream === true ? 'SMARTMETER' : options.jetstream || undefined;
  const ingest = new Ingest(nats, cassandra, {
    subject: options.subject ?? `${options.subjectPrefix}.voltage.data.>`,
    queue: options.queue,
    keyspace,
    concurrency,
    batchSize,
    consistency,
    jetstream: stream ? { stream, durable: options.durable, createSubjects: options.createStream ? [`${options.subjectPrefix}.>`] : undefined } : undefined,
    count,
    durationMs,
    retries,
    log,
  });
  const meter = new RateMeter();
  const samples = () => ingestSamples(ingest.stats, { inFlight: ingest.inFlight, queued: ingest.queued, writeRequests: ingest.writeRequests }, meter.update(ingest.stats.written));
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  try {
    metrics = metricsAddress ? await serveMetrics(metricsAddress, () => prometheusText('ingest', { slot }, samples()), () => ingest.reading) : undefined;
  } catch (error) {
    await nats.close().catch(() => undefined);
    await cassandra.shutdown();
    throw error;
  }
  const stop = () => ingest.stop();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stop);
  const live = process.stderr.isTTY && !options.json ? setInterval(() => process.stderr.write(`\r${statusLine(ingest)}\u001b[K`), 250) : undefined;
  const pushing = graphite ? setInterval(() => graphite.send(samples()), 1000) : undefined;
  let stats: IngestStats;
  try {
    stats = await ingest.run();
    graphite?.send(samples());
  } finally {
    if (live) {
      clearInterval(live);
      process.stderr.write('\n');
    }
    clearInterval(pushing);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, stop);
    await graphite?.close();
    await metrics?.close();
    await nats.close().catch(() => undefined); // the subscriptions were drained or stopped by run()
    await cassandra.shutdown(); // a NATS timer left after a reconnection is dealt with by bin/smartmeter
  }
  process.stdout.write(options.json ? `${JSON.stringify(stats)}\n` : summary(stats));
}


function statusLine(ingest: Ingest): string {
  const s = ingest.stats;
  const malformed = s.malformed['bad-subject'] + s.malformed['bad-length'] + s.malformed['bad-epoch'];
  return `received ${s.received}  written ${s.written}  in flight ${ingest.inFlight}  queued ${ingest.queued}  malformed ${malformed}  ${s.mode === 'core' ? `lost ${s.lost}` : `redelivered ${s.redelivered}`}`;
}

function summary(s: IngestStats): string {
  return [
    `mode           ${s.mode}`,
    `received       ${s.received}`,
    `written        ${s.written} rows (${s.rowsPerSecond.toFixed(0)}/s over ${s.durationSeconds.toFixed(1)} s) in ${s.writeRequests} requests`,
    `malformed      ${s.malformed['bad-subject']} bad subject, ${s.malformed['bad-length']} bad length, ${s.malformed['bad-epoch']} bad epoch`,
    `rejected       ${s.rejected} (refused by Cassandra)`,
    ...(s.mode === 'core'
      ? [`lost           ${s.lost}${s.lostReason ? ` (${s.lostReason})` : ''}`]
      : [`redelivered    ${s.redelivered} (failed writes handed back)`, `handed back    ${s.handedBack} (not written when stopped)`]),
    '',
  ].join('\n');
}

/** The old bridge's CASSANDRA_INJECT_CONSISTENCY names (ONE, LOCAL_QUORUM, …). */
function consistencyLevel(levels: Record<string, number>, name: string): number {
  const key = name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const level = levels[key];
  if (level === undefined) throw new UsageError(`unknown consistency "${name}" (ANY, ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, EACH_QUORUM, LOCAL_ONE)`);
  return level;
}

