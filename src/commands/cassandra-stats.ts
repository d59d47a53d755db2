/** `smartmeter cassandra stats`: parse, connect, read the per-table figures once or every interval, print or send. */
import { RuntimeError } from '../errors.js';
import { parseDuration, positiveInteger } from '../parsers.js';
import { connectionFromFlags, connectWithRetry, type CassandraConnectionFlags } from '../cassandra/connection.js';
import { resolveKeyspace } from '../cassandra/keyspace.js';
import { cassandraSamples, collectTableStats, type TableStats } from '../cassandra/stats.js';
import { GraphiteReporter } from '../metrics/graphite.js';
import { parseListenAddress, serveMetrics } from '../metrics/prometheus.js';
import { prometheusText, type MetricSample } from '../metrics/samples.js';

export interface CassandraStatsOptions extends CassandraConnectionFlags {
  keyspace: string;
  interval: string;
  scanTimeout: string;
  wait: string;
  graphite?: string;
  graphitePrefix: string;
  metricsPort?: string;
  json?: boolean;
}

export async function runCassandraStats(options: CassandraStatsOptions): Promise<void> {
  // Folded as CQL folds it, as cassandra init does: SOMEKS is someks, "Quoted" is Quoted.
  const keyspace = resolveKeyspace(options.keyspace);
  const connection = connectionFromFlags(options);
  const intervalMs = parseDuration(options.interval, '--interval');
  const scanTimeoutMs = parseDuration(options.scanTimeout, '--scan-timeout');
  const waitMs = positiveInteger(options.wait, '--wait') * 1000;
  const metricsAddress = options.metricsPort === undefined ? undefined : parseListenAddress(options.metricsPort, '--metrics-port');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const graphite = options.graphite ? new GraphiteReporter(options.graphite, options.graphitePrefix, log) : undefined;

  const client = await connectWithRetry(connection, waitMs, (attempt, reason) => attempt === 1 && log(`waiting for Cassandra: ${reason}`));
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
    if (server) log(`metrics on http://${metricsAddress!.host}:${server.port}/metrics`);
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
