/** `smartmeter cassandra init`: its definition (options, help), then the handler: connect, apply the schema scripts, print. */
import { join, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { durationHelp, jsonOption, keyspaceOption, quietOption, withCassandraOptions, withExamples, type OptionsOf } from '../cli-kit.js';
import { UsageError } from '../errors.js';
import { parseDuration, positiveInteger } from '../parsers.js';
import { PACKAGE_ROOT } from '../paths.js';
import { startSpinner } from '../spinner.js';

/** The command line of `cassandra init`: its options and help. */
function definition() {
  return withExamples(
    withCassandraOptions(new Command('init'))
      .summary('create the keyspace and tables from CQL scripts (idempotent)')
      .description(
        'Create the keyspace with the replication of the cluster mode, then apply the CQL scripts of a ' +
          'directory in name order, each once. Applied scripts are recorded with their checksum; a script ' +
          'changed since is refused unless --force. A lock keeps two inits from interleaving.',
      )
      .option('--scripts <dir>', 'directory of .cql scripts (default: the smart-meter schema, templates/cql)')
      .addOption(new Option('--mode <mode>', 'single (SimpleStrategy, RF 1) or cluster (NetworkTopologyStrategy, RF 3)').choices(['single', 'cluster'] as const).env('CLUSTER_MODE').default('single' as 'single' | 'cluster'))
      .addOption(keyspaceOption())
      .option('--replication-factor <n>', 'replicas (default 1 in single mode, 3 in cluster mode)')
      .option('--datacenter <dc>', 'data centre of the replicas in cluster mode (default: that of the node reached)')
      .option('--wait <time>', durationHelp('how long to wait for Cassandra to answer', 's'), '120')
      .option('--lock-wait <time>', durationHelp('how long to wait for another init to finish', 's'), '120')
      .option('--force', 're-apply scripts that changed since they were applied')
      .option('--dry-run', 'print the statements instead of running them (no connection)')
      .addOption(jsonOption('the result, {"keyspace", "replication", "applied": [{"script", "statements", "reapplied"}], "unchanged": [script], "durationMs"}'))
      .addOption(quietOption()),
    [
      'smartmeter cassandra init                                   # 127.0.0.1:9042, keyspace smartmeter, RF 1',
      'smartmeter cassandra init --mode cluster --contact-points cassandra-cluster-main --wait 5m',
      'smartmeter cassandra init --dry-run --keyspace test_ks',
      'smartmeter cassandra init --scripts ./my-cql --json',
    ],
  );
}

/** What `runCassandraInit` takes: the options as parsed. */
export type CassandraInitOptions = OptionsOf<typeof definition>;

/** `cassandra init`, ready to register under `cassandra`. */
export function command() {
  return definition().action(async (options) => {
    await runCassandraInit(options);
  });
}

const UNKNOWN_DATACENTER = '<data centre of the node reached>';

export async function runCassandraInit(options: CassandraInitOptions): Promise<void> {
  // Loaded here, not at start-up: other commands do not pay for them.
  const { connectionFromFlags, connectWithRetry } = await import('../cassandra/connection.js');
  const { bookkeepingStatements, initSchema, loadScripts, replicationFor, resolveKeyspace } = await import('../cassandra/migrations.js');
  if (options.mode !== 'single' && options.mode !== 'cluster') throw new UsageError(`--mode must be single or cluster, got "${options.mode}"`);
  const keyspace = resolveKeyspace(options.keyspace);
  const factor = options.replicationFactor === undefined ? undefined : positiveInteger(options.replicationFactor, '--replication-factor');
  positiveInteger(options.port, '--port'); // bad input fails before --dry-run too
  const waitMs = parseDuration(options.wait, '--wait', 's');
  const lockWaitMs = parseDuration(options.lockWait, '--lock-wait', 's');
  const ttl = process.env.SMARTMETER_CASSANDRA_LOCK_TTL;
  const lockTtlSeconds = ttl === undefined || ttl === '' ? undefined : positiveInteger(ttl, 'SMARTMETER_CASSANDRA_LOCK_TTL');
  const scriptsDir = options.scripts ? resolve(options.scripts) : join(PACKAGE_ROOT, 'templates', 'cql');
  const scripts = loadScripts(scriptsDir, keyspace.cql, options.scripts ?? 'templates/cql');
  const log = (line: string) => {
    if (!options.json && !options.quiet) process.stderr.write(`${line}\n`);
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

  const spinner = process.stderr.isTTY && !options.json && !options.quiet ? await startSpinner('connecting to Cassandra') : undefined;
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

