// `smartmeter cassandra init` against the rig's real Cassandra.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import driver from 'cassandra-driver';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from './helpers/cli.js';
import { freePort } from './helpers/net.js';
import { rigService } from './helpers/rig.js';

const rig = rigService('cassandra');
let counter = 0;
const keyspace = () => `it_${process.pid}_${Date.now() % 1_000_000}_${(counter += 1)}`;

interface InitJson {
  keyspace: string;
  replication: string;
  applied: { script: string; statements: number; reapplied: boolean }[];
  unchanged: string[];
}

describe.runIf(rig)('cassandra init on a real Cassandra', () => {
  const [host, port] = (rig?.CASSANDRA_CONTACT_POINT ?? '127.0.0.1:9042').split(':');
  const target = ['--contact-points', host!, '--port', port!];
  const client = new driver.Client({ contactPoints: [rig?.CASSANDRA_CONTACT_POINT ?? ''], localDataCenter: rig?.CASSANDRA_LOCAL_DC ?? '' });
  const created: string[] = [];
  afterAll(async () => {
    for (const ks of created) await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
    await client.shutdown();
  });
  const init = (ks: string, extra: string[] = []) => {
    created.push(ks);
    return runCli(['cassandra', 'init', ...target, '--keyspace', ks, '--json', ...extra]);
  };
  const tables = async (ks: string) =>
    (await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [ks])).rows.map((r) => r.get('table_name') as string).sort();

  it('creates the keyspace and every table of the schema, then a second run changes nothing', async () => {
    const ks = keyspace();
    const first = init(ks);
    expect(first.stderr).toBe('');
    expect((JSON.parse(first.stdout) as InitJson).applied).toEqual([{ script: '001-smartmeter-tables.cql', statements: 6, reapplied: false }]);
    expect(await tables(ks)).toEqual([
      'avg_voltage_by_transformer', 'max_voltage', 'raw_data', 'raw_data_count', 'schema_lock', 'schema_migrations', 'temperature', 'voltage_alerts',
    ]);
    const columns = (await client.execute('SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?', [ks, 'raw_data'])).rows.map((r) => r.get('column_name'));
    expect(columns).toEqual(expect.arrayContaining(['demand', 'val3', 'val12', 'epoch', 'usagepoint', 'day_of_week']));
    const migration = (await client.execute(`SELECT checksum, applied_at FROM ${ks}.schema_migrations WHERE script = ?`, ['001-smartmeter-tables.cql'])).first();
    expect(migration.get('checksum')).toMatch(/^[0-9a-f]{64}$/);
    const second = JSON.parse(init(ks).stdout) as InitJson;
    expect(second.applied).toEqual([]);
    expect(second.unchanged).toEqual(['001-smartmeter-tables.cql']);
  });

  it('sets the replication by cluster mode', async () => {
    const single = keyspace();
    const cluster = keyspace();
    init(single);
    init(cluster, ['--mode', 'cluster']);
    const replication = async (ks: string) =>
      (await client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [ks])).first().get('replication') as Record<string, string>;
    expect(await replication(single)).toEqual({ class: 'org.apache.cassandra.locator.SimpleStrategy', replication_factor: '1' });
    expect(await replication(cluster)).toEqual({ class: 'org.apache.cassandra.locator.NetworkTopologyStrategy', [rig!.CASSANDRA_LOCAL_DC!]: '3' });
  });

  it('refuses to run against a keyspace that exists with another replication', () => {
    const ks = keyspace();
    expect(init(ks).status).toBe(0);
    const run = init(ks, ['--mode', 'cluster']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^smartmeter: keyspace ${ks} exists with replication \\{.*SimpleStrategy.*\\}, not \\{'class': 'NetworkTopologyStrategy'`));
  });

  it('refuses a script changed after it was applied, unless --force', async () => {
    const ks = keyspace();
    const scripts = mkdtempSync(join(tmpdir(), 'smartmeter-cql-'));
    writeFileSync(join(scripts, '001-a.cql'), 'CREATE TABLE IF NOT EXISTS ${KEYSPACE}.a (k int PRIMARY KEY);\n');
    expect(init(ks, ['--scripts', scripts]).status).toBe(0);
    appendFileSync(join(scripts, '001-a.cql'), 'ALTER TABLE ${KEYSPACE}.a ADD v text;\n');
    const refused = init(ks, ['--scripts', scripts]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^smartmeter: .*001-a\.cql changed since it was applied on \d{4}-\d\d-\d\dT.*--force/);
    const forced = JSON.parse(init(ks, ['--scripts', scripts, '--force']).stdout) as InitJson;
    expect(forced.applied).toEqual([{ script: '001-a.cql', statements: 2, reapplied: true }]);
  });

  it('reports bad CQL with its script and line', () => {
    const scripts = mkdtempSync(join(tmpdir(), 'smartmeter-cql-'));
    writeFileSync(join(scripts, '001-ok.cql'), 'CREATE TABLE IF NOT EXISTS ${KEYSPACE}.ok (k int PRIMARY KEY);\n');
    writeFileSync(join(scripts, '002-bad.cql'), '-- a comment\n\nCREATE TABLE ${KEYSPACE}.bad (k int PRIMARY KEY);\n\nCREATE TABEL ${KEYSPACE}.oops (k int PRIMARY KEY);\n');
    const run = init(keyspace(), ['--scripts', scripts]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^smartmeter: .*002-bad\.cql:5: .*\n$/);
  });

  it('serialises two inits started at once: the script is applied exactly once', async () => {
    const ks = keyspace();
    created.push(ks);
    const scripts = mkdtempSync(join(tmpdir(), 'smartmeter-cql-'));
    const statements = Array.from({ length: 25 }, (_, i) => `CREATE TABLE IF NOT EXISTS \${KEYSPACE}.t${i} (k int PRIMARY KEY, v text);`);
    writeFileSync(join(scripts, '001-many.cql'), `${statements.join('\n')}\n`);
    const start = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'cassandra', 'init', ...target, '--keyspace', ks, '--scripts', scripts, '--json'], { env: { PATH: process.env.PATH } });
        let out = '';
        child.stdout.on('data', (chunk) => (out += chunk));
        child.on('close', (code) => resolve({ code, out }));
      });
    const results = await Promise.all([start(), start()]);
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    const applied = results.map((r) => (JSON.parse(r.out) as InitJson).applied.length).sort();
    expect(applied).toEqual([0, 1]);
    expect((await tables(ks)).length).toBe(25 + 2);
  });

  it('prints the statements with --dry-run, without connecting', async () => {
    const closed = await freePort();
    const run = runCli(['cassandra', 'init', '--dry-run', '--keyspace', 'dry', '--port', String(closed)]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^CREATE KEYSPACE IF NOT EXISTS dry WITH replication = \{'class': 'SimpleStrategy', 'replication_factor': 1\};$/m);
    expect(run.stdout).toContain('CREATE TABLE IF NOT EXISTS dry.raw_data (');
  });

  it('gives up on an unreachable Cassandra after --wait, with the reason', async () => {
    const closed = await freePort();
    const started = Date.now();
    const run = runCli(['cassandra', 'init', '--port', String(closed), '--wait', '2']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^smartmeter: cannot reach Cassandra at 127\\.0\\.0\\.1 \\(port ${closed}\\) after 2 s: .*ECONNREFUSED.*\\n$`));
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('no secret in --help', () => {
  it('does not show CASSANDRA_PASSWORD as a default', () => {
    const help = runCli(['cassandra', 'init', '--help'], { env: { CASSANDRA_PASSWORD: 'hunter2-help' } });
    expect(help.status).toBe(0);
    expect(help.stdout).not.toContain('hunter2-help');
  });
});

describe('cassandra init bad input', () => {
  it.each([
    [['--mode', 'galaxy'], /--mode must be single or cluster/],
    [['--keyspace', 'bad-name'], /"bad-name" is not a valid keyspace name/],
    [['--wait', 'soon'], /--wait must be a positive whole number/],
    [['--scripts', '/no/such/dir'], /scripts directory \/no\/such\/dir does not exist/],
  ])('%j', (args, message) => {
    const run = runCli(['cassandra', 'init', '--dry-run', ...args]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
