/** `smartmeter ingest`: its definition (options, environment, help), then the handler: connect to NATS and Cassandra, run the bridge, print. */
import { Command, Option } from '@commander-js/extra-typings';
import { collect, durationHelp, jsonOption, keyspaceOption, quietOption, withExamples, type OptionsOf } from '../cli-kit.js';
import { RuntimeError, UsageError } from '../errors.js';
import { nonNegativeInteger, parseDuration, positiveInteger, readSecretFile } from '../parsers.js';
import type { Ingest, IngestStats } from '../ingest/ingest.js';

/** The command's name on the command line (cli.ts builds only the named command's definition). */
export const name = 'ingest';

/** The command line of `ingest`: its options (with the old bridge's environment variables) and help. */
function definition() {
  return withExamples(
    new Command(name)
      .summary('the NATS → Cassandra bridge: store every voltage reading')
      .description(
        'Subscribe to the voltage readings (in a queue group, so instances share the load), decode them ' +
          '(the old 56-byte layout) and write them into <keyspace>.raw_data, counting per line into ' +
          'raw_data_count. Core NATS mode cannot promise delivery: a reading whose write keeps failing is ' +
          'lost (and counted). With --jetstream a reading is acknowledged only once its row is written, so ' +
          'nothing is lost when ingest or Cassandra restarts. On SIGINT/SIGTERM it finishes the writes under ' +
          'way and hands the readings it has not written back to the server, which redelivers them at once; ' +
          'the few the server sent just before it saw ingest unsubscribe, unread when ingest stopped, come ' +
          'again only after the consumer\'s 30 s ack wait.',
      )
      .option('-s, --server <url>', 'NATS server (repeatable; env NATS_URI)', collect, [] as string[])
      .option('--user <user>', 'NATS user (env NATS_USERNAME, NATS_USERNAME_FILE)')
      .option('--password <password>', 'NATS password; other users of the host can read it in the process list: prefer --password-file or env NATS_PASSWORD_FILE')
      .option('--password-file <file>', 'file holding the NATS password')
      .option('--creds <file>', 'NATS credentials file (JWT + nkey)')
      .option('--tls-ca <file>', 'CA certificate to trust for NATS TLS')
      .option('--tls-cert <file>', 'client certificate for NATS TLS (with --tls-key)')
      .option('--tls-key <file>', 'client key for NATS TLS (with --tls-cert)')
      .addOption(new Option('--subject <subject>', 'subject to read (default <prefix>.voltage.data.>)').env('NATS_SUBJECT'))
      .addOption(new Option('--subject-prefix <prefix>', 'subject prefix').env('GATLING_TO_NATS_SUBJECT').default('smartmeter.raw'))
      .option('--queue <group>', 'queue group of core mode', 'cassandra_inject')
      .option('--jetstream [stream]', 'read through a durable JetStream consumer of this stream (default SMARTMETER)')
      .option('--create-stream', 'with --jetstream: create the stream (subjects <subject-prefix>.>) if it does not exist, as inject --create-stream does')
      .option('--durable <name>', 'durable consumer of JetStream mode, shared by instances: created when missing, else used as it is', 'ingest')
      .addOption(new Option('--contact-points <hosts>', 'Cassandra host[:port],…').env('CASSANDRA_URL').default('127.0.0.1'))
      .option('--port <port>', 'CQL port', '9042')
      .option('--local-dc <dc>', 'local data centre of the Cassandra driver')
      .addOption(keyspaceOption())
      .addOption(new Option('--consistency <level>', 'write consistency').env('CASSANDRA_INJECT_CONSISTENCY').default('ONE'))
      .addOption(new Option('--timeout-ms <time>', durationHelp('per-write timeout', 'ms')).env('CASSANDRA_TIMEOUT'))
      .option('--concurrency <n>', 'rows being written at most', '512')
      .option('--batch-size <rows>', 'rows per unlogged batch at most, grouped by replica set (1: one INSERT per row)', '10')
      .option('--retries <n>', 'core mode: tries again before a reading is lost', '5')
      .option('--count <n>', 'stop after this many readings')
      .option('--duration <time>', durationHelp('stop after this long'))
      .option('--wait <time>', durationHelp('how long to wait at start for NATS (a refused connection), Cassandra and its tables; and, once running, for a lost NATS connection to come back before exiting 1', 's'), '120')
      .addOption(new Option('--graphite <host[:port]>', 'send live counters to Graphite (plaintext, port 2003 by default) every second').env('SMARTMETER_GRAPHITE'))
      .option('--graphite-prefix <path>', 'metric path prefix (default smartmeter.ingest.slot<TASK_SLOT or 1>)')
      .addOption(new Option('--metrics-port <[host:]port>', 'serve Prometheus metrics on http://host:port/metrics while running (host 127.0.0.1 by default)').env('SMARTMETER_METRICS_PORT'))
      .addOption(jsonOption('the summary, {"mode": "core"|"jetstream", "received", "written", "malformed": {"bad-subject", "bad-length", "bad-epoch"}, "rejected", "lost", "lostReason"?, "redelivered", "handedBack", "durationSeconds", "rowsPerSecond", "writeRequests"}'))
      .addOption(quietOption())
      .addHelpText(
        'after',
        `
Cassandra credentials come from CASSANDRA_USERNAME and CASSANDRA_PASSWORD_FILE (or CASSANDRA_PASSWORD).
The per-line counts of raw_data_count are at-least-once: a reading redelivered after a crash is
counted again, and counts not yet flushed (once a second) are lost with the process; raw_data
itself is exact (a redelivered reading rewrites the same row).`,
      ),
    [
      'smartmeter ingest                                           # nats://127.0.0.1:4222 → 127.0.0.1:9042',
      'smartmeter ingest --jetstream SMARTMETER --contact-points cassandra-cluster-main',
      'NATS_URI=nats://nats:4222 CASSANDRA_URL=cassandra-cluster-main smartmeter ingest   # the old bridge\'s variables',
      'smartmeter ingest --count 10000 --json',
    ],
  );
}

