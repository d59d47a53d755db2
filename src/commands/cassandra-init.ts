/** `smartmeter cassandra init`: parse, connect, apply the schema scripts, print. */
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { positiveInteger } from '../parsers.js';
import { PACKAGE_ROOT } from '../paths.js';
import { connectionFromFlags, connectWithRetry, type CassandraConnectionFlags } from '../cassandra/connection.js';
import { bookkeepingStatements, initSchema, loadScripts, replicationFor, resolveKeyspace } from '../cassandra/migrations.js';

export interface CassandraInitOptions extends CassandraConnectionFlags {
  scripts?: string;
  mode: string;
  keyspace: string;
  replicationFactor?: string;
  datacenter?: string;
  wait: string;
  lockWait: string;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

const UNKNOWN_DATACENTER = '<data centre of the node reached>';

export async function runCassandraInit(options: CassandraInitOptions): Promise<void> {
  if (options.mode !== 'single' && options.mode !== 'cluster') throw new UsageError(`--mode must be single or cluster, got "${options.mode}"`);
  const keyspace = resolveKeyspace(options.keyspace);
  const factor = options.replicationFactor === undefined ? undefined : positiveInteger(options.replicationFactor, '--replication-factor');
  positiveInteger(options.port, '--port'); // bad input fails before --dry-run too
  const waitMs = positiveInteger(options.wait, '--wait') * 1000;
  const lockWaitMs = positiveInteger(options.lockWait, '--lock-wait') * 1000;
  const ttl = process.env.SMARTMETER_CASSANDRA_LOCK_TTL;
  const lockTtlSeconds = ttl === undefined || ttl === '' ? undefined : positiveInteger(ttl, 'SMARTMETER_CASSANDRA_LOCK_TTL');
  const scriptsDir = options.scripts ? resolve(options.scripts) : join(PACKAGE_ROOT, 'templates', 'cql');
  const scripts = loadScripts(scriptsDir, keyspace.cql, options.scripts ?? 'templates/cql');
  const log = (line: string) => {
    if (!options.json) process.stderr.write(`${line}\n`);
  };
  // Checked before the dry run too: bad connection flags are bad input either way.
  const connection = connectionFromFlags(options);

  if (options.dryRun) {
    // Without a connection the data centre of the node a real run reaches is unknown: say so.
    const datacenter = options.datacenter ?? options.localDc ?? (options.mode === 'cluster' ? UNKNOWN_DATACENTER : undefined);
    const replication = replicationFor({ mode: options.mode, factor, datacenter });
    const lines = [
      ...(datacenter === UNKNOWN_DATACENTER ? [`-- ${UNKNOWN_DATACENTER}: known once connected; --datacenter sets it`] : []),
      ...bookkeepingStatements(keyspace.cql, replication).map((s) => `${s};`),
      ...scripts.flatMap((script) => [`-- ${script.file}`, ...script.statements.map((s) => `${s.text};`)]),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }

  const spinner = process.stderr.isTTY && !options.json ? (await import('ora')).default({ text: 'connecting to Cassandra', stream: process.stderr }).start() : undefined;
  let client;
  try {
    client = await connectWithRetry(connection, waitMs, (attempt, reason) => {
      if (spinner) spinner.text = `waiting for Cassandra (attempt ${attempt}: ${reason})`;
    });
  } finally {
    spinner?.stop();
  }
  try {
    // In cluster mode the replica count is given for the data centre of the node we reached, unless told.
    const datacenter = options.datacenter ?? options.localDc ?? (options.mode === 'cluster' ? await localDatacenter(client) : undefined);
    const result = await initSchema(client, scripts, {
      keyspace,
      replication: replicationFor({ mode: options.mode, factor, datacenter }),
      force: options.force === true,
      lockWaitMs,
      lockTtlSeconds,
      log,
    });
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const applied = result.applied.map((a) => `${a.script}${a.reapplied ? ' (again, --force)' : ''}`);
      process.stdout.write(
        `keyspace ${result.keyspace}: ${applied.length ? `applied ${applied.join(', ')}` : 'nothing to apply'}` +
          `${result.unchanged.length ? `; unchanged: ${result.unchanged.join(', ')}` : ''} (${(result.durationMs / 1000).toFixed(1)} s)\n`,
      );
    }
  } finally {
    await client.shutdown();
  }
}

async function localDatacenter(client: { execute: (q: string) => Promise<{ first: () => { get: (c: string) => unknown } }> }): Promise<string> {
  return String((await client.execute('SELECT data_center FROM system.local')).first().get('data_center'));
}

