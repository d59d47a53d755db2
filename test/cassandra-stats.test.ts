// `smartmeter cassandra stats` against the rig's real Cassandra: per-table rows (counter table or
// scan), writes from the virtual tables, and the figures sent to a real Graphite and served to Prometheus.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import driver from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableStats } from '../src/cassandra/stats.js';
import { cassandraSamples } from '../src/cassandra/stats.js';
import { graphiteLines, prometheusText } from '../src/metrics/samples.js';
import { BIN, runCli } from './helpers/cli.js';
import { freePort, waitFor } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

describe('cassandra stats samples', () => {
  const stats: TableStats[] = [
    { table: 'raw_data', rows: 10, rowsFrom: 'counter', writes: 12, reads: 0, writeP99Ms: 1.5, diskMiB: 2 },
    { table: 'max_voltage', rowsFrom: 'unavailable', writes: 3, reads: 1, writeP99Ms: 0.2, diskMiB: 0 },
  ];

  it('labels each table: path nodes in Graphite, labels under one header in Prometheus', () => {
    const samples = cassandraSamples('ks', stats);
    expect(graphiteLines('smartmeter.cassandra', samples, 100).split('\n')).toContain('smartmeter.cassandra.ks.raw_data.rows 10 100');
    expect(graphiteLines('smartmeter.cassandra', samples, 100).split('\n')).toContain('smartmeter.cassandra.ks.max_voltage.writes 3 100');
    const text = prometheusText('cassandra', {}, samples);
    expect(text.match(/^# TYPE smartmeter_cassandra_writes_total counter$/gm)).toHaveLength(1);
    expect(text).toContain('smartmeter_cassandra_writes_total{keyspace="ks",table="raw_data"} 12\n');
    expect(text).toContain('smartmeter_cassandra_writes_total{keyspace="ks",table="max_voltage"} 3\n');
    // A table whose rows could not be counted has no rows series (rather than a false 0).
    expect(text).not.toContain('smartmeter_cassandra_rows{keyspace="ks",table="max_voltage"}');
  });
});

const cassandra = rigService('cassandra');
const graphite = rigService('graphite');

describe('cassandra stats keyspace names', () => {
  // Refused as cassandra init refuses them: before connecting, exit 2, one line.
  it.each([
    ['select', /^smartmeter: "select" is a reserved word of CQL: quote it \(--keyspace '"select"'\) or choose another name\n$/],
    ['Table', /^smartmeter: "Table" is a reserved word of CQL: quote it \(--keyspace '"table"'\) or choose another name\n$/],
    ['"a-b"', /^smartmeter: ""a-b"" is not a valid keyspace name \(Cassandra allows letters, digits and _ only\)\n$/],
  ])('--keyspace %s: exit 2', (name, message) => {
    const started = Date.now();
    const r = runCli(['cassandra', 'stats', '--port', '1', '--keyspace', name, '--wait', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe.runIf(cassandra)('cassandra stats on a real Cassandra', () => {
  const [host, port] = (cassandra?.CASSANDRA_CONTACT_POINT ?? '127.0.0.1:9042').split(':');
  const target = ['--contact-points', host!, '--port', port!];
  const ks = `stats_${process.pid}_${Date.now() % 1_000_000}`;
  /** Keyspaces made by the tests, as CQL writes them (dropped at the end). */
  const made = [ks];
  const client = new driver.Client({ contactPoints: [cassandra?.CASSANDRA_CONTACT_POINT ?? ''], localDataCenter: cassandra?.CASSANDRA_LOCAL_DC ?? '' });
  const stats = () => {
    const r = runCli(['cassandra', 'stats', ...target, '--keyspace', ks, '--json']);
    expect(r.status, r.stderr).toBe(0);
    return new Map((JSON.parse(r.stdout) as { tables: TableStats[] }).tables.map((t) => [t.table, t]));
  };

  beforeAll(() => {
    const r = runCli(['cassandra', 'init', ...target, '--keyspace', ks, '--json']);
    expect(r.status, r.stderr).toBe(0);
  });
  afterAll(async () => {
    for (const name of made) await client.execute(`DROP KEYSPACE IF EXISTS ${name}`).catch(() => undefined);
    await client.shutdown();
  }, 60_000);

  it('counts rows per table (raw_data through its counter table) and the writes since', async () => {
    const before = stats();
    expect(before.get('raw_data')).toMatchObject({ rows: 0, rowsFrom: 'counter' });
    expect(before.get('temperature')).toMatchObject({ rows: 0, rowsFrom: 'scan' });
    for (let i = 0; i < 7; i += 1) await client.execute(`INSERT INTO ${ks}.temperature (epoch, temperature) VALUES (?, ?)`, [i, 20 + i], { prepare: true });
    await client.execute(`UPDATE ${ks}.raw_data_count SET count = count + 41 WHERE line = 1`);
    await client.execute(`UPDATE ${ks}.raw_data_count SET count = count + 1 WHERE line = 2`);
    const after = stats();
    expect(after.get('temperature')).toMatchObject({ rows: 7, rowsFrom: 'scan' });
    expect(after.get('raw_data')).toMatchObject({ rows: 42, rowsFrom: 'counter' });
    // Coordinator writes counted by the node's virtual table: exactly the 7 inserts (nothing else writes there).
    expect(after.get('temperature')!.writes - before.get('temperature')!.writes).toBe(7);
    expect(after.get('max_voltage')!.writes - before.get('max_voltage')!.writes).toBe(0);
  });

  // Keyspace names are folded as CQL folds them, as cassandra init does (one function for both):
  // an unquoted name is its lower case, a "quoted" one is kept as written.
  it('an upper-case spelling of an unquoted keyspace is that keyspace: its tables listed, under the name Cassandra holds', () => {
    const upper = ks.toUpperCase();
    // init folds it to the same keyspace...
    const dry = runCli(['cassandra', 'init', '--keyspace', upper, '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH`);
    // ...and so does stats.
    const r = runCli(['cassandra', 'stats', ...target, '--keyspace', upper, '--json', '--wait', '10']);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { keyspace: string; tables: TableStats[] };
    expect(json.keyspace).toBe(ks);
    expect(json.tables.map((t) => t.table)).toEqual(expect.arrayContaining(['raw_data', 'raw_data_count', 'temperature', 'schema_migrations']));
  });

  it('a "quoted" mixed-case keyspace made by init: its rows counted (the statements quote it), the unquoted spelling another keyspace', async () => {
    const name = `Stats_Q_${process.pid}_${Date.now() % 1_000_000}`;
    const quoted = `"${name}"`;
    made.push(quoted);
    const init = runCli(['cassandra', 'init', ...target, '--keyspace', quoted, '--json']);
    expect(init.status, init.stderr).toBe(0);
    expect((JSON.parse(init.stdout) as { keyspace: string }).keyspace).toBe(name);
    for (let i = 0; i < 3; i += 1) await client.execute(`INSERT INTO ${quoted}.temperature (epoch, temperature) VALUES (?, ?)`, [i, 20 + i], { prepare: true });
    await client.execute(`UPDATE ${quoted}.raw_data_count SET count = count + 5 WHERE line = 1`);
    const r = runCli(['cassandra', 'stats', ...target, '--keyspace', quoted, '--json', '--wait', '10']);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { keyspace: string; tables: TableStats[] };
    expect(json.keyspace).toBe(name);
    const tables = new Map(json.tables.map((t) => [t.table, t]));
    expect(tables.get('temperature')).toMatchObject({ rows: 3, rowsFrom: 'scan' });
    expect(tables.get('raw_data')).toMatchObject({ rows: 5, rowsFrom: 'counter' });
    expect(tables.get('temperature')!.writes).toBe(3);
    // Unquoted, the same letters are the lower-case keyspace, which does not exist.
    const unquoted = runCli(['cassandra', 'stats', ...target, '--keyspace', name, '--wait', '10']);
    expect(unquoted.status).toBe(1);
    expect(unquoted.stderr.trim()).toBe(`smartmeter: keyspace ${name.toLowerCase()} has no tables (run smartmeter cassandra init first?)`);
  });

  it('names a keyspace without tables in one line, exit 1', () => {
    const r = runCli(['cassandra', 'stats', ...target, '--keyspace', 'no_such_ks', '--wait', '5']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('smartmeter: keyspace no_such_ks has no tables (run smartmeter cassandra init first?)');
  });

  it.runIf(graphite)('watching, sends the figures to Graphite and serves them on /metrics until stopped', async () => {
    const metricsPort = await freePort();
    const root = `smartmeter.test${process.pid}x${Date.now() % 100_000}`;
    const child = spawn(BIN, ['cassandra', 'stats', ...target, '--keyspace', ks, '--interval', '1s', '--graphite', graphite!.GRAPHITE_PLAINTEXT!,
      '--graphite-prefix', `${root}.cassandra`, '--metrics-port', String(metricsPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const text = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => undefined);
        const body = response?.ok ? await response.text() : '';
        return body.includes('smartmeter_cassandra_rows') ? body : undefined;
      }, 30_000, 'the stats /metrics endpoint');
      expect(text).toContain(`smartmeter_cassandra_rows{keyspace="${ks}",table="temperature"} 7\n`);
      expect(text).toContain(`smartmeter_cassandra_rows{keyspace="${ks}",table="raw_data"} 42\n`);
      const file = join(graphite!.GRAPHITE_WHISPER_DIR!, ...root.split('.'), 'cassandra', ks, 'temperature', 'rows.wsp');
      const values = await waitFor(async () => {
        if (!existsSync(file)) return undefined;
        const r = spawnSync('whisper-fetch', [`--from=${Math.floor(Date.now() / 1000) - 300}`, file], { encoding: 'utf8' });
        const seen = r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[1]).filter((v) => v !== undefined && v !== 'None').map(Number);
        return seen.length ? seen : undefined;
      }, 30_000, `the rows series in ${file}`);
      expect(values).toContain(7);
      // metrics check finds every series of the command through graphite-web's render API.
      const check = await waitFor(async () => {
        const r = runCli(['metrics', 'check', '--graphite-url', graphite!.GRAPHITE_URL!, '--prefix', root, '--command', 'cassandra', '--window', '5m', '--json']);
        return r.status === 0 ? (JSON.parse(r.stdout) as { checks: { series: string; arriving: boolean }[] }) : undefined;
      }, 30_000, 'metrics check --command cassandra');
      expect(check.checks.map((c) => c.series).sort()).toEqual(['disk_mib', 'reads', 'rows', 'write_p99_ms', 'writes'].map((n) => `${root}.cassandra.*.*.${n}`));
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    rmSync(join(graphite!.GRAPHITE_WHISPER_DIR!, ...root.split('.')), { recursive: true, force: true });
  });
});