/** What `runIngest` takes: the options as parsed. */
export type IngestCommandOptions = OptionsOf<typeof definition>;

/** `ingest`, ready to register. */
export function command() {
  return definition().action(async (options) => {
    await runIngest(options);
  });
}

export async function runIngest(options: IngestCommandOptions): Promise<void> {
  // Loaded here, not at start-up: other commands do not pay for them.
  const { connectionFromFlags, connectWithRetry, waitForTables } = await import('../cassandra/connection.js');
  const { resolveKeyspace } = await import('../cassandra/keyspace.js');
  const { Ingest: IngestBridge } = await import('../ingest/ingest.js');
  const { natsConnectionOptions, natsSettingsFromEnv, natsTlsSettings, withoutCredentials } = await import('../nats/connection.js');
  const { GraphiteReporter } = await import('../metrics/graphite.js');
  const { parseListenAddress, serveMetrics } = await import('../metrics/prometheus.js');
  const { prometheusText } = await import('../metrics/samples.js');
  const { ingestSamples, RateMeter } = await import('../ingest/metrics.js');
  // Every option is checked before anything connects.
  // Folded as CQL folds it, as cassandra init does: Mixed_Case is mixed_case, "Quoted" is Quoted.
  const keyspace = resolveKeyspace(options.keyspace);
  const concurrency = positiveInteger(options.concurrency, '--concurrency');
  const batchSize = positiveInteger(options.batchSize, '--batch-size');
  positiveInteger(options.port, '--port'); // bad input fails before any connection
  const waitMs = parseDuration(options.wait, '--wait', 's');
  const count = options.count === undefined ? undefined : positiveInteger(options.count, '--count');
  const durationMs = options.duration === undefined ? undefined : parseDuration(options.duration, '--duration');
  const retries = nonNegativeInteger(options.retries, '--retries');
  // An empty CASSANDRA_TIMEOUT (a compose file's unset ${CASSANDRA_TIMEOUT}) means the driver's default.
  const readTimeoutMs = options.timeoutMs ? parseDuration(options.timeoutMs, '--timeout-ms', 'ms') : undefined;
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
  const consistency = consistencyLevel(driver.types.consistencies as unknown as Record<string, number>, options.consistency || 'ONE');
  const log = (line: string) => process.stderr.write(`ingest: ${line}\n`);
  // Notices (waiting for a service, the live line) are left out with --quiet; a lost connection is still said.
  const notice = (line: string) => {
    if (!options.quiet) log(line);
  };
  const slot = process.env.TASK_SLOT ?? '1';
  // SMARTMETER_GRAPHITE (how the stack's compose fragments point at Graphite) may be set empty: none.
  const graphiteAddress = options.graphite || undefined;
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
      if (attempt === 1) notice(`waiting for NATS: ${(error as Error).message}`);
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
      (attempt, reason) => attempt === 1 && notice(`waiting for Cassandra: ${reason}`),
    );
    // A stack starts ingest before anyone ran `cassandra init`: wait for the tables rather than die.
    await waitForTables(cassandra, keyspace.name, ['raw_data', 'raw_data_count'], waitMs, (missing) =>
      notice(`waiting for ${missing.map((t) => `${keyspace.name}.${t}`).join(', ')} (run smartmeter cassandra init)`));
  } catch (error) {
    await cassandra?.shutdown().catch(() => undefined);
    await nats.close().catch(() => undefined);
    throw error;
  }

  const stream = options.jetstream === true ? 'SMARTMETER' : options.jetstream || undefined;
  const ingest = new IngestBridge(nats, cassandra, {
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
  const live = process.stderr.isTTY && !options.json && !options.quiet ? setInterval(() => process.stderr.write(`\r${statusLine(ingest)}\u001b[K`), 250) : undefined;
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

