/**
 * Wires the commands. Each command's module is loaded only when that command runs, so
 * `smartmeter combine` does not pay for the NATS or Cassandra clients.
 * Errors are caught here, once: one line on stderr, exit 2 for bad input, 1 for failures,
 * and a stack trace only with --debug.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { exitCodeOf, UsageError } from './errors.js';
import { PACKAGE_ROOT } from './paths.js';
import { maskUrlPasswords, SECRET_FLAGS, secretFlagWarning } from './secrets.js';
import { stacksCommand } from './commands/stacks.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const collect = (value: string, previous: string[]) => [...previous, value];
/** A repeatable option whose values may also be comma-separated: `--without a,b --without c`. */
const collectList = (value: string, previous: string[]) => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];

export function buildProgram(): Command {
  const program = new Command('smartmeter')
    .description('Deploy and drive the smart-meter data platform (NATS, Cassandra, Spark, metrics).')
    .version(version(), '-V, --version')
    .option('--debug', 'print stack traces and internal details on errors')
    .option('--no-color', 'no colours in messages (also NO_COLOR=1 or TERM=dumb)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`smartmeter: ${maskUrlPasswords(text.replace(/^error: /, ''))}`) })
    // A credential typed as a flag is in every user's `ps`: said once, before the command runs.
    .hook('preAction', (_program, command) => {
      for (const flag of SECRET_FLAGS) {
        if (command.getOptionValueSource(flag) !== 'cli') continue;
        const safer = flag === 'token' ? '--token-file' : command.name() === 'cassandra' || command.parent?.name() === 'cassandra' ? '--password-file or CASSANDRA_PASSWORD_FILE' : '--password-file or NATS_PASSWORD_FILE';
        process.stderr.write(`smartmeter: ${secretFlagWarning(flag, safer)}\n`);
      }
    });

  program
    .command('combine')
    .summary('print the docker-compose file for a set of targets')
    .description(
      'Expand targets through the services hierarchy, layer the properties files, fill the ' +
        'fragments\' ((key)) and ${VAR} placeholders and merge them into one docker-compose file ' +
        'that both `docker compose` and `docker stack deploy` accept.',
    )
    .argument('[location]', 'local or remote (remote adds Swarm placement constraints)')
    .argument('[cluster-mode]', 'single or cluster')
    .argument('[secret-mode]', 'secrets (credentials from compose secrets) or no_secrets (from the environment)')
    .argument('[targets...]', 'targets of the hierarchy (see --list-targets)')
    .option('-p, --properties <dir>', 'directory of property files overriding the defaults')
    .option('-o, --output <file>', 'write to this file (atomically) instead of stdout')
    .option('--set <key=value>', 'set a property, over every file and the environment (repeatable)', collect, [])
    .option('--explain', 'print on stderr where every value used came from (file:line)')
    .option('--json', 'print the merged document as JSON')
    .addOption(new Option('--format <format>', 'output format').choices(['compose', 'helm']).default('compose'))
    .option('--allow-missing', 'leave unresolved placeholders in the output instead of failing')
    .option('--list-targets', 'list the targets and what they expand to, then exit')
    .option('--templates <dir>', 'use another compose templates directory (hierarchy.yml, fragments/, properties/)')
    .option('--config-dir <dir>', 'also write the stack\'s configuration files (Grafana provisioning and dashboards) there; the stack mounts them from SMARTMETER_CONFIG_DIR (default ./config)')
    .option('-q, --quiet', 'no notices on stderr (such as the properties taken from the environment); warnings and errors still')
    .option('-e', 'accepted for old scripts (`combine_services -e …`); properties are always applied')
    .addHelpText(
      'after',
      `
Examples:
  $ smartmeter combine local single secrets root_metrics inject streaming_metrics prediction_metrics > docker-compose-merge.yml
  $ smartmeter combine -p alt_properties local cluster no_secrets inject cassandra_inject -o stack.yml
  $ smartmeter combine -p alt_properties -e local single secrets root inject          # old spelling
  $ smartmeter combine local single no_secrets inject --set GATLING_USERS_PER_SEC=2000 --explain
  $ smartmeter combine --list-targets`,
    )
    .action(async (location, clusterMode, secretMode, targets, options) => {
      const { runCombine } = await import('./commands/combine.js');
      await runCombine({ location, clusterMode, secretMode, targets, ...options });
    });

  const stackOptions = (command: Command) =>
    command
      .option('--name <name>', 'stack, project or release name', 'smartmeter')
      .option('--state-dir <dir>', 'where up records its stacks (env SMARTMETER_STATE_DIR; default $XDG_STATE_HOME/smartmeter, else ~/.local/state/smartmeter)', process.env.SMARTMETER_STATE_DIR);
  /** down, status, logs: which stack called --name, when several runtimes or namespaces have one. */
  const whichStack = (command: Command) =>
    command
      .option('--runtime <runtime>', 'the runtime of the stack (when stacks of several runtimes have the name)')
      .option('--namespace <ns>', 'helm: the namespace of the release (when several have the name)');

  stackOptions(
    program
      .command('up')
      .summary('combine and deploy a stack on Compose, Swarm or Kubernetes (Helm), then wait until it is healthy')
      .description(
        'Combine the targets (as `combine` does) and deploy the result: `docker ' +
          'compose up` (or docker-compose v1), `docker stack deploy` on a Swarm ' +
          'manager, or `helm upgrade --install` of the project\'s chart with values from ' +
          'the same targets. Creates the external network the stack expects and binds ' +
          'the secret files (secrets mode), then waits until every service is healthy ' +
          '(or running without a health check, or done), printing each service\'s ' +
          'changes. On failure it names the service, prints its last log lines (and, ' +
          'on Kubernetes, its events) and removes a stack it created, unless ' +
          '--keep-on-failure; a stack that ran before is left as it is (Helm: rolled ' +
          'back to its previous revision).',
      )
      .argument('[location]', 'local or remote')
      .argument('[cluster-mode]', 'single or cluster')
      .argument('[secret-mode]', 'secrets or no_secrets')
      .argument('[targets...]', 'targets of the hierarchy (see combine --list-targets)'),
  )
    .addOption(new Option('--runtime <runtime>', 'where to deploy').choices(['compose', 'swarm', 'helm']).default('compose'))
    .option('-p, --properties <dir>', 'directory of property files overriding the defaults')
    .option('--set <key=value>', 'set a property (repeatable)', collect, [])
    .option('--secrets-dir <dir>', 'directory of the secret files (secrets mode)', 'devsecrets')
    .option('--timeout <time>', 'how long to wait for the services to be healthy', '5m')
    .option('--keep-on-failure', 'leave a failed deployment in place to look at it')
    .option('--publish-mode <mode>', 'swarm: ports and service names through the routing mesh (ingress), or on the task\'s node with DNS round robin (host: for hosts without IPVS)', 'ingress')
    .option('--namespace <ns>', 'helm: Kubernetes namespace (created when missing; down --volumes removes it then)', 'smartmeter')
    .option('-f, --values <file>', 'helm: a values file layered over the generated values (repeatable; later wins), as helm -f', collect, [])
    .option('--without <services>', 'leave these services of the stack out (comma-separated, repeatable), e.g. one whose image this cluster lacks', collectList, [])
    .option('--dry-run', 'print the generated file and the commands instead of running them')
    .option('--json', 'print the final state of the services as JSON')
    .option('-q, --quiet', 'no notices on stderr (such as the properties taken from the environment)')
    .addHelpText(
      'after',
      `
Examples:
  $ smartmeter up local single no_secrets cassandra_inject inject
  $ smartmeter up local single secrets root_metrics inject cassandra_inject --secrets-dir ./devsecrets --timeout 10m
  $ smartmeter up local single secrets inject cassandra_inject --runtime swarm --publish-mode host
  $ smartmeter up local cluster secrets inject cassandra_inject --runtime helm --namespace meters
  $ smartmeter up local single no_secrets root_metrics inject cassandra_inject --runtime helm --without grafana
  $ smartmeter up local single no_secrets inject --dry-run`,
    )
    .action(async (location, clusterMode, secretMode, targets, options) => {
      const { runUp } = await import('./commands/up.js');
      await runUp({ location, clusterMode, secretMode, targets, ...options });
    });

  whichStack(stackOptions(program.command('down').summary('remove a stack that up brought up')))
    .option('-v, --volumes', 'also remove its volumes (the data of NATS, Cassandra, Graphite…)')
    .addHelpText('after', '\nExamples:\n  $ smartmeter down\n  $ smartmeter down --name test --volumes')
    .action(async (options) => {
      const { runDown } = await import('./commands/down.js');
      await runDown(options);
    });

  whichStack(stackOptions(program.command('status').summary("each service of a stack and its state (exit 1 unless all are ready)")))
    .option('--json', 'print the states as JSON')
    .addHelpText('after', '\nExamples:\n  $ smartmeter status\n  $ smartmeter status --name test --json')
    .action(async (options) => {
      const { runStatus } = await import('./commands/status.js');
      await runStatus(options);
    });

  whichStack(stackOptions(program.command('logs').summary("a service's log, followed").argument('<service>', 'service name, as in the compose file')))
    .option('--no-follow', 'print and exit')
    .option('--tail <lines>', 'lines of history to start with', '100')
    .addHelpText('after', '\nExamples:\n  $ smartmeter logs cassandra_inject\n  $ smartmeter logs nats --no-follow --tail 20')
    .action(async (service, options) => {
      const { runLogs } = await import('./commands/logs.js');
      await runLogs(service, options);
    });

  program.addCommand(stacksCommand());

  const cassandra = program.command('cassandra').summary('work with the Cassandra of the stack');
  const cassandraCommand = (name: string) =>
    cassandra
      .command(name)
      .option('--contact-points <hosts>', 'comma-separated host[:port] (env CASSANDRA_URL)', process.env.CASSANDRA_URL ?? '127.0.0.1')
      .option('--port <port>', 'CQL port', '9042')
      .option('--local-dc <dc>', 'local data centre of the driver (default: any node)')
      .option('--username <user>', 'user name (env CASSANDRA_USERNAME)', process.env.CASSANDRA_USERNAME)
      .option('--password <password>', 'password (env CASSANDRA_PASSWORD); other users of the host can read it in the process list: prefer --password-file or env CASSANDRA_PASSWORD_FILE')
      .option('--password-file <file>', 'file holding the password (env CASSANDRA_PASSWORD_FILE)')
      .option('--tls', 'connect with TLS')
      .option('--tls-ca <file>', 'CA certificate (PEM) to trust')
      .option('--tls-cert <file>', 'client certificate (PEM; with --tls-key)')
      .option('--tls-key <file>', 'client key (PEM; with --tls-cert)')
      .option('--tls-insecure', 'do not verify the server certificate');
  cassandraCommand('init')
    .summary('create the keyspace and tables from CQL scripts (idempotent)')
    .description(
      'Create the keyspace with the replication of the cluster mode, then apply the CQL scripts of a ' +
        'directory in name order, each once. Applied scripts are recorded with their checksum; a script ' +
        'changed since is refused unless --force. A lock keeps two inits from interleaving.',
    )
    .option('--scripts <dir>', 'directory of .cql scripts (default: the smart-meter schema, templates/cql)')
    .option('--mode <mode>', 'single (SimpleStrategy, RF 1) or cluster (NetworkTopologyStrategy, RF 3)', process.env.CLUSTER_MODE ?? 'single')
    .option('--keyspace <name>', 'keyspace name: unquoted it is folded to lower case, "quoted" kept as written (env CASSANDRA_KEYSPACE)', process.env.CASSANDRA_KEYSPACE ?? 'smartmeter')
    .option('--replication-factor <n>', 'replicas (default 1 in single mode, 3 in cluster mode)')
    .option('--datacenter <dc>', 'data centre of the replicas in cluster mode (default: that of the node reached)')
    .option('--wait <seconds>', 'how long to wait for Cassandra to answer', '120')
    .option('--lock-wait <seconds>', 'how long to wait for another init to finish', '120')
    .option('--force', 're-apply scripts that changed since they were applied')
    .option('--dry-run', 'print the statements instead of running them (no connection)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ smartmeter cassandra init                                   # 127.0.0.1:9042, keyspace smartmeter, RF 1
  $ smartmeter cassandra init --mode cluster --contact-points cassandra-cluster-main --wait 300
  $ smartmeter cassandra init --dry-run --keyspace test_ks
  $ smartmeter cassandra init --scripts ./my-cql --json`,
    )
    .action(async (options) => {
      const { runCassandraInit } = await import('./commands/cassandra-init.js');
      await runCassandraInit(options);
    });

  cassandraCommand('stats')
    .summary('rows, writes, reads, write latency and disk use of each table, through CQL')
    .description(
      'Read per-table figures of the keyspace: rows (from the table\'s counter table when it has one, as ' +
        'raw_data has raw_data_count, else a count(*) bounded by --scan-timeout), and the writes, reads, ' +
        'write latency and disk use that Cassandra\'s virtual tables give, summed over every node. ' +
        'Once, or with --graphite/--metrics-port every --interval until Ctrl-C (the stack\'s cassandra_stats).',
    )
    .option('--keyspace <name>', 'keyspace: unquoted it is folded to lower case, "quoted" kept as written, as cassandra init does (env CASSANDRA_KEYSPACE)', process.env.CASSANDRA_KEYSPACE ?? 'smartmeter')
    .option('--interval <time>', 'with --graphite or --metrics-port: read the figures this often', '10s')
    .option('--scan-timeout <time>', 'longest count(*) of a table without a counter table', '10s')
    .option('--wait <seconds>', 'how long to wait for Cassandra to answer', '120')
    .option('--graphite <host[:port]>', 'send the figures to Graphite as <prefix>.<keyspace>.<table>.<name>')
    .option('--graphite-prefix <path>', 'metric path prefix', 'smartmeter.cassandra')
    .option('--metrics-port <[host:]port>', 'serve them as Prometheus metrics on http://host:port/metrics (host 127.0.0.1 by default)')
    .option('--json', 'print the figures as JSON (once)')
    .addHelpText(
      'after',
      `
Examples:
  $ smartmeter cassandra stats                                  # a table of figures, once
  $ smartmeter cassandra stats --json --keyspace test_ks
  $ smartmeter cassandra stats --graphite graphite:2003 --metrics-port 0.0.0.0:9465 --interval 10s`,
    )
    .action(async (options) => {
      const { runCassandraStats } = await import('./commands/cassandra-stats.js');
      await runCassandraStats(options);
    });

  program
    .command('ingest')
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
    .option('-s, --server <url>', 'NATS server (repeatable; env NATS_URI)', collect, [])
    .option('--user <user>', 'NATS user (env NATS_USERNAME, NATS_USERNAME_FILE)')
    .option('--password <password>', 'NATS password; other users of the host can read it in the process list: prefer --password-file or env NATS_PASSWORD_FILE')
    .option('--password-file <file>', 'file holding the NATS password')
    .option('--creds <file>', 'NATS credentials file (JWT + nkey)')
    .option('--tls-ca <file>', 'CA certificate to trust for NATS TLS')
    .option('--tls-cert <file>', 'client certificate for NATS TLS (with --tls-key)')
    .option('--tls-key <file>', 'client key for NATS TLS (with --tls-cert)')
    .option('--subject <subject>', 'subject to read (env NATS_SUBJECT; default <prefix>.voltage.data.>)', process.env.NATS_SUBJECT)
    .option('--subject-prefix <prefix>', 'subject prefix (env GATLING_TO_NATS_SUBJECT)', process.env.GATLING_TO_NATS_SUBJECT ?? 'smartmeter.raw')
    .option('--queue <group>', 'queue group of core mode', 'cassandra_inject')
    .option('--jetstream [stream]', 'read through a durable JetStream consumer of this stream (default SMARTMETER)')
    .option('--create-stream', 'with --jetstream: create the stream (subjects <subject-prefix>.>) if it does not exist, as inject --create-stream does')
    .option('--durable <name>', 'durable consumer of JetStream mode, shared by instances: created when missing, else used as it is', 'ingest')
    .option('--contact-points <hosts>', 'Cassandra host[:port],… (env CASSANDRA_URL)', process.env.CASSANDRA_URL ?? '127.0.0.1')
    .option('--port <port>', 'CQL port', '9042')
    .option('--local-dc <dc>', 'local data centre of the Cassandra driver')
    .option('--keyspace <name>', 'keyspace: unquoted it is folded to lower case, "quoted" kept as written, as cassandra init does (env CASSANDRA_KEYSPACE)', process.env.CASSANDRA_KEYSPACE ?? 'smartmeter')
    .option('--consistency <level>', 'write consistency (env CASSANDRA_INJECT_CONSISTENCY)', process.env.CASSANDRA_INJECT_CONSISTENCY || 'ONE')
    .option('--timeout-ms <ms>', 'per-write timeout (env CASSANDRA_TIMEOUT)', process.env.CASSANDRA_TIMEOUT || undefined)
    .option('--concurrency <n>', 'rows being written at most', '512')
    .option('--batch-size <rows>', 'rows per unlogged batch at most, grouped by replica set (1: one INSERT per row)', '10')
    .option('--retries <n>', 'core mode: tries again before a reading is lost', '5')
    .option('--count <n>', 'stop after this many readings')
    .option('--duration <time>', 'stop after this long (10s, 5m, 1h)')
    .option('--wait <seconds>', 'how long to wait at start for NATS (a refused connection), Cassandra and its tables; and, once running, for a lost NATS connection to come back before exiting 1', '120')
    .option('--graphite <host[:port]>', 'send live counters to Graphite (plaintext, port 2003 by default) every second (env SMARTMETER_GRAPHITE)')
    .option('--graphite-prefix <path>', 'metric path prefix (default smartmeter.ingest.slot<TASK_SLOT or 1>)')
    .option('--metrics-port <[host:]port>', 'serve Prometheus metrics on http://host:port/metrics while running (host 127.0.0.1 by default; env SMARTMETER_METRICS_PORT)', process.env.SMARTMETER_METRICS_PORT)
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Cassandra credentials come from CASSANDRA_USERNAME and CASSANDRA_PASSWORD_FILE (or CASSANDRA_PASSWORD).
The per-line counts of raw_data_count are at-least-once: a reading redelivered after a crash is
counted again, and counts not yet flushed (once a second) are lost with the process; raw_data
itself is exact (a redelivered reading rewrites the same row).

Examples:
  $ smartmeter ingest                                           # nats://127.0.0.1:4222 → 127.0.0.1:9042
  $ smartmeter ingest --jetstream SMARTMETER --contact-points cassandra-cluster-main
  $ NATS_URI=nats://nats:4222 CASSANDRA_URL=cassandra-cluster-main smartmeter ingest   # the old bridge's variables
  $ smartmeter ingest --count 10000 --json`,
    )
    .action(async (options) => {
      const { runIngest } = await import('./commands/ingest.js');
      await runIngest(options);
    });

  program
    .command('inject')
    .summary('publish realistic smart-meter readings into NATS at a precise rate')
    .description(
      'Generate the smart-meter readings of the old Gatling injector (per cycle: a temperature, a ' +
        'forecast, then a voltage reading for every usage point) on an accelerated clock (15 simulated ' +
        'minutes per second) and publish them in the old binary layout. Messages are scheduled on a clock ' +
        '(open model): a slow server makes sends late, and late sends are counted, not hidden. ' +
        'Flags win over the old container variables (GATLING_USERS_PER_SEC, GATLING_DURATION, TASK_SLOT, ' +
        'RANDOMNESS, PREDICTION_LENGTH, TIME_ROOT, GATLING_TO_NATS_SUBJECT, NATS_URI, NATS_USERNAME[_FILE], ' +
        'NATS_PASSWORD[_FILE]); STREAMING_DURATION is accepted and unused, as it was.',
    )
    .option('-r, --rate <msgs/s|max>', 'messages per second, or max for flat-out (env GATLING_USERS_PER_SEC; default 500)')
    .option('-d, --duration <time>', 'how long to send: 10s, 5m, 1h (env GATLING_DURATION, minutes; default: until Ctrl-C)')
    .option('-n, --count <n>', 'stop after this many messages')
    .option('--stages <list>', 'ramp the rate: <time>:<rate>,… linear between stages, from --rate or 0 (e.g. 30s:1000,2m:20000,30s:0)')
    .option('--meters <LxTxP>', 'lines x transformers x usage points (default: derived from the rate, as the old injector did)')
    .option('--slot <n>', 'injector slot 0–11: lines are numbered from 10×slot+1 (env TASK_SLOT; default 1)')
    .option('--seed <n>', 'seed of the random values: same seed and --sim-start, same messages in the same order')
    .option('--subject-prefix <prefix>', 'subject prefix (env GATLING_TO_NATS_SUBJECT; default smartmeter.raw)')
    .option('--randomness <x>', 'amplitude of the voltage noise (env RANDOMNESS; default 0.2)')
    .option('--prediction-length <n>', 'cycles a temperature waits before it is sent (env PREDICTION_LENGTH; default 12)')
    .option('--time-root <epoch>', 'anchor of the accelerated clock shared by injectors (env TIME_ROOT)')
    .option('--sim-start <date>', 'simulated date of the first message (ISO 8601 or epoch seconds; overrides TIME_ROOT)')
    .option('-s, --server <url>', 'NATS server (repeatable; env NATS_URI; default nats://127.0.0.1:4222)', collect, [])
    .option('--user <user>', 'NATS user (env NATS_USERNAME, NATS_USERNAME_FILE)')
    .option('--password <password>', 'NATS password; other users of the host can read it in the process list: prefer --password-file or env NATS_PASSWORD_FILE')
    .option('--password-file <file>', 'file holding the NATS password')
    .option('--token <token>', 'NATS authentication token; other users of the host can read it in the process list: prefer --token-file')
    .option('--token-file <file>', 'file holding the NATS authentication token')
    .option('--creds <file>', 'NATS credentials file (JWT + NKey)')
    .option('--nkey <file>', 'file holding an NKey seed')
    .option('--tls-ca <file>', 'CA certificate to trust for NATS TLS')
    .option('--tls-cert <file>', 'client certificate for NATS TLS (with --tls-key)')
    .option('--tls-key <file>', 'client key for NATS TLS (with --tls-cert)')
    .option('--connect-timeout <time>', 'give up connecting after this long', '5s')
    .option('--jetstream [stream]', 'publish into this JetStream stream with acknowledgements (default SMARTMETER)')
    .option('--create-stream', 'create the stream (subjects <prefix>.>) if it does not exist')
    .option('--window <n>', 'JetStream: publishes awaiting acknowledgement, at most', '512')
    .option('--slack <time>', 'a send later than this after its planned time missed its slot', '100ms')
    .option('--abort-on-miss', 'stop when sends stay later than the slack for a second')
    .option('--drain <time>', 'at the end, wait this long for confirmations and reconnection', '30s')
    .option('--workers <n>', 'publishing threads, each with its own NATS connection and share of the meters (core NATS only; env SMARTMETER_INJECT_WORKERS; default from the cores: flat-out one per core but one, else one per 100,000 msgs/s)')
    .option('--report <file.html>', 'write a self-contained HTML report')
    .option('--graphite <host[:port]>', 'send live counters to Graphite (plaintext, port 2003 by default) every second (env SMARTMETER_GRAPHITE)')
    .option('--graphite-prefix <path>', 'metric path prefix (default smartmeter.inject.slot<N>)')
    .option('--metrics-port <[host:]port>', 'serve Prometheus metrics on http://host:port/metrics while running (host 127.0.0.1 by default; env SMARTMETER_METRICS_PORT)', process.env.SMARTMETER_METRICS_PORT)
    .option('--json', 'print the summary as one JSON object')
    .addHelpText(
      'after',
      `
Exit codes: 0 done, 1 runtime failure (connection, server), 2 bad input, 3 the target rate
could not be held (more than 1% of sends missed their slot, or under 99% of the scheduled
messages were published).

Examples:
  $ smartmeter inject --rate 1000 --duration 1m                  # nats://127.0.0.1:4222
  $ smartmeter inject --rate max --count 1000000 --json
  $ smartmeter inject --rate max --count 10000000 --workers 3     # 3 threads, 3 connections
  $ smartmeter inject --stages 30s:1000,2m:20000,30s:0 --report run.html
  $ smartmeter inject --rate 5000 --duration 5m --jetstream SMARTMETER --create-stream
  $ smartmeter inject --seed 42 --sim-start 2024-01-15T00:00:00Z --count 100   # reproducible
  $ GATLING_USERS_PER_SEC=500 GATLING_DURATION=50 TASK_SLOT=1 NATS_URI=nats://nats:4222 smartmeter inject`,
    )
    .action(async (options) => {
      const { runInject } = await import('./commands/inject.js');
      await runInject(options);
    });

  const metrics = program.command('metrics').summary("check smartmeter's own metrics in Graphite or Prometheus");
  metrics
    .command('check')
    .summary('is each series inject, ingest and cassandra stats emit arriving?')
    .description(
      'Asks Graphite (render API) and/or Prometheus (HTTP API) whether every series that inject, ' +
        'ingest and cassandra stats emit has a value in the last --window: the quick answer to "is ' +
        'the dashboard empty because nothing flows?". Exit 1 when a series is missing (JetStream-only ones are optional).',
    )
    .option('--graphite-url <url>', 'graphite-web, e.g. http://graphite:80 (render API)')
    .option('--prometheus-url <url>', 'Prometheus, e.g. http://prometheus:9090')
    .option('--command <list>', 'whose series, comma-separated: inject, ingest, cassandra (cassandra stats)', 'inject,ingest')
    .option('--prefix <path>', 'Graphite path prefix (series are <prefix>.<command>.<slot>.<name>, cassandra: <prefix>.cassandra.<keyspace>.<table>.<name>)', 'smartmeter')
    .option('--window <time>', 'how recent a value must be', '1m')
    .option('--json', 'print the checks as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ smartmeter metrics check --graphite-url http://localhost:81 --command inject
  $ smartmeter metrics check --prometheus-url http://localhost:9090 --window 5m --json
  $ smartmeter metrics check --graphite-url http://localhost:81 --command inject,ingest,cassandra`,
    )
    .action(async (options) => {
      const { runMetricsCheck } = await import('./commands/metrics-check.js');
      await runMetricsCheck(options);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  if (argv.includes('--no-color') || process.env.NO_COLOR || process.env.TERM === 'dumb') {
    process.env.FORCE_COLOR = '0';
  }
  try {
    await program.parseAsync(argv);
    // A command that finished its work can still report an outcome (inject: rate not held → 3).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help / version text).
      return error.exitCode === 0 ? 0 : 2;
    }
    // No error line may carry a URL's password (a server address in a connection error, …).
    const message = maskUrlPasswords(error instanceof Error ? error.message : String(error));
    const known = error instanceof UsageError || exitCodeOf(error) !== 1 || (error instanceof Error && error.name === 'RuntimeError');
    process.stderr.write(`smartmeter: ${known ? message : `internal error: ${message}`}\n`);
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${maskUrlPasswords(error.stack)}\n`);
    else if (!known) process.stderr.write('run again with --debug for the stack trace\n');
    return exitCodeOf(error);
  }
}
