/**
 * `smartmeter inject`: the command line. The run itself (src/inject/run.ts: NATS, worker threads,
 * metrics servers) is imported when the command runs, so other commands do not load it.
 */
import { Command, Option } from '@commander-js/extra-typings';
import { collect, durationHelp, jsonOption, quietOption, withExamples, type OptionsOf } from '../cli-kit.js';

/** The command's name on the command line (cli.ts builds only the named command's definition). */
export const name = 'inject';

/**
 * The command line of `inject`: its options and help. The old container variables
 * (GATLING_USERS_PER_SEC, GATLING_DURATION in minutes, TASK_SLOT, …) are read by
 * src/inject/settings.ts, where their own units and messages are, for this thread and the workers.
 */
function definition() {
  return withExamples(
    new Command(name)
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
      .option('-d, --duration <time>', durationHelp('how long to send (env GATLING_DURATION, minutes; default: until Ctrl-C)'))
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
      .option('-s, --server <url>', 'NATS server (repeatable; env NATS_URI; default nats://127.0.0.1:4222)', collect, [] as string[])
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
      .option('--connect-timeout <time>', durationHelp('give up connecting after this long'), '5s')
      .option('--jetstream [stream]', 'publish into this JetStream stream with acknowledgements (default SMARTMETER)')
      .option('--create-stream', 'create the stream (subjects <prefix>.>) if it does not exist')
      .option('--window <n>', 'JetStream: publishes awaiting acknowledgement, at most', '512')
      .option('--slack <time>', durationHelp('a send later than this after its planned time missed its slot'), '100ms')
      .option('--abort-on-miss', 'stop when sends stay later than the slack for a second')
      .option('--drain <time>', durationHelp('at the end, wait this long for confirmations and reconnection'), '30s')
      .option('--workers <n>', 'publishing threads, each with its own NATS connection and share of the meters (core NATS only; env SMARTMETER_INJECT_WORKERS; default from the cores: flat-out one per core but one, else one per 100,000 msgs/s)')
      .option('--report <file.html>', 'write a self-contained HTML report')
      .addOption(new Option('--graphite <host[:port]>', 'send live counters to Graphite (plaintext, port 2003 by default) every second').env('SMARTMETER_GRAPHITE'))
      .option('--graphite-prefix <path>', 'metric path prefix (default smartmeter.inject.slot<N>)')
      .addOption(new Option('--metrics-port <[host:]port>', 'serve Prometheus metrics on http://host:port/metrics while running (host 127.0.0.1 by default)').env('SMARTMETER_METRICS_PORT'))
      .addOption(jsonOption('the summary, {"mode", "targetRate", "achievedRate", "durationSeconds", "scheduled", "published", "confirmed", "lost", "lostReasons", "errors", "missedSlots", "maxLagMs", "rateHeld", "latencyMs"?, "reconnects", "simulatedStart", "simulatedEnd", "seed", "topology", "slot", "workers", …}'))
      .addOption(quietOption())
      .addHelpText(
        'after',
        `
Exit codes: 0 done, 1 runtime failure (connection, server), 2 bad input, 3 the target rate
could not be held (more than 1% of sends missed their slot, or under 99% of the scheduled
messages were published).`,
      ),
    [
      'smartmeter inject --rate 1000 --duration 1m                  # nats://127.0.0.1:4222',
      'smartmeter inject --rate max --count 1000000 --json',
      'smartmeter inject --rate max --count 10000000 --workers 3     # 3 threads, 3 connections',
      'smartmeter inject --stages 30s:1000,2m:20000,30s:0 --report run.html',
      'smartmeter inject --rate 5000 --duration 5m --jetstream SMARTMETER --create-stream',
      'smartmeter inject --seed 42 --sim-start 2024-01-15T00:00:00Z --count 100   # reproducible',
      'GATLING_USERS_PER_SEC=500 GATLING_DURATION=50 TASK_SLOT=1 NATS_URI=nats://nats:4222 smartmeter inject',
    ],
  );
}

/** What `runInject` takes: the options as parsed. */
export type InjectCommandOptions = OptionsOf<typeof definition>;

/** `inject`, ready to register. */
export function command() {
  return definition().action(async (options) => {
    const { runInject } = await import('../inject/run.js');
    await runInject(options);
  });
}
