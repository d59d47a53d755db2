/**
 * Per-table figures of a keyspace, through CQL only (the stack's images have no JMX agent):
 *  - rows: from the companion counter table when there is one (`raw_data` → `raw_data_count`,
 *    which ingest maintains; a full scan of raw_data would not finish), else `SELECT count(*)`,
 *    bounded by a timeout;
 *  - writes, reads and write latency: Cassandra's virtual tables (4.1+), which are node-local,
 *    so every node is asked and the figures summed (latency: the worst node);
 *  - disk use: `system_views.disk_usage`, summed over the nodes.
 */
import type { Client, types } from 'cassandra-driver';
import type { MetricSample } from '../metrics/samples.js';
import type { KeyspaceName } from './keyspace.js';

export interface TableStats {
  table: string;
  /** Undefined when counting failed (a scan that timed out). */
  rows?: number;
  rowsFrom: 'counter' | 'scan' | 'unavailable';
  /** Client writes coordinated by the nodes, since each node started. */
  writes: number;
  reads: number;
  writeP99Ms: number;
  diskMiB: number;
}

export interface StatsOptions {
  /** Per-table limit of a `count(*)` scan. */
  scanTimeoutMs: number;
  /** Told once per table whose figure could not be read. */
  warn?: (line: string) => void;
}

type Row = types.Row;
type Host = Client['hosts'] extends { values(): (infer H)[] } ? H : never;

/**
 * The figures of each table of `keyspace` (resolveKeyspace's: system_schema and the virtual
 * tables are asked for the name Cassandra holds, statements write it as CQL must).
 */
export async function collectTableStats(client: Client, keyspace: KeyspaceName, options: StatsOptions): Promise<TableStats[]> {
  const tables = (await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace.name], { prepare: true })).rows.map(
    (row) => String(row.get('table_name')),
  );
  const counterColumns = await counterTables(client, keyspace.name);
  const perNode = await onEveryNode(client, keyspace.name);
  const stats: TableStats[] = [];
  for (const table of tables.sort()) {
    const figures = perNode.get(table) ?? { writes: 0, reads: 0, writeP99Ms: 0, diskMiB: 0 };
    const counter = counterColumns.get(`${table}_count`);
    let rows: number | undefined;
    let rowsFrom: TableStats['rowsFrom'];
    try {
      if (counter) {
        const result = await client.execute(`SELECT "${counter}" FROM ${keyspace.cql}."${table}_count"`, [], { readTimeout: options.scanTimeoutMs });
        rows = result.rows.reduce((sum, row) => sum + Number(row.get(counter) ?? 0), 0);
        rowsFrom = 'counter';
      } else {
        const result = await client.execute(`SELECT count(*) AS n FROM ${keyspace.cql}."${table}"`, [], { readTimeout: options.scanTimeoutMs });
        rows = Number(result.rows[0]?.get('n') ?? 0);
        rowsFrom = 'scan';
      }
    } catch (error) {
      options.warn?.(`${keyspace.name}.${table}: rows not counted (${(error as Error).message})`);
      rowsFrom = 'unavailable';
    }
    stats.push({ table, rows, rowsFrom, ...figures });
  }
  return stats;
}

/** Tables holding a single counter column: `<table>_count` → its counter column (`keyspace` as Cassandra holds it). */
async function counterTables(client: Client, keyspace: string): Promise<Map<string, string>> {
  const result = await client.execute('SELECT table_name, column_name, type FROM system_schema.columns WHERE keyspace_name = ?', [keyspace], { prepare: true });
  const counters = new Map<string, string[]>();
  for (const row of result.rows) {
    if (String(row.get('type')) !== 'counter') continue;
    const table = String(row.get('table_name'));
    counters.set(table, [...(counters.get(table) ?? []), String(row.get('column_name'))]);
  }
  return new Map([...counters].filter(([, columns]) => columns.length === 1).map(([table, columns]) => [table, columns[0]!]));
}

/** The virtual tables' figures of each table, over all the nodes the driver knows (`keyspace` as Cassandra holds it). */
async function onEveryNode(client: Client, keyspace: string): Promise<Map<string, Omit<TableStats, 'table' | 'rows' | 'rowsFrom'>>> {
  const figures = new Map<string, Omit<TableStats, 'table' | 'rows' | 'rowsFrom'>>();
  const of = (table: string) => {
    let f = figures.get(table);
    if (!f) figures.set(table, (f = { writes: 0, reads: 0, writeP99Ms: 0, diskMiB: 0 }));
    return f;
  };
  const ask = async (query: string, host: Host, each: (row: Row) => void) => {
    const result = await client.execute(query, [keyspace], { prepare: true, host });
    for (const row of result.rows) each(row);
  };
  for (const host of client.hosts.values()) {
    if (!host.isUp()) continue;
    await ask('SELECT table_name, count, p99th_ms FROM system_views.coordinator_write_latency WHERE keyspace_name = ?', host, (row) => {
      const f = of(String(row.get('table_name')));
      f.writes += Number(row.get('count') ?? 0);
      f.writeP99Ms = Math.max(f.writeP99Ms, Number(row.get('p99th_ms') ?? 0));
    });
    await ask('SELECT table_name, count FROM system_views.coordinator_read_latency WHERE keyspace_name = ?', host, (row) => {
      of(String(row.get('table_name'))).reads += Number(row.get('count') ?? 0);
    });
    await ask('SELECT table_name, mebibytes FROM system_views.disk_usage WHERE keyspace_name = ?', host, (row) => {
      of(String(row.get('table_name'))).diskMiB += Number(row.get('mebibytes') ?? 0);
    });
  }
  return figures;
}

/** The figures as metric samples, labelled by keyspace and table (Graphite: `<prefix>.<keyspace>.<table>.<name>`). */
export function cassandraSamples(keyspace: string, stats: readonly TableStats[]): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const t of stats) {
    const labels = { keyspace, table: t.table };
    if (t.rows !== undefined) samples.push({ name: 'rows', help: 'Rows in the table (its counter table when it has one, else a count(*) scan).', type: 'gauge', value: t.rows, labels });
    samples.push(
      { name: 'writes', help: 'Writes coordinated into the table, summed over the nodes since they started.', type: 'counter', value: t.writes, labels },
      { name: 'reads', help: 'Reads coordinated from the table, summed over the nodes since they started.', type: 'counter', value: t.reads, labels },
      { name: 'write_p99_ms', help: '99th percentile of the coordinator write latency, worst node.', type: 'gauge', value: t.writeP99Ms, labels },
      { name: 'disk_mib', help: 'Disk space used by the table, summed over the nodes (MiB).', type: 'gauge', value: t.diskMiB, labels },
    );
  }
  return samples;
}
