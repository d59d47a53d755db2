/** `smartmeter metrics check`: parse, ask Graphite and/or Prometheus, print what arrives. */
import { UsageError } from '../errors.js';
import { parseDuration } from '../parsers.js';
import { METRICS_COMMANDS, checkGraphite, checkPrometheus, expectedSeries, type MetricsCommand, type SeriesCheck } from '../metrics/check.js';

export interface MetricsCheckOptions {
  graphiteUrl?: string;
  prometheusUrl?: string;
  command: string;
  prefix: string;
  window: string;
  json?: boolean;
}

export async function runMetricsCheck(options: MetricsCheckOptions): Promise<void> {
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
