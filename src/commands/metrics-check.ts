/** `smartmeter metrics check`: its definition (options, help), then the handler: ask Graphite and/or Prometheus, print what arrives. */
import { Command } from '@commander-js/extra-typings';
import { durationHelp, jsonOption, quietOption, withExamples, type OptionsOf } from '../cli-kit.js';
import { UsageError } from '../errors.js';
import { parseDuration } from '../parsers.js';
import type { MetricsCommand, SeriesCheck } from '../metrics/check.js';

/** The command line of `metrics check`: its options and help. */
function definition() {
  return withExamples(
    new Command('check')
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
      .option('--window <time>', durationHelp('how recent a value must be'), '1m')
      .addOption(jsonOption('the checks, {"windowSeconds", "checks": [{"backend": "graphite"|"prometheus", "series", "optional", "arriving", "last"?: {"value", "ageSeconds"}}], "missing"}'))
      .addOption(quietOption()),
    [
      'smartmeter metrics check --graphite-url http://localhost:81 --command inject',
      'smartmeter metrics check --prometheus-url http://localhost:9090 --window 5m --json',
      'smartmeter metrics check --graphite-url http://localhost:81 --command inject,ingest,cassandra',
    ],
  );
}

/** What `runMetricsCheck` takes: the options as parsed. */
export type MetricsCheckOptions = OptionsOf<typeof definition>;

/** `metrics check`, ready to register under `metrics`. */
export function command() {
  return definition().action(async (options) => {
    await runMetricsCheck(options);
  });
}

export async function runMetricsCheck(options: MetricsCheckOptions): Promise<void> {
  // Loaded here, not at start-up: other commands do not pay for them.
  const { METRICS_COMMANDS, checkGraphite, checkPrometheus, expectedSeries } = await import('../metrics/check.js');
  if (!options.graphiteUrl && !options.prometheusUrl) throw new UsageError('give --graphite-url, --prometheus-url or both');
  const commands = options.command.split(',').map((c) => c.trim()).filter(Boolean);
  for (const c of commands) {
    if (!METRICS_COMMANDS.includes(c as MetricsCommand)) throw new UsageError(`--command: unknown command "${c}" (${METRICS_COMMANDS.join(', ')})`);
  }
  for (const [flag, url] of [['--graphite-url', options.graphiteUrl], ['--prometheus-url', options.prometheusUrl]] as const) {
    if (url !== undefined && !/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`${flag}: expected an http(s) URL, got "${url}"`);
  }
  const windowMs = parseDuration(options.window, '--window');
  const expected = expectedSeries(commands as MetricsCommand[]);
  const checks: SeriesCheck[] = [];
  if (options.graphiteUrl) checks.push(...(await checkGraphite(options.graphiteUrl, options.prefix, expected, windowMs)));
  if (options.prometheusUrl) checks.push(...(await checkPrometheus(options.prometheusUrl, expected, windowMs)));
  const missing = checks.filter((c) => !c.arriving && !c.optional);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ windowSeconds: windowMs / 1000, checks, missing: missing.length })}\n`);
  } else {
    const width = Math.max(...checks.map((c) => c.series.length));
    for (const c of checks) {
      const state = c.arriving ? 'ok' : c.optional ? 'absent' : 'MISSING';
      const detail = c.last ? `last ${c.last.value}, ${c.last.ageSeconds} s ago` : c.optional ? '(JetStream runs only)' : `nothing in the last ${windowMs / 1000} s`;
      process.stdout.write(`${state.padEnd(8)} ${c.backend.padEnd(10)} ${c.series.padEnd(width)}  ${detail}\n`);
    }
  }
  if (missing.length) {
    process.stderr.write(`smartmeter: ${missing.length} of ${checks.filter((c) => !c.optional).length} series are not arriving\n`);
    process.exitCode = 1;
  }
}
