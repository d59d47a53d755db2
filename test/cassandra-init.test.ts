// `smartmeter cassandra init` against the rig's real Cassandra.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import driver from 'cassandra-driver';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from './helpers/cli.js';
import { freePort, waitFor } from './helpers/net.js';
import { rigService } from './helpers/rig.js';
import { resolveKeyspace, scriptChecksum } from '../src/cassandra/migrations.js';

const rig = rigService('cassandra');
let counter = 0;
const keyspace = () => `it_${process.pid}_${Date.now() % 1_000_000}_${(counter += 1)}`;

/** An init running in the background: its stderr as it comes, and how it ended. */
function startInit(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, 'cassandra', 'init', ...args], { env: { PATH: process.env.PATH, NO_COLOR: '1', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { stderr: () => stderr, done };
}

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
    for (const ks of new Set(created)) await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
    await client.shutdown();
  }, 120_000);
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

  it('finds a script unchanged when only its line endings changed (the checksum is over its statements)', async () => {
    const ks = keyspace();
    const scripts = mkdtempSync(join(tmpdir(), 'smartmeter-cql-'));
    const file = join(scripts, '001-a.cql');
    const lf = '-- a table\nCREATE TABLE IF NOT EXISTS ${KEYSPACE}.a (\n  k int PRIMARY KEY,\n  v text\n);\nINSERT INTO ${KEYSPACE}.a (k, v) VALUES (1, \'one\');\n';
    writeFileSync(file, lf);
    expect(init(ks, ['--scripts', scripts]).status).toBe(0);
    // The same statements: CRLF line endings (row 6 of issue 16)...
    writeFileSync(file, lf.replaceAll('\n', '\r\n'));
    const crlf = init(ks, ['--scripts', scripts]);
    expect(crlf.stderr).toBe('');
    expect(crlf.status).toBe(0);
    expect(JSON.parse(crlf.stdout) as InitJson).toMatchObject({ applied: [], unchanged: ['001-a.cql'] });
    // ...and trailing blanks, a comment more.
    writeFileSync(file, lf.replaceAll('\n', '  \r\n').replace('v text', 'v text -- the value'));
    const again = init(ks, ['--scripts', scripts]);
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout) as InitJson).toMatchObject({ applied: [], unchanged: ['001-a.cql'] });
    const recorded = (await client.execute(`SELECT checksum FROM ${ks}.schema_migrations WHERE script = ?`, ['001-a.cql'])).first().get('checksum') as string;
    expect(recorded).toBe(scriptChecksum(lf));
    // What Cassandra is told changed: refused.
    writeFileSync(file, lf.replace("'one'", "'two'"));
    expect(init(ks, ['--scripts', scripts]).status).toBe(2);
  });

  it('keeps the records of earlier versions (a checksum of the bytes) valid, and rewrites them to the statements checksum', async () => {
    const ks = keyspace();
    const scripts = mkdtempSync(join(tmpdir(), 'smartmeter-cql-'));
    const file = join(scripts, '001-a.cql');
    const lf = 'CREATE TABLE IF NOT EXISTS ${KEYSPACE}.a (k int PRIMARY KEY);\n';
    writeFileSync(file, lf);
    expect(init(ks, ['--scripts', scripts]).status).toBe(0);
    const record = async () => (await client.execute(`SELECT checksum FROM ${ks}.schema_migrations WHERE script = ?`, ['001-a.cql'])).first().get('checksum') as string;
    // As an earlier version recorded it: SHA-256 of the file's bytes.
    const bytes = createHash('sha256').update(readFileSync(file)).digest('hex');
    for (const content of [lf, lf.replaceAll('\n', '\r\n')]) {
      await client.execute(`UPDATE ${ks}.schema_migrations SET checksum = ? WHERE script = ?`, [bytes, '001-a.cql']);
      writeFileSync(file, content);
      const run = init(ks, ['--scripts', scripts]);
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout) as InitJson).toMatchObject({ applied: [], unchanged: ['001-a.cql'] });
      expect(await record()).toBe(scriptChecksum(lf));
    }
  });

  it('folds the keyspace name as CQL does: the replication check sees a Mixed_Case keyspace', async () => {
    const name = `Mixed_Case_${process.pid}_${Date.now() % 100_000}`;
    created.push(name);
    await client.execute(`CREATE KEYSPACE ${name} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    const run = init(name, ['--replication-factor', '2']);
    expect(run.stdout).toBe('');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^smartmeter: keyspace ${name.toLowerCase()} exists with replication \\{.*'replication_factor': '1'\\}, not .*'replication_factor': 2\\}.*\\n$`));
    const replication = (await client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [name.toLowerCase()])).first().get('replication') as Record<string, string>;
    expect(replication.replication_factor).toBe('1');
  });

  it('resolves a keyspace name to the one Cassandra holds (unquoted: lower case; "quoted": as written)', async () => {
    const suffix = `${process.pid}_${Date.now() % 100_000}`;
    const names = [`Mixed_${suffix}`, `UPPER_${suffix}`, `"Quoted_Mixed_${suffix}"`, `"quoted_lower_${suffix}"`, `"1digit_${suffix}"`, `"_under_${suffix}"`];
    const keyspaces = async () => new Set((await client.execute('SELECT keyspace_name FROM system_schema.keyspaces')).rows.map((r) => r.get('keyspace_name') as string));
    for (const name of names) {
      // The oracle: what Cassandra makes of the name.
      const before = await keyspaces();
      await client.execute(`CREATE KEYSPACE ${name} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
      const stored = [...(await keyspaces())].filter((k) => !before.has(k));
      expect(stored).toHaveLength(1);
      created.push(`"${stored[0]!}"`);
      // smartmeter, over that keyspace: the same name, its tables in it, no other keyspace made.
      const run = init(name);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect((JSON.parse(run.stdout) as InitJson).keyspace).toBe(stored[0]);
      expect(await tables(stored[0]!)).toContain('raw_data');
      expect([...(await keyspaces())].filter((k) => !before.has(k))).toEqual(stored);
    }
  });

  it('accepts and refuses the keyspace names Cassandra accepts and refuses, and names them as Cassandra does', async () => {
    const suffix = `${process.pid % 10_000}_${Date.now() % 100_000}`;
    // Cassandra 5.0's reserved keywords (reserved_keywords.txt of cassandra-all), some unreserved ones, odd names.
    const reserved =
      'ADD ALLOW ALTER AND APPLY ASC AUTHORIZE BATCH BEGIN BY COLUMNFAMILY CREATE DELETE DESC DESCRIBE DROP ENTRIES EXECUTE FROM FULL GRANT IF IN INDEX INFINITY INSERT INTO IS KEYSPACE LIMIT MATERIALIZED MODIFY NAN NORECURSIVE NOT NULL OF ON OR ORDER PRIMARY RENAME REVOKE SCHEMA SELECT SET TABLE TO TOKEN TRUNCATE UNLOGGED UPDATE USE USING VIEW WHERE WITH';
    const candidates = [
      ...reserved.toLowerCase().split(' '),
      'Select', '"select"', '"Keyspace"',
      'ttl', 'key', 'writetime', 'int', 'static', 'json', 'Role',
      `Mixed_${suffix}`, `"Mixed_${suffix}"`, `"1d_${suffix}"`, `1d_${suffix}`, `_u_${suffix}`, `"_u_${suffix}"`,
      `"a b_${suffix}"`, `a-b_${suffix}`, `"a-b_${suffix}"`, `"é_${suffix}"`, `a"b_${suffix}`, '""', `"q""q_${suffix}"`,
      `x${'a'.repeat(47)}`, `x${'a'.repeat(48)}`, `"X${'a'.repeat(47)}"`, `"X${'a'.repeat(48)}"`,
    ];
    const keyspaces = async () => new Set((await client.execute('SELECT keyspace_name FROM system_schema.keyspaces')).rows.map((r) => r.get('keyspace_name') as string));
    const differences: string[] = [];
    for (const candidate of candidates) {
      let ours: string | undefined;
      let cql = '';
      try {
        ({ name: ours, cql } = resolveKeyspace(candidate));
      } catch {
        ours = undefined;
      }
      if (ours !== undefined) await client.execute(`DROP KEYSPACE IF EXISTS ${cql}`); // a leftover of an interrupted run
      const before = await keyspaces();
      let theirs: string | undefined;
      try {
        await client.execute(`CREATE KEYSPACE ${candidate} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
        theirs = [...(await keyspaces())].filter((k) => !before.has(k)).join(',');
      } catch {
        theirs = undefined;
      }
      if (ours !== theirs) differences.push(`${candidate}: Cassandra ${theirs ?? 'refuses'}, smartmeter ${ours ?? 'refuses'}`);
      if (theirs !== undefined) {
        // smartmeter's way of writing it in CQL designates that same keyspace.
        await client.execute(`DROP KEYSPACE ${ours === undefined ? `"${theirs}"` : cql}`);
        expect((await keyspaces()).has(theirs)).toBe(false);
      }
    }
    expect(differences).toEqual([]);
  });

  it('checks the replication and makes its tables only once it holds the lock', async () => {
    const ks = keyspace();
    created.push(ks);
    // Another init holds the lock (it made the keyspace and the lock table, as init does first).
    await client.execute(`CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    await client.execute(`CREATE TABLE ${ks}.schema_lock (name text PRIMARY KEY, owner text, since timestamp)`);
    await client.execute(`INSERT INTO ${ks}.schema_lock (name, owner, since) VALUES ('init', 'other-init', toTimestamp(now())) IF NOT EXISTS USING TTL 120`);
    const run = startInit([...target, '--keyspace', ks, '--lock-wait', '60']);
    await waitFor(async () => (/waiting for another init \(other-init\)/.test(run.stderr()) ? true : undefined), 20_000, 'init to wait for the lock');
    expect(await tables(ks)).toEqual(['schema_lock']);
    // The holder ends up with another replication than this init asks for, then lets go.
    await client.execute(`ALTER KEYSPACE ${ks} WITH replication = {'class': 'NetworkTopologyStrategy', '${rig!.CASSANDRA_LOCAL_DC!}': 1}`);
    await client.execute(`DELETE FROM ${ks}.schema_lock WHERE name = 'init' IF EXISTS`);
    const result = await run.done;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`\\nsmartmeter: keyspace ${ks} exists with replication \\{'class': 'NetworkTopologyStrategy', '${rig!.CASSANDRA_LOCAL_DC!}': '1'\\}, not \\{'class': 'SimpleStrategy'.*\\n$`));
    expect(await tables(ks)).toEqual(['schema_lock']);
  });

  it.each([
    ['deleted', (ks: string) => `DELETE FROM ${ks}.schema_lock WHERE name = 'init' IF EXISTS`, /its row is gone/],
    ['taken by another writer', (ks: string) => `UPDATE ${ks}.schema_lock USING TTL 120 SET owner = 'thief' WHERE name = 'init' IF EXISTS`, /another writer took it \(thief\)/],
  ])('stops when it loses the lock mid-run (the lock row %s)', async (_, steal, reason) => {
    const ks = keyspace();
    created.push(ks);
    const scripts = mkdtempSync(join(tmpdir(), 'smartmeter-cql-'));
    const count = 120;
    writeFileSync(join(scripts, '001-many.cql'), Array.from({ length: count }, (_, i) => `CREATE TABLE IF NOT EXISTS \${KEYSPACE}.t${i} (k int PRIMARY KEY);\n`).join(''));
    // A 2 s lock, renewed every 0.5 s.
    const run = startInit([...target, '--keyspace', ks, '--scripts', scripts], { SMARTMETER_CASSANDRA_LOCK_TTL: '2' });
    await waitFor(async () => (/applying .*001-many\.cql/.test(run.stderr()) ? true : undefined), 20_000, 'init to apply its script');
    const stolen = (await client.execute(steal(ks))).first();
    expect(stolen.get('[applied]')).toBe(true);
    const result = await run.done;
    expect(result.code).toBe(1);
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('smartmeter:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^smartmeter: lost the schema lock of keyspace ${ks}: ${reason.source}.*; stopped before .*001-many\\.cql:\\d+, the script not recorded; run init again once no other init runs$`));
    expect(result.stdout).toBe('');
    expect((await client.execute(`SELECT script FROM ${ks}.schema_migrations`)).rows).toEqual([]);
    expect((await tables(ks)).length).toBeLessThan(count + 2);
    const holder = (await client.execute(`SELECT owner FROM ${ks}.schema_lock WHERE name = 'init'`)).first();
    if (holder) expect(holder.get('owner')).toBe('thief'); // not given back by the init that lost it
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
    const outcomes = results.map((r) => JSON.parse(r.out) as InitJson).sort((a, b) => a.applied.length - b.applied.length);
    // One applied the script; the other waited for the lock, then found it applied.
    expect(outcomes.map((o) => [o.applied.map((a) => a.script), o.unchanged])).toEqual([
      [[], ['001-many.cql']],
      [['001-many.cql'], []],
    ]);
    expect((await tables(ks)).length).toBe(25 + 2);
  });

  it('prints the statements with --dry-run, without connecting', async () => {
    const closed = await freePort();
    const run = runCli(['cassandra', 'init', '--dry-run', '--keyspace', 'dry', '--port', String(closed)]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^CREATE KEYSPACE IF NOT EXISTS dry WITH replication = \{'class': 'SimpleStrategy', 'replication_factor': 1\};$/m);
    expect(run.stdout).toContain('CREATE TABLE IF NOT EXISTS dry.raw_data (');
  });

  it('says in a --dry-run of cluster mode which data centre the replicas would go to, without making one up', async () => {
    const closed = await freePort();
    const dry = (extra: string[]) => runCli(['cassandra', 'init', '--dry-run', '--mode', 'cluster', '--keyspace', 'dry', '--port', String(closed), ...extra]);
    const unknown = dry([]);
    expect(unknown.status).toBe(0);
    expect(unknown.stdout).not.toMatch(/dc1/);
    expect(unknown.stdout).toMatch(/^CREATE KEYSPACE IF NOT EXISTS dry WITH replication = \{'class': 'NetworkTopologyStrategy', '<data centre of the node reached>': 3\};$/m);
    expect(unknown.stdout).toMatch(/^-- <data centre of the node reached>: known once connected; --datacenter sets it$/m);
    expect(dry(['--datacenter', 'east', '--replication-factor', '2']).stdout).toMatch(/^CREATE KEYSPACE IF NOT EXISTS dry WITH replication = \{'class': 'NetworkTopologyStrategy', 'east': 2\};$/m);
    // --local-dc is the data centre a real run would use too.
    expect(dry(['--local-dc', 'west']).stdout).toMatch(/^CREATE KEYSPACE IF NOT EXISTS dry WITH replication = \{'class': 'NetworkTopologyStrategy', 'west': 3\};$/m);
  });

  it('writes a keyspace that needs it "quoted" in --dry-run', () => {
    const run = runCli(['cassandra', 'init', '--dry-run', '--keyspace', '"Dry_Run"']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^CREATE KEYSPACE IF NOT EXISTS "Dry_Run" WITH replication/m);
    expect(run.stdout).toContain('CREATE TABLE IF NOT EXISTS "Dry_Run".raw_data (');
    expect(runCli(['cassandra', 'init', '--dry-run', '--keyspace', 'Dry_Run']).stdout).toMatch(/^CREATE KEYSPACE IF NOT EXISTS dry_run WITH replication/m);
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
    [['--mode', 'galaxy'], /--mode <mode>' argument 'galaxy' is invalid. Allowed choices are single, cluster/],
    [['--keyspace', 'bad-name'], /"bad-name" is not a valid keyspace name/],
    [['--keyspace', 'select'], /"select" is a reserved word of CQL: quote it/],
    [['--keyspace', `k${'x'.repeat(48)}`], /49 characters; Cassandra allows 48 at most/],
    [['--wait', 'soon'], /--wait: cannot read the duration "soon"/],
    [['--scripts', '/no/such/dir'], /scripts directory \/no\/such\/dir does not exist/],
    [['--tls-key', '/etc/hostname'], /--tls-cert and --tls-key go together .*: --tls-key was given without --tls-cert/],
    [['--tls-cert', '/etc/hostname'], /--tls-cert and --tls-key go together .*: --tls-cert was given without --tls-key/],
  ])('%j', (args, message) => {
    const run = runCli(['cassandra', 'init', '--dry-run', ...args]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
