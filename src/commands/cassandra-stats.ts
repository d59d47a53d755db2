/** `smartmeter cassandra stats`: its definition (options, help), then the handler: connect, read the per-table figures once or every interval, print or send. */
import { Command } from '@commander-js/extra-typings';
import { durationHelp, jsonOption, keyspaceOption, quietOption, withCassandraOptions, withExamples, type OptionsOf } from '../cli-kit.js';
import { RuntimeError } from '../errors.js';
import { parseDuration } from '../parsers.js';
import type { TableStats } from '../cassandra/stats.js';
import type { MetricSample } from '../metrics/samples.js';

/** The command line of `cassandra stats`: its options and help. */
function definition() {
  return withExamples(
    withCassandraOptions(new Command('stats'))
      .summary('rows, writes, reads, write latency and disk use of each table, through CQL')
      .description(
        'Read per-table figures of the keyspace: rows (from the table\'s counter table when it has one, as ' +
          'raw_data has raw_data_count, else a count(*) bounded by --scan-timeout), and the writes, reads, ' +
          'write latency and disk use that Cassandra\'s virtual tables give, summed over every node. ' +
          'Once, or with --graphite/--metrics-port every --interval until Ctrl-C (the stack\'s cassandra_stats).',
      )
      .addOption(keyspaceOption())
      .option('--interval <time>', durationHelp('with --graphite or --metrics-port: read the figures this often'), '10s')
      .option('--scan-timeout <time>', durationHelp('longest count(*) of a table without a counter table'), '10s')
      .option('--wait <time>', durationHelp('how long to wait for Cassandra to answer', 's'), '120')
      .option('--graphite <host[:port]>', 'send the figures to Graphite as <prefix>.<keyspace>.<table>.<name>')
      .option('--graphite-prefix <path>', 'metric path prefix', 'smartmeter.cassandra')
      .option('--metrics-port <[host:]port>', 'serve them as Prometheus metrics on http://host:port/metrics (host 127.0.0.1 by default)')
      .addOption(jsonOption('the figures once, {"keyspace", "tables": [{"table", "rows", "rowsFrom": "counter"|"scan"|"unavailable", "writes", "reads", "writeP99Ms", "diskMiB"}]}'))
      .addOption(quietOption()),
    [
      'smartmeter cassandra stats                                  # a table of figures, once',
      'smartmeter cassandra stats --json --keyspace test_ks',
      'smartmeter cassandra stats --graphite graphite:2003 --metrics-port 0.0.0.0:9465 --interval 10s',
    ],
  );
}

/** What `runCassandraStats` takes: the options as parsed. */
export type CassandraStatsOptions = OptionsOf<typeof definition>;

/** `cassandra stats`, ready to register under `cassandra`. */
export function command() {
  return definition().action(async (options) => {
    await runCassandraStats(options);
  });
}

export async function runCassandraStats(options: CassandraStatsOptions): Promise<void> {
  // Loaded here, not at start-up: other commands do not pay for them.
  const { connectionFromFlags, connectWithRetry } = await import('../cassandra/connection.js');
  const { resolveKeyspace } = await import('../cassandra/keyspace.js');
  const { cassandraSamples, collectTableStats } = await import('../cassandra/stats.js');
  const { GraphiteReporter } = await import('../metrics/graphite.js');
  const { parseListenAddress, serveMetrics } = await import('../metrics/prometheus.js');
  const { prometheusText } = await import('../metrics/samples.js');
  // Folded as CQL folds it, as cassandra init does: SOMEKS is someks, "Quoted" is Quoted.
  const keyspace = resolveKeyspace(options.keyspace);
  const connection = connectionFromFlags(options);
  const intervalMs = parseDuration(options.interval, '--interval');
  const scanTimeoutMs = parseDuration(options.scanTimeout, '--scan-timeout');
  const waitMs = parseDuration(options.wait, '--wait', 's');
  const metricsAddress = options.metricsPort === undefined ? undefined : parseListenAddress(options.metricsPort, '--metrics-port');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // Notices (waiting, where the metrics are served) are left out with --quiet; warnings are not.
  const notice = (line: string) => {
    if (!options.quiet) log(line);
  };
  const graphite = options.graphite ? new GraphiteReporter(options.graphite, options.graphitePrefix, log) : undefined;

  const client = await connectWithRetry(connection, waitMs, (attempt, reason) => attempt === 1 && notice(`waiting for Cassandra: ${reason}`));
  const warned = new Set<string>();
  const collect = async () => {
    const stats = await collectTableStats(client, keyspace, {
      scanTimeoutMs,
      warn: (line) => {
        const table = line.split(':')[0]!;
        if (!warned.has(table)) log(`smartmeter: ${line}`);
        warned.add(table);
      },
    });
    if (!stats.length) throw new RuntimeError(`keyspace ${keyspace.name} has no tables (run smartmeter cassandra init first?)`);
    return stats;
  };

  try {
    if (!graphite && !metricsAddress) {
      print(await collect(), keyspace.name, options);
      return;
    }
    // Watching: a figure read every interval, pushed to Graphite and kept for the scrapes.
    let latest: MetricSample[] = [];
    const server = metricsAddress ? await serveMetrics(metricsAddress, () => prometheusText('cassandra', {}, latest)) : undefined;
    if (server) notice(`metrics on http://${metricsAddress!.host}:${server.port}/metrics`);
    let stopping = false;
    let wake: () => void = () => undefined;
    const stop = () => {
      stopping = true;
      wake();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    while (!stopping) {
      try {
        latest = cassandraSamples(keyspace.name, await collect());
        graphite?.send(latest);
      } catch (error) {
        // A node restarting must not end the watch: said once per kind of failure, tried again next interval.
        const reason = (error as Error).message;
        if (!warned.has(reason)) log(`smartmeter: cassandra stats: ${reason}`);
        warned.add(reason);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await server?.close();
    await graphite?.close();
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

function print(stats: readonly TableStats[], keyspace: string, options: CassandraStatsOptions): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ keyspace, tables: stats })}\n`);
    return;
  }
  const header = ['table', 'rows', 'writes', 'reads', 'write p99 ms', 'disk MiB'];
  const rows = stats.map((t) => [
    t.table,
    t.rows === undefined ? '?' : `${t.rows}${t.rowsFrom === 'counter' ? ' (counter)' : ''}`,
    String(t.writes),
    String(t.reads),
    t.writeP99Ms.toFixed(2),
    t.diskMiB.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const line of [header, ...rows]) process.stdout.write(`${line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}\n`);
}
